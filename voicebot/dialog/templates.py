"""`{name}` / `{result.field}` / `{result.field|date}` templates in flow texts, URLs and webhook bodies."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

VAR = re.compile(r"\{([A-Za-z_]\w*(?:\.\w+)*)(?:\|(\w+))?\}")
# Filters format a value for speech in the flow's language (see core.FlowMachine.filters).
FILTERS = ("date", "time", "digits")
Filters = Mapping[str, Callable[[Any], str]]

# Variables every flow can use without defining them (bound per call by the session).
BUILTIN_VARIABLES = ("caller_number", "crm_url", "record_audio", "callback_time", "language", "slots",
                     "callback_number", "callback_topic", "callback_option_1", "callback_option_2", "callback_option_3")
# The returning caller's profile (voicebot/store/callers.py), bound at the start of a call when one exists.
PROFILE_VARIABLE = "caller"
# The CRM's answer to the profile lookup, for the flow's `profile.name` template.
LOOKUP_VARIABLE = "customer"


def variables_in(text: str) -> list[str]:
    return [m.group(1) for m in VAR.finditer(text)]


def filters_in(text: str) -> list[str]:
    return [m.group(2) for m in VAR.finditer(text) if m.group(2)]


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


def render(text: str, context: Mapping[str, Any], filters: Filters | None = None) -> str:
    """Fill a template. A value missing at run time (a field the CRM did not send) renders empty; a value
    a filter cannot format (a CRM date that is not ISO) is said as it is."""

    def one(match: re.Match[str]) -> str:
        value = lookup(context, match.group(1))
        if value is None:
            return ""
        name = match.group(2)
        if name and filters and name in filters:
            try:
                return filters[name](value)
            except (ValueError, TypeError):
                return str(value)
        return str(value)

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
