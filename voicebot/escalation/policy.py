"""The escalation policy of one flow: process settings (settings.escalation) + the flow's own overrides.

A flow may carry `settings: {escalation: {...}}` in its YAML; the dialog engine exposes it as
`flow.settings.escalation` (a dict or an object) or, for a plain dict flow, `flow["settings"]["escalation"]`.
Overrides use the same keys as `[escalation]` in config.toml; dict-valued keys (signal_weights,
transfer_intents) are merged key by key so a flow can change one weight without restating the others.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from voicebot.config import ConfigError, EscalationSettings
from voicebot.escalation.lexicon import Lexicon, load_lexicons


class EscalationConfigError(ConfigError):
    """A flow's escalation overrides are invalid; the message names the flow and the key."""


def _get(obj: Any, name: str) -> Any:
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def flow_overrides(flow: Any) -> dict[str, Any]:
    """The flow's `settings.escalation` as a plain dict ({} when the flow has none)."""
    esc = _get(_get(flow, "settings"), "escalation")
    if esc is None:
        return {}
    if hasattr(esc, "model_dump"):
        esc = esc.model_dump(exclude_unset=True)
    if not isinstance(esc, Mapping):
        raise EscalationConfigError(f"flow {flow_name(flow)}: settings.escalation must be a mapping, got {esc!r}")
    return dict(esc)


def flow_name(flow: Any) -> str:
    for attr in ("id", "flow_id", "name"):
        if isinstance(value := _get(flow, attr), str):
            return value
    return "?"


def resolve_policy(base: EscalationSettings, flow: Any = None) -> EscalationSettings:
    overrides = flow_overrides(flow)
    if not overrides:
        return base
    if "lines" in overrides:  # where people answer is the deployment's, not a dialog's
        raise EscalationConfigError(f"flow {flow_name(flow)}: settings.escalation.lines: human lines are set for "
                                    "the whole process ([escalation.lines.<skill>] in config.toml); a flow may "
                                    "change `skills` only")
    merged = base.model_dump()
    for key, value in overrides.items():
        current = merged.get(key)
        merged[key] = {**current, **value} if isinstance(current, dict) and isinstance(value, Mapping) else value
    try:
        return EscalationSettings.model_validate(merged)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise EscalationConfigError(f"flow {flow_name(flow)}: settings.escalation: {problems}") from exc


def lexicons_for(directory: Path) -> dict[str, Lexicon]:
    """The lexicons in `directory`, parsed once per process and re-read only when a file changes.

    Every call builds a tracker, so reading YAML per call would put disk I/O on the call path; the cache
    holds immutable data keyed by the files' modification times, so an admin's edit is picked up.
    """
    stamp = tuple(sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in directory.glob("*.yaml"))) \
        if directory.is_dir() else ()
    return dict(_load_cached(str(directory), stamp))


@lru_cache(maxsize=8)
def _load_cached(directory: str, stamp: tuple[tuple[str, int, int], ...]) -> tuple[tuple[str, Lexicon], ...]:
    return tuple(load_lexicons(Path(directory)).items())
