"""One call's conversation: runs the pure core, executes its effects (webhooks, callback requests) and
answers with a `BotReply`. Escalation: every understood caller turn is shown to the call's tracker."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp

from voicebot.dialog import callback_capture, core, templates
from voicebot.dialog import slots as slot_values
from voicebot.dialog.actions import ActionOutcome, ActionRegistry, run_webhook
from voicebot.dialog.escalation import EscalationTracker, TurnObservation
from voicebot.dialog.registry import LoadedFlow
from voicebot.dialog.schema import AskNode, ProfileDef
from voicebot.dialog.types import BotAction, BotReply, CallerDtmf, CallerEvent, CallerNoInput, CallerSaid, CallInfo
from voicebot.store.callbacks import CallbackRequest, CallbackStore
from voicebot.store.callers import CallerStore, profile_number
from voicebot.store.surveys import SurveyPicker

log = logging.getLogger(__name__)
MAX_ACTIONS_PER_TURN = 5  # a flow chaining more webhooks than this in one turn is looping
# Reading the returning caller's profile before the greeting: a slow Redis must not delay the greeting more.
PROFILE_READ_SECS = 0.3
CALLBACK_HORIZON_S = 14 * 24 * 3600  # as far ahead as callback times are offered (callback_capture.next_times)
BOOKED_READ_SECS = 0.3  # the booked callback times, read before the caller's answer: a slow Redis must not stall it


async def read_profile(callers: CallerStore, call: CallInfo) -> dict[str, Any] | None:
    """The caller's profile, or None when there is none or Redis does not answer within PROFILE_READ_SECS."""
    try:
        return await asyncio.wait_for(callers.get(call.caller_number), PROFILE_READ_SECS)
    except Exception:  # a caller greeted as new beats a caller kept waiting
        log.warning("call %s: caller profile not read", call.call_id, exc_info=True)
        return None


@dataclass
class Runtime:
    """What sessions share: the HTTP client, the action registry, the clock, the callback store."""

    http: Callable[[], aiohttp.ClientSession]
    actions: ActionRegistry
    clock: Callable[[], datetime]
    callbacks: CallbackStore | None
    variables: dict[str, Any]  # built-in template variables from settings (crm_url, record_audio)
    callers: CallerStore | None = None  # returning callers' profiles; None: every caller is new
    surveys: SurveyPicker | None = None  # picks the calls that hear the post-call survey (None: no survey)
    callback_capacity: int = 0  # [callbacks] per_half_hour: fully booked half hours are not offered (0: no limit)


class FlowSession:
    def __init__(self, loaded: LoadedFlow, call: CallInfo, runtime: Runtime, tracker: EscalationTracker,
                 languages: Sequence[str] = ()) -> None:
        self.loaded = loaded
        # The languages this flow is loaded in: the greeting offers only those of its language_offers.
        self.languages = tuple(languages)
        self.call = call
        self.runtime = runtime
        self.tracker = tracker
        self.state = core.DialogState(variables={
            **runtime.variables, "caller_number": call.caller_number, "language": loaded.flow.language,
            "callback_topic": call.topic,
            # the notice follows what really happens on this call, not only the setting
            **({"record_audio": call.recorded} if call.recorded is not None else {}),
        })
        self.callback_id: str | None = None
        self.profile: dict[str, Any] | None = None  # the returning caller's profile, read at start
        self._survey_noted: asyncio.Task[None] | None = None
        self._answered: str | None = None  # the intent the last turn asked for (a follow-up may ask it again)

    @property
    def language(self) -> str:
        return self.loaded.flow.language

    async def start(self) -> BotReply:
        # Both read Redis before the greeting, each giving up after a moment: side by side, so a hung Redis
        # delays the greeting by one wait, not two.
        profile, survey = await asyncio.gather(self._read_profile(), self._offer_survey())
        if self.profile is None:  # (flow test conversations give one)
            self.profile = profile
        if self.profile:  # {caller.name}, {caller.case.item}; conditions on caller.case.kind (empty = missing)
            self.state.results[templates.PROFILE_VARIABLE] = {k: v for k, v in self.profile.items() if v}
        if survey is not None:  # bound before the greeting: the flow's end reads it
            self.state.variables["survey"] = survey
        reply = await self._advance(core.Start(self.runtime.clock()))
        offers = tuple(offer for offer in self.loaded.flow.language_offers
                       if offer.language in self.languages and offer.language != self.language)
        if not offers or reply.action != "continue":
            return reply
        return dataclasses.replace(reply, language_offers=offers)

    async def _offer_survey(self) -> bool | None:
        """Whether this call hears the post-call survey if the bot serves it; None: no survey picker."""
        if self.runtime.surveys is None:
            return None
        return await self.runtime.surveys.offer(self.call.caller_number)

    async def _read_profile(self) -> dict[str, Any] | None:
        if self.profile is not None or self.runtime.callers is None or self.loaded.flow.profile is None:
            return None
        return await read_profile(self.runtime.callers, self.call)

    async def remember(self, outcome: str) -> None:
        """The call ended: update the caller's profile (last contact, the case the call opened or closed, and
        the name from the CRM while the profile has none)."""
        spec = self.loaded.flow.profile
        if self.runtime.callers is None or spec is None:
            return
        case, closed = self.loaded.machine.case_update(self.state)
        name = (self.profile or {}).get("name") or await self._lookup_name(spec)
        await self.runtime.callers.record_call(
            self.call.caller_number, call_id=self.call.call_id, outcome=outcome, language=self.language,
            topic=next((i for i in reversed(self.state.intents) if i not in core.ANYWHERE), ""),  # not "yes"/"bye"
            name=name, case=case, close_case=closed)

    async def _lookup_name(self, spec: ProfileDef) -> str:
        hook = self.loaded.flow.actions.get(spec.lookup or "")
        if hook is None or profile_number(self.call.caller_number) is None:
            return ""
        outcome = await run_webhook(self.runtime.http(), hook, self.loaded.machine.context(self.state))
        if not outcome.ok:  # not a customer (404) or the CRM is down: greeted without a name next time
            return ""
        return templates.render(spec.name, {templates.LOOKUP_VARIABLE: outcome.data}).strip()

    async def handle(self, event: CallerEvent) -> BotReply:
        now = self.runtime.clock()
        await self._note_full_callback_times(now)
        intent: str | None = None
        confidence: float | None = None
        if isinstance(event, CallerSaid):
            understood = self.loaded.nlu.classify(event.text, after=self._answered)
            intent, confidence = understood.intent, understood.confidence
            ev: core.Event = core.Heard(event.text, intent, understood.confidence, now,
                                        alternatives=event.alternatives, asr_confidence=event.asr_confidence,
                                        out_of_scope=understood.out_of_scope, best=understood.best,
                                        barge_in=event.barge_in)
        elif isinstance(event, CallerDtmf):
            intent = "talk_to_human" if event.digits.strip("#") == "0" else None
            confidence = 1.0 if intent else None
            ev = core.KeysPressed(event.digits, now, barge_in=event.barge_in)
        elif isinstance(event, CallerNoInput):
            ev = core.NoInput(now, event.noise)
        else:
            raise TypeError(f"unknown caller event {event!r}")
        closing = self.loaded.machine.closing(self.state)  # where the turn was heard, before the step moves on
        state, effects = self.loaded.machine.step(self.state, ev)
        if not state.no_match and len(state.intents) == len(self.state.intents):
            # The turn answered the question (a slot value): the intent classifier's guess about it is
            # irrelevant, and a low score must not count as "not understood" for escalation.
            intent, confidence = None, None
        obs = TurnObservation(
            # A no-input turn has no text: the escalation policy's silence_is_no_match decides what it counts as.
            text=event.text if isinstance(event, CallerSaid) else
            f"[DTMF {event.digits}]" if isinstance(event, CallerDtmf) else "",
            language=self.language, intent=intent, nlu_confidence=confidence,
            asr_confidence=event.asr_confidence if isinstance(event, CallerSaid) else None,
            no_match=state.no_match, reprompts=state.attempts,
            barge_in=isinstance(event, CallerSaid) and event.barge_in,
            prosody=event.prosody if isinstance(event, CallerSaid) else None, closing=closing,
            ends_call=state.finished and state.reason == "caller_goodbye",
        )
        decision = self.tracker.observe(obs)
        if decision.transfer and not state.finished:
            # The tracker wins over the flow's ordinary answer: hand over now, with its reason.
            state, effects = self.loaded.machine.step(state, core.Escalate(decision.reason or "escalation", now))
        elif decision.own_reason and state.finished and not state.ended and state.reason != decision.reason \
                and not self.state.finished:
            # The flow handed over for its routine reason ("smoke coming out and sparks" read as a technical_fault):
            # a hazard or a churn threat goes with its own reason, for the line it is routed to and the handoff.
            state, effects = self.loaded.machine.step(self.state, core.Escalate(decision.reason or "escalation",
                                                                                now))
        elif decision.transfer and state.reason in ("caller_goodbye", "unclear_close") and not self.state.finished:
            # A "goodbye" the tracker found angry or sarcastic ("Great, just great."), or unclear closing words said
            # with frustration: hand over from where the call was instead of hanging up.
            state, effects = self.loaded.machine.step(self.state, core.Escalate(decision.reason or "escalation",
                                                                                now))
        self.state = state
        self._answered = intent  # what this turn asked for (None: a slot answer, unclear): the next may follow up
        reply = await self._run(effects, intent, confidence)
        reply.frustration = decision.frustration
        reply.signals = dict(decision.signals)
        return reply

    async def _note_full_callback_times(self, now: datetime) -> None:
        """Before a turn that may offer callback times: the half hours already fully booked, which the offer
        skips ([callbacks] per_half_hour)."""
        store, capacity = self.runtime.callbacks, self.runtime.callback_capacity
        if store is None or capacity <= 0 or not callback_capture.may_offer_times(self.state.node):
            return
        start = self.loaded.machine.hours.local(now).timestamp()
        try:
            full = await asyncio.wait_for(store.full_half_hours(start, start + CALLBACK_HORIZON_S, capacity),
                                          BOOKED_READ_SECS)
        except Exception:  # Redis down or slow: offer times as if none were booked; the caller still gets a callback
            log.exception("call %s: could not read booked callback times", self.call.call_id)
            return
        self.state.variables[callback_capture.FULL] = sorted(full)

    async def _advance(self, ev: core.Event) -> BotReply:
        self.state, effects = self.loaded.machine.step(self.state, ev)
        return await self._run(effects, None, None)

    async def _run(self, effects: list[core.Effect], intent: str | None, confidence: float | None) -> BotReply:
        said: list[core.Effect] = []
        for _ in range(MAX_ACTIONS_PER_TURN):
            pending = [e for e in effects if isinstance(e, core.RunAction)]
            said += [e for e in effects if not isinstance(e, core.RunAction)]
            if not pending:
                break
            outcome = await self._run_action(pending[0])
            self.state, effects = self.loaded.machine.step(self.state, core.ActionResult(
                pending[0].node, outcome.ok, self.runtime.clock(), outcome.status, outcome.data, outcome.error))
        for e in said:
            if isinstance(e, core.Callback):
                await self._store_callback(e)
        if self.state.survey and self._survey_noted is None and self.runtime.surveys is not None:
            # Remembered as soon as the first question is asked: a caller who hangs up on it is not asked again.
            # In the background: the question must not wait for Redis.
            self._survey_noted = asyncio.create_task(self.runtime.surveys.asked(self.call.caller_number))
        return self._reply(said, intent, confidence)

    async def _run_action(self, effect: core.RunAction) -> ActionOutcome:
        hook = self.loaded.flow.actions.get(effect.action)
        try:
            if hook is not None:
                return await run_webhook(self.runtime.http(), hook, effect.context)
            return await self.runtime.actions[effect.action](effect.context)
        except Exception as exc:  # an action bug must not end the call: the node's on_error takes over
            log.exception("call %s: action %s failed", self.call.call_id, effect.action)
            return ActionOutcome(False, error=f"{type(exc).__name__}: {exc}")

    async def _store_callback(self, effect: core.Callback) -> None:
        if self.runtime.callbacks is None:
            return
        request = CallbackRequest(
            number=effect.number or self.call.caller_number, topic=effect.topic,
            preferred_time=effect.due.isoformat() if effect.due else "", call_id=self.call.call_id,
            language=self.language, reason=effect.reason, context=dict(self.state.slots),
            due=effect.due.timestamp() if effect.due else 0.0, channel=self.call.channel,
        )
        try:
            self.callback_id = await self.runtime.callbacks.add(request)
        except Exception:  # the caller was promised a call: log loudly, the handoff package still has it
            log.exception("call %s: could not store the callback request", self.call.call_id)

    def _reply(self, effects: list[core.Effect], intent: str | None, confidence: float | None) -> BotReply:
        text = " ".join(e.text for e in effects if isinstance(e, core.Say) and e.text)
        action: BotAction = "continue"
        reason = None
        for e in effects:
            if isinstance(e, core.Transfer):
                action, reason = "transfer", e.reason
            elif isinstance(e, core.Callback):
                action, reason = "callback", e.reason
            elif isinstance(e, core.End):
                action, reason = "end", e.reason
        node = self.loaded.machine.nodes.get(self.state.node or "")
        expects = node if isinstance(node, AskNode) and action == "continue" else None
        return BotReply(text=text, action=action, reason=reason, intent=intent, confidence=confidence,
                        slots=dict(self.state.slots), node=self.state.node, language=self.language,
                        asr_hints=self.loaded.machine.hints(self.state),
                        no_input_secs=self.loaded.machine.no_input_secs(self.state), expects=expects,
                        understands=self.understands if expects is not None else None)

    def understands(self, text: str) -> bool:
        """The words mean something to the dialog besides an answer: a request the classifier is sure of ("I want
        to talk to a person" at the order-number question), a yes or no, or "I don't have the number"."""
        if self.loaded.nlu.classify(text).intent is not None:
            return True
        return slot_values.bare_yes_no(text, self.language) is not None or slot_values.cannot_answer(text)

    def _garbled_closing(self) -> bool:
        """The caller's last turn, at a `closing` node, was one the escalation tracker found poorly heard."""
        history = self.tracker.history()
        return self.loaded.machine.closing(self.state) and bool(history) and bool(history[-1].get("low_confidence"))

    def snapshot(self) -> dict[str, Any]:
        flow = self.loaded.flow
        return {
            "flow_id": flow.id, "flow_version": self.loaded.version, "language": flow.language,
            "node": self.state.node, "intents": list(self.state.intents), "slots": dict(self.state.slots),
            "verified": {k: self.state.results.get(k) for k in self.state.verified},
            "reason": self.state.reason, "callback_id": self.callback_id,
            # The caller got what they asked for and the bot was not lost (re-asking) at their last turn:
            # a caller hanging up now was served, not abandoned.
            # Once the survey started the call was served, whatever the caller does at its questions. A served
            # caller who hangs up on "did you want to end the call?" (a goodbye heard unclearly) answered it. So is
            # one who hangs up while words the line garbled at a `closing` node ("anything else?") are asked
            # about: their task was done, and those words were most likely "thanks, bye" (words heard clearly
            # that the bot could not use may be a second request: that caller gave up).
            "served": self.state.served and (self.state.survey in ("asked", "declined", "done")
                                             or self.state.attempts == 0 or self._garbled_closing()),
            "survey": self.state.survey,
            # Per-turn confidence/frustration/signals for the handoff package (voicebot/escalation/handoff.py).
            "escalation_history": self.tracker.history(),
            "caller_profile": dict(self.profile or {}),  # the returning caller, for the handoff package
        }
