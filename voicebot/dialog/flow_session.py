"""One call's conversation: runs the pure core, executes its effects (webhooks, callback requests) and
answers with a `BotReply`. Escalation: every understood caller turn is shown to the call's tracker."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp

from voicebot.dialog import core
from voicebot.dialog.actions import ActionOutcome, ActionRegistry, run_webhook
from voicebot.dialog.escalation import EscalationTracker, TurnObservation
from voicebot.dialog.registry import LoadedFlow
from voicebot.dialog.schema import AskNode
from voicebot.dialog.types import BotAction, BotReply, CallerDtmf, CallerEvent, CallerNoInput, CallerSaid, CallInfo
from voicebot.store.callbacks import CallbackRequest, CallbackStore

log = logging.getLogger(__name__)
MAX_ACTIONS_PER_TURN = 5  # a flow chaining more webhooks than this in one turn is looping


@dataclass
class Runtime:
    """What sessions share: the HTTP client, the action registry, the clock, the callback store."""

    http: Callable[[], aiohttp.ClientSession]
    actions: ActionRegistry
    clock: Callable[[], datetime]
    callbacks: CallbackStore | None
    variables: dict[str, Any]  # built-in template variables from settings (crm_url, record_audio)


class FlowSession:
    def __init__(self, loaded: LoadedFlow, call: CallInfo, runtime: Runtime, tracker: EscalationTracker) -> None:
        self.loaded = loaded
        self.call = call
        self.runtime = runtime
        self.tracker = tracker
        self.state = core.DialogState(variables={
            **runtime.variables, "caller_number": call.caller_number, "language": loaded.flow.language,
        })
        self.callback_id: str | None = None

    @property
    def language(self) -> str:
        return self.loaded.flow.language

    async def start(self) -> BotReply:
        return await self._advance(core.Start(self.runtime.clock()))

    async def handle(self, event: CallerEvent) -> BotReply:
        now = self.runtime.clock()
        intent: str | None = None
        confidence: float | None = None
        if isinstance(event, CallerSaid):
            understood = self.loaded.nlu.classify(event.text)
            intent, confidence = understood.intent, understood.confidence
            ev: core.Event = core.Heard(event.text, intent, understood.confidence, now,
                                        alternatives=event.alternatives, asr_confidence=event.asr_confidence,
                                        out_of_scope=understood.out_of_scope, barge_in=event.barge_in)
        elif isinstance(event, CallerDtmf):
            intent = "talk_to_human" if event.digits.strip("#") == "0" else None
            confidence = 1.0 if intent else None
            ev = core.KeysPressed(event.digits, now)
        elif isinstance(event, CallerNoInput):
            ev = core.NoInput(now, event.noise)
        else:
            raise TypeError(f"unknown caller event {event!r}")
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
            prosody=event.prosody if isinstance(event, CallerSaid) else None,
        )
        decision = self.tracker.observe(obs)
        if decision.transfer and not state.finished:
            # The tracker wins over the flow's ordinary answer: hand over now, with its reason.
            state, effects = self.loaded.machine.step(state, core.Escalate(decision.reason or "escalation", now))
        elif decision.transfer and state.reason == "caller_goodbye" and not self.state.finished:
            # A "goodbye" the tracker found angry or sarcastic ("Great, just great."): hand over from where
            # the call was instead of hanging up.
            state, effects = self.loaded.machine.step(self.state, core.Escalate(decision.reason or "escalation",
                                                                                now))
        self.state = state
        reply = await self._run(effects, intent, confidence)
        reply.frustration = decision.frustration
        reply.signals = dict(decision.signals)
        return reply

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
            number=self.call.caller_number, topic=effect.topic,
            preferred_time=effect.due.isoformat() if effect.due else "", call_id=self.call.call_id,
            language=self.language, reason=effect.reason, context=dict(self.state.slots),
            due=effect.due.timestamp() if effect.due else 0.0,
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
                        no_input_secs=self.loaded.machine.no_input_secs(self.state), expects=expects)

    def snapshot(self) -> dict[str, Any]:
        flow = self.loaded.flow
        return {
            "flow_id": flow.id, "flow_version": self.loaded.version, "language": flow.language,
            "node": self.state.node, "intents": list(self.state.intents), "slots": dict(self.state.slots),
            "verified": {k: self.state.results.get(k) for k in self.state.verified},
            "reason": self.state.reason, "callback_id": self.callback_id,
            # The caller got what they asked for and the bot was not lost (re-asking) at their last turn:
            # a caller hanging up now was served, not abandoned.
            "served": self.state.served and self.state.attempts == 0 and not self.state.confirm_end,
            # Per-turn confidence/frustration/signals for the handoff package (voicebot/escalation/handoff.py).
            "escalation_history": self.tracker.history(),
        }
