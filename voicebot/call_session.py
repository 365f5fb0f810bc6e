"""One call's glue, shared by every way a caller reaches us (audio pipeline or typed text).

It feeds caller events to the dialog session, writes both sides of the transcript to the store, and
turns any failure of the dialog into a hand-over to a human (`system_fault`): a caller is never dropped
because a component failed.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from voicebot.callback_offer import CALLBACK_TEXT, CallbackOffer
from voicebot.dialog.schema import LanguageOffer
from voicebot.dialog.types import BotReply, CallerDtmf, CallerEvent, CallerNoInput, CallerSaid, CallInfo, DialogSession
from voicebot.escalation.routing import Route, Router
from voicebot.store.buffer import live_call_writes
from voicebot.store.calls import CallStore, TurnRecord

log = logging.getLogger(__name__)

# Called when the dialog decides to transfer: stores the handoff package, returns its id.
HandoffWriter = Callable[["CallSession", BotReply], Awaitable[str | None]]

SYSTEM_FAULT_TEXT = {
    "pl": "Przepraszam, mam problem techniczny. Łączę z konsultantem.",
    "en": "Sorry, I am having a technical problem. I am connecting you to a colleague.",
}
# Said instead of the greeting when the bot cannot answer another call in time (voicebot.pipeline.load).
BUSY_TEXT = {
    "pl": "Wszystkie linie są teraz zajęte. Łączę z konsultantem.",
    "en": "All our lines are busy right now. I am connecting you to a colleague.",
}

# The skill's line did not take the caller but another line can: said before the next transfer.
NEXT_LINE_TEXT = {
    "pl": "Ta linia jest teraz zajęta. Łączę z innym konsultantem.",
    "en": "That line is busy right now. I am connecting you to another colleague.",
}

# The post-call survey's answers: the flow's slots of these names (dialogs/README.md, settings.survey).
SURVEY_SLOTS = ("csat", "nps")

MAINTENANCE_TEXT = {
    "pl": "Przepraszam, musimy na chwilę wyłączyć tę linię. Łączę z konsultantem, który zna naszą rozmowę.",
    "en": "Sorry, this line is being restarted. I am connecting you to a colleague who can see our conversation.",
}


def _keys(offers: tuple[LanguageOffer, ...]) -> dict[str, str]:
    return {offer.key: offer.language for offer in offers}


class CallSession:
    def __init__(
        self,
        info: CallInfo,
        dialog: DialogSession,
        store: CallStore | None = None,
        write_handoff: HandoffWriter | None = None,
        callbacks: CallbackOffer | None = None,
        new_dialog: Callable[[CallInfo], DialogSession] | None = None,
        router: Router | None = None,
    ) -> None:
        self.info = info
        self.dialog = dialog
        # Starts the same flow in another language when the caller's first words are in it (see on_event).
        self.new_dialog = new_dialog
        self.heard_words = False
        # What the greeting offered ("To continue in English, press 9") and its keys -> languages, valid until the
        # caller's first words or keys (first words not understood: once more, see _handle).
        self.language_offers: tuple[LanguageOffer, ...] = ()
        self.language_keys: dict[str, str] = {}
        self.store = store
        self.write_handoff = write_handoff
        self.replies: list[BotReply] = []
        # Both sides of the conversation as written to the store, kept in memory too: the handoff
        # package is built from it even while Redis is down and the store is buffering.
        self.transcript: list[TurnRecord] = []
        self.outcome = "abandoned"
        # Requests the caller had made when the bot said goodbye to a served caller (None: it has not). A caller
        # talking over that goodbye (a "thanks, you too", a line crackle) who then hangs up without a new request
        # was still served, however the bot understood those last words.
        self._served_goodbye_requests: int | None = None
        self.callbacks = callbacks
        self.transfer_failure = ""  # why the human line did not take the call, when it did not
        self.callback_id: str | None = None
        # Picks the human line per skill (voicebot/escalation/routing.py); None = the line's one human line.
        self.router = router
        self.route: Route | None = None  # the last routing decision, for the handoff package
        self.lines_tried: list[str] = []  # lines that did not take this caller

    async def begin(self) -> BotReply:
        await self._record_start()
        try:
            reply = await self.dialog.start()
        except Exception:
            log.exception("call %s: dialog failed at greeting", self.info.call_id)
            reply = self.system_fault()
        self.language_offers = reply.language_offers
        self.language_keys = _keys(reply.language_offers)
        return await self._after_reply(reply, timings=None)

    async def _record_start(self) -> None:
        if self.store:
            await self._safely("start_call", self.store.start_call(
                self.info.call_id, caller_number=self.info.caller_number, language=self.info.language,
                flow_id=self.info.flow_id, channel=self.info.channel,
            ))

    async def turn_away(self) -> BotReply:
        """The bot is overloaded: instead of the flow's greeting, a short "all lines are busy" and a transfer
        (the line offers a callback when the human line does not take it). Recorded like any call."""
        await self._record_start()
        lang = self.info.language
        log.warning("call %s: overloaded (speech recognition queue, or asr.calls_per_core x cores calls served): "
                    "busy message and transfer", self.info.call_id)
        reply = BotReply(text=BUSY_TEXT.get(lang, BUSY_TEXT["en"]), action="transfer", reason="overload",
                         language=lang)
        return await self._after_reply(reply, timings=None)

    async def on_event(self, event: CallerEvent, timings: dict[str, float] | None = None) -> BotReply:
        language_keys = self.language_keys
        if isinstance(event, CallerSaid | CallerDtmf):
            self.language_keys = {}  # the caller has begun in this language: later keys are the flow's
        if language_keys and isinstance(event, CallerSaid) and event.barge_in:
            # Speaking over "To continue in English, press 9" is how a caller in the line's language goes on, not
            # impatience.
            event = dataclasses.replace(event, barge_in=False)
        chosen = language_keys.get(event.digits.rstrip("#")) if isinstance(event, CallerDtmf) else None
        if chosen is not None:
            await self._record_caller(event, timings)
            greeting = await self._switch_language(chosen)
            if greeting is not None:  # the new language's greeting (the recording notice too), offering nothing
                return await self._after_reply(dataclasses.replace(greeting, language_offers=()), timings)
            return await self._handle(event, timings)
        offers: tuple[LanguageOffer, ...] = ()
        if isinstance(event, CallerSaid) and not self.heard_words:
            self.heard_words = True
            if event.language and event.language != self.info.language:
                await self._switch_language(event.language)
            if language_keys:
                offers = tuple(o for o in self.language_offers if o.language != self.info.language)
        await self._record_caller(event, timings)
        return await self._handle(event, timings, offers)

    async def _handle(self, event: CallerEvent, timings: dict[str, float] | None,
                      offers: tuple[LanguageOffer, ...] = ()) -> BotReply:
        try:
            reply = await self.dialog.handle(event)
        except Exception:
            log.exception("call %s: dialog failed", self.info.call_id)
            reply = self.system_fault()
        if offers and reply.action == "continue" and reply.intent is None and reply.confidence is not None:
            # The caller's first words meant nothing in the line's language: perhaps they speak another one. The
            # re-ask offers it once more, and its key works until their next words or keys.
            reply = dataclasses.replace(reply, language_offers=offers)
            self.language_keys = _keys(offers)
        return await self._after_reply(reply, timings)

    async def _switch_language(self, language: str) -> BotReply | None:
        """The caller speaks another language (their first words, or the greeting's language key): go on in
        that language's flow and voice. Returns that flow's greeting; None when the call stays as it was.

        The new flow is started where a call starts; after first words its greeting is not said, the flow hears
        those words, already read in the new language: the caller does not repeat themselves.
        """
        if self.new_dialog is None:
            return None
        info = dataclasses.replace(self.info, language=language)
        try:
            dialog = self.new_dialog(info)
            greeting = await dialog.start()
        except Exception:  # staying in the line's language beats losing the call
            log.exception("call %s: could not switch to %s", self.info.call_id, language)
            return None
        log.info("call %s: caller speaks %s, switching from %s", self.info.call_id, language, self.info.language)
        self.info, self.dialog = info, dialog
        if self.store:
            await self._safely("update_call", self.store.update_call(self.info.call_id, language=language))
        return greeting

    async def component_failed(self, component: str, detail: str = "") -> BotReply:
        """A part outside the dialog (speech recognition, synthesis, the line) failed: hand over to a human.

        Recorded like any bot reply, with the handoff package written, so the agent sees why.
        """
        log.error("call %s: %s failed (%s): transferring to a human", self.info.call_id, component, detail)
        return await self._after_reply(self.system_fault(), timings={})

    async def maintenance(self) -> BotReply:
        """The worker is draining (voicebot/drain.py): hand the caller over, with the handoff package."""
        log.warning("call %s: worker shutting down: transferring to a human", self.info.call_id)
        lang = self.info.language
        reply = BotReply(text=MAINTENANCE_TEXT.get(lang, MAINTENANCE_TEXT["en"]), action="transfer",
                         reason="maintenance", language=lang)
        return await self._after_reply(reply, timings={})

    async def transfer_failed(self, detail: str) -> BotReply:
        """The line could not hand the caller over (`detail` says why): book a callback and say goodbye.

        Returns the reply to speak; its action is "callback" (then hang up), or "hangup" when no callback
        could be booked (no caller number, no callback store). Recorded like any bot reply.
        """
        last = next((r for r in reversed(self.replies) if r.action == "transfer"), None)
        retry = await self._next_line(last, detail)
        if retry is not None:
            return await self._after_reply(retry, timings={})
        log.warning("call %s: transfer failed (%s): offering a callback", self.info.call_id, detail)
        self.transfer_failure = detail
        reply = await self._after_reply(await self._callback_instead(detail, last), timings={})
        if reply.action != "callback":
            self.outcome = "transfer_failed"
        return reply

    async def _callback_instead(self, detail: str, last: BotReply | None) -> BotReply:
        """The callback request (or, when none can be booked, "call again later") for a caller no human line took."""
        reason = (last.reason if last else None) or "transfer"
        snapshot = self._snapshot()
        intents = snapshot.get("intents") or []
        topic = intents[-1] if intents else reason  # what the caller wanted, else why we transferred
        reply: BotReply | None = None
        # The skill's own team calls back: when its line next opens, not when any line does.
        hours = self.router.hours_of(self.route.wanted) if self.router and self.route else None
        if self.callbacks is not None:
            try:
                reply, self.callback_id = await self.callbacks.book(
                    self.info, topic=topic, reason=reason, detail=detail, context=dict(snapshot.get("slots") or {}),
                    hours=hours)
            except Exception:
                log.exception("call %s: booking the callback failed", self.info.call_id)
        if reply is None:
            texts = CALLBACK_TEXT.get(self.info.language, CALLBACK_TEXT["en"])
            reply = BotReply(text=texts["none"], action="hangup", reason=reason, language=self.info.language)
        reply.intent = intents[-1] if intents else None
        reply.node = last.node if last else None
        reply.skill = last.skill if last else None
        return reply

    async def _next_line(self, last: BotReply | None, detail: str) -> BotReply | None:
        """After the skill's line did not take the caller: a transfer to the next line that can, or None."""
        if self.router is None or last is None or self.route is None or not self.route.found:
            return None
        failed = self.route.skill
        self.lines_tried.append(failed)
        await self.router.release(failed, self.info.call_id)
        route = await self.router.route(self.route.wanted, self.info.channel, self.info.call_id,
                                        skip=self.lines_tried)
        if not route.found:
            return None
        log.warning("call %s: line %s did not take the call (%s): trying line %s", self.info.call_id, failed,
                    detail, route.skill)
        self.route = route
        lang = self.info.language
        return BotReply(text=NEXT_LINE_TEXT.get(lang, NEXT_LINE_TEXT["en"]), action="transfer", reason=last.reason,
                        intent=last.intent, node=last.node, language=lang, skill=route.skill,
                        transfer_target=route.target)

    async def _routed(self, reply: BotReply) -> BotReply:
        """Pick the human line for a transfer (and the skill a callback is for); no line can take the caller
        now (closed, full): a callback instead, never silence."""
        if self.router is None or reply.skill is not None:
            return reply
        intents = self._snapshot().get("intents") or []
        # The flow's own reason -> skill mapping (its escalation policy, resolved by the dialog's tracker).
        policy = getattr(getattr(self.dialog, "tracker", None), "policy", None)
        asked = intents[-1] if intents else reply.intent
        if self.info.handoff_id and self.info.topic:
            asked = self.info.topic  # a callback we placed: what the caller first wanted, not their "yes" now
        wanted = self.router.skill_for(reply.reason, asked, getattr(policy, "skills", None))
        reply.skill = wanted
        if reply.action != "transfer":
            return reply
        self.route = await self.router.route(wanted, self.info.channel, self.info.call_id, skip=self.lines_tried)
        if self.route.found:
            reply.skill, reply.transfer_target = self.route.skill, self.route.target
            if self.route.passed:
                log.info("call %s: %s goes to line %s (%s)", self.info.call_id, wanted, self.route.skill,
                         self.route.note)
            return reply
        detail = f"no human line can take the call now ({self.route.note})"
        log.warning("call %s: %s: offering a callback", self.info.call_id, detail)
        self.transfer_failure = detail
        callback = await self._callback_instead(detail, reply)
        callback.skill = wanted
        return callback

    def _snapshot(self) -> dict[str, Any]:
        try:
            return dict(self.dialog.snapshot())
        except Exception:  # the dialog's state is a nice-to-have here
            log.exception("call %s: dialog snapshot failed", self.info.call_id)
            return {}

    async def _attach_handoff(self, handoff_id: str) -> None:
        """The callback request gets the package: the agent reached on the callback sees the original call."""
        callback_id = self.callback_id or self._snapshot().get("callback_id")
        if self.callbacks is None or not callback_id:
            return
        try:
            await self.callbacks.store.attach_handoff(callback_id, handoff_id)
        except Exception:  # the call record still links both (callback_id, handoff_id)
            log.exception("call %s: could not link the callback to its handoff package", self.info.call_id)

    def system_fault(self) -> BotReply:
        lang = self.info.language
        return BotReply(text=SYSTEM_FAULT_TEXT.get(lang, SYSTEM_FAULT_TEXT["en"]), action="transfer",
                        reason="system_fault", language=lang)

    async def _after_reply(self, reply: BotReply, timings: dict[str, float] | None) -> BotReply:
        if reply.action in ("transfer", "callback"):
            reply = await self._routed(reply)
        if reply.action == "transfer" and self.info.handoff_id and reply.handoff_id is None:
            reply.handoff_id = self.info.handoff_id  # a callback: the agent gets the original call's package
        if reply.action in ("transfer", "callback") and self.write_handoff and reply.handoff_id is None:
            try:
                with live_call_writes():  # Redis hung: the package is queued, in order
                    reply.handoff_id = await self.write_handoff(self, reply)
            except Exception:  # the caller still reaches a human, just without the package
                log.exception("call %s: could not write the handoff package", self.info.call_id)
            if reply.action == "callback" and reply.handoff_id:
                await self._attach_handoff(reply.handoff_id)
        self.replies.append(reply)
        if reply.action == "transfer":
            self.outcome = "transferred"
        elif reply.action == "callback":
            self.outcome = "callback"
        elif reply.action == "hangup" and self.transfer_failure:
            self.outcome = "transfer_failed"  # promised a person, no callback could be booked
        elif reply.action in ("end", "hangup") and self.outcome == "abandoned":
            # A caller saying goodbye before the bot did anything for them gave up: not the bot's success.
            gave_up = reply.reason == "caller_goodbye" and not self._snapshot().get("served")
            self.outcome = "abandoned" if gave_up else "contained"
            if self.outcome == "contained":
                self._served_goodbye_requests = len(self._snapshot().get("intents", ()))
        elif reply.action == "continue" and self.outcome == "contained":
            self.outcome = "abandoned"  # the caller talked over the goodbye and the call goes on: judged at its end
        rec = TurnRecord(
            role="bot", text=reply.spoken, intent=reply.intent, confidence=reply.confidence,
            language=reply.language, node=reply.node, action=reply.action, reason=reply.reason,
            frustration=reply.frustration, signals=dict(reply.signals), timings=dict(timings or {}),
        )
        self.transcript.append(rec)
        if self.store:
            await self._safely("add_turn", self.store.add_turn(self.info.call_id, rec))
        return reply

    async def _record_caller(self, event: CallerEvent, timings: dict[str, float] | None) -> None:
        if isinstance(event, CallerSaid):
            rec = TurnRecord(role="caller", text=event.text, asr_confidence=event.asr_confidence,
                             language=event.language, timings=dict(timings or {}))
        elif isinstance(event, CallerDtmf):
            rec = TurnRecord(role="caller", text=f"[DTMF {event.digits}]")
        elif isinstance(event, CallerNoInput):
            rec = TurnRecord(role="caller", text="[noise, no words]" if event.noise else
                             f"[silence {event.waited_s:.0f} s]")
        else:  # pragma: no cover - exhaustive
            return
        self.transcript.append(rec)
        if self.store:
            await self._safely("add_turn", self.store.add_turn(self.info.call_id, rec))

    async def _safely(self, what: str, write: Awaitable[None]) -> None:
        """A store write must never end a call. Outages are buffered by the store itself; any other store
        error (Redis out of memory, read-only replica) is logged and the call goes on: the turns are still
        in `self.transcript` and reach the human in the handoff package. A hung Redis must not stall the
        caller's reply: writes wait for it briefly, then stay queued and are written in order."""
        try:
            with live_call_writes():
                await write
        except Exception:
            log.exception("call %s: store %s failed", self.info.call_id, what)

    def _served_at_hang_up(self) -> bool:
        snapshot = self._snapshot()
        if snapshot.get("served"):
            return True
        said_goodbye = self._served_goodbye_requests
        return said_goodbye is not None and len(snapshot.get("intents", ())) <= said_goodbye

    async def finish(self, outcome: str | None = None) -> None:
        if outcome is None and self.outcome == "abandoned" and self._served_at_hang_up():
            # The caller hung up after being served (typically at "anything else?"): the bot's success.
            self.outcome = "contained"
        if self.router is not None and self.route is not None and self.route.found \
                and (outcome or self.outcome) != "transferred":
            # Routed but never handed over (the caller hung up first): the line's place is free again.
            await self.router.release(self.route.skill, self.info.call_id)
        if self.store:
            last = self.replies[-1] if self.replies else None
            await self._safely("end_call", self.store.end_call(
                self.info.call_id, outcome or self.outcome,
                last_node=(last.node if last else "") or "",
                transfer_reason=(last.reason if last and (last.action in ("transfer", "callback")
                                                          or self.transfer_failure) else "") or "",
                handoff_id=(last.handoff_id if last else "") or "",
                # The call's peak frustration (keys.py: call hash), for the supervisors' KPIs.
                frustration=max((r.frustration for r in self.replies), default=0.0),
                **({"transfer_failure": self.transfer_failure} if self.transfer_failure else {}),
                **({"callback_id": self.callback_id} if self.callback_id else {}),
                **({"skill": last.skill} if last and last.skill else {}),
                **survey_fields(self._snapshot()),
            ))
        remember = getattr(self.dialog, "remember", None)  # the returning caller's profile, when the dialog keeps one
        if remember is not None:
            await self._safely("caller profile", remember(outcome or self.outcome))


def survey_fields(snapshot: dict[str, Any]) -> dict[str, Any]:
    """The call record's survey fields: `csat`, `nps` (the answers given) and `survey`, how it went: answered
    (both), declined ("no", a goodbye or silence), hung_up (the caller left during it), partial or unanswered."""
    state = snapshot.get("survey") or ""
    if not state:
        return {}
    slots = snapshot.get("slots") or {}
    answers = {name: slots[name] for name in SURVEY_SLOTS if slots.get(name) is not None}
    if len(answers) == len(SURVEY_SLOTS):
        status = "answered"
    elif state in ("declined", "asked"):
        status = "declined" if state == "declined" else "hung_up"
    else:
        status = "partial" if answers else "unanswered"
    return {**answers, "survey": status}
