"""`{name}` / `{result.field}` templates in flow texts, URLs and webhook bodies."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

VAR = re.compile(r"\{([A-Za-z_]\w*(?:\.\w+)*)\}")

# Variables every flow can use without defining them (bound per call by the session).
BUILTIN_VARIABLES = ("caller_number", "crm_url", "record_audio", "callback_time", "language", "slots")


def variables_in(text: str) -> list[str]:
    return VAR.findall(text)


def lookup(context: Mapping[str, Any], path: str) -> Any:
    value: Any = context
    for part in path.split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def render(text: str, context: Mapping[str, Any]) -> str:
    """Fill a template. A value missing at run time (a field the CRM did not send) renders empty."""

    def one(match: re.Match[str]) -> str:
        value = lookup(context, match.group(1))
        return "" if value is None else str(value)

    return VAR.sub(one, text)


def render_json(value: Any, context: Mapping[str, Any]) -> Any:
    """Render every string inside a JSON-like body; a string that is exactly one `{var}` keeps its type."""
    if isinstance(value, str):
        whole = VAR.fullmatch(value)
        return lookup(context, whole.group(1)) if whole else render(value, context)
    if isinstance(value, dict):
        return {k: render_json(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [render_json(v, context) for v in value]
    return value
