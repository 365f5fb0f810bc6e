"""`load_engine(settings)`: the dialog engine used by the audio pipeline, `simulate` and the tests.

Flows are compiled once per process (NLU trained at load); every call gets its own `FlowSession` and
its own escalation tracker from `tracker_factory(settings, flow)`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp

from voicebot.config import Settings
from voicebot.dialog.actions import ActionRegistry
from voicebot.dialog.core import Staffed
from voicebot.dialog.escalation import EscalationDecision, EscalationTracker, TurnObservation
from voicebot.dialog.flow_session import FlowSession, Runtime, read_profile
from voicebot.dialog.registry import FlowRegistry, LoadedFlow
from voicebot.dialog.schema import Flow
from voicebot.dialog.types import CallInfo
from voicebot.dialog.validate import FlowInvalid
from voicebot.store.callbacks import CallbackStore
from voicebot.store.callers import CallerStore
from voicebot.store.surveys import SurveyPicker

log = logging.getLogger(__name__)

TrackerFactory = Callable[[Settings, Flow], EscalationTracker]


class _NoEscalation:
    """Stand-in until the escalation policy is plugged in: never transfers on its own."""

    def observe(self, obs: TurnObservation) -> EscalationDecision:
        return EscalationDecision(transfer=False)

    def history(self) -> list[dict]:
        return []


class FlowEngine:
    def __init__(self, settings: Settings, registry: FlowRegistry, tracker_factory: TrackerFactory | None,
                 actions: ActionRegistry, clock: Callable[[], datetime], callbacks: CallbackStore | None,
                 callers: CallerStore | None = None, surveys: SurveyPicker | None = None) -> None:
        self.settings = settings
        self.registry = registry
        self.tracker_factory = tracker_factory
        self._http: aiohttp.ClientSession | None = None
        self.runtime = Runtime(http=self._client, actions=actions, clock=clock, callbacks=callbacks,
                               variables={"crm_url": settings.dialog.crm_url.rstrip("/"),
                                          "record_audio": settings.privacy.record_audio},
                               callers=callers, surveys=surveys,
                               callback_capacity=settings.callbacks.per_half_hour)

    def _client(self) -> aiohttp.ClientSession:
        # Created on first use: it must belong to the running event loop.
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession()
        return self._http

    def flow_for(self, flow_id: str, language: str) -> LoadedFlow:
        d = self.settings.dialog
        for fid, lang in ((flow_id, language), (flow_id, d.default_language), (d.default_flow, language),
                          (d.default_flow, d.default_language)):
            loaded = self.registry.get(fid, lang)
            if loaded:
                return loaded
        for fid in (flow_id, d.default_flow):  # e.g. the English file is broken: Polish beats no bot at all
            for lang in self.registry.languages(fid):
                return self.registry.get(fid, lang)  # type: ignore[return-value]
        raise LookupError(f"no flow {flow_id!r} ({language}) and no default flow loaded")

    def languages(self, flow_id: str) -> list[str]:
        """The languages `flow_id` is loaded in (a call may switch between them)."""
        return self.registry.languages(flow_id)

    async def preferred_language(self, call: CallInfo) -> str:
        """A returning caller's language (their profile's, from their last call) when the line did not fix
        the call's language and the call's flow exists in it; "" otherwise. Read before the greeting."""
        if call.language_fixed or self.runtime.callers is None or \
                self.flow_for(call.flow_id, call.language).flow.profile is None:
            return ""
        language = ((await read_profile(self.runtime.callers, call)) or {}).get("language", "")
        return language if language in self.languages(call.flow_id) else ""

    def new_session(self, call: CallInfo) -> FlowSession:
        loaded = self.flow_for(call.flow_id, call.language)
        tracker = self.tracker_factory(self.settings, loaded.flow) if self.tracker_factory else _NoEscalation()
        return FlowSession(loaded, call, self.runtime, tracker, self.languages(call.flow_id))

    def voicemail_message(self, flow_id: str, language: str) -> str:
        text = self.flow_for(flow_id, language).flow.messages.voicemail
        return (text[0] if isinstance(text, list) else text) or ""

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()


def load_engine(settings: Settings, tracker_factory: TrackerFactory | None = None, *,
                actions: ActionRegistry | None = None, clock: Callable[[], datetime] | None = None,
                callbacks: CallbackStore | None = None, strict: bool = False,
                registry: FlowRegistry | None = None, callers: CallerStore | None = None,
                surveys: SurveyPicker | None = None, staffed: Staffed | None = None) -> FlowEngine:
    """Load every flow under settings.dialog.flows_dir (or use an already loaded `registry`, e.g. one
    shared with the web UI). Broken files are logged and skipped (`strict=True` raises instead); with no
    usable flow at all this raises FlowInvalid/LookupError. `staffed`: whether a skill's human line takes a
    transfer outside business hours (Router.staffed; None: business hours decide)."""
    actions = dict(actions or {})
    if registry is None:
        registry = FlowRegistry(settings.path(settings.dialog.flows_dir), settings.business_hours,
                                frozenset(actions), staffed)
        errors = registry.reload()
        if errors and (strict or not registry.flow_ids()):
            raise FlowInvalid(errors)
    if not registry.flow_ids():
        raise LookupError(f"no flows under {registry.directory}")
    tz = ZoneInfo(settings.business_hours.timezone)

    def now() -> datetime:
        return datetime.now(tz)

    return FlowEngine(settings, registry, tracker_factory, actions, clock or now, callbacks, callers, surveys)


def fixed_clock(moment: datetime) -> Callable[[], Any]:
    """A clock stuck at `moment` (simulate --now, tests)."""
    return lambda: moment

