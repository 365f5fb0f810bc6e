"""One call's glue, shared by every way a caller reaches us (audio pipeline or typed text).

It feeds caller events to the dialog session, writes both sides of the transcript to the store, and
turns any failure of the dialog into a hand-over to a human (`system_fault`): a caller is never dropped
because a component failed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from voicebot.dialog.types import BotReply, CallerDtmf, CallerEvent, CallerSaid, CallInfo, DialogSession
from voicebot.store.calls import CallStore, TurnRecord

log = logging.getLogger(__name__)

# Called when the dialog decides to transfer: stores the handoff package, returns its id.
HandoffWriter = Callable[["CallSession", BotReply], Awaitable[str | None]]

SYSTEM_FAULT_TEXT = {
    "pl": "Przepraszam, mam problem techniczny. Łączę z konsultantem.",
    "en": "Sorry, I am having a technical problem. I am connecting you to a colleague.",
}


class CallSession:
    def __init__(
        self,
        info: CallInfo,
        dialog: DialogSession,
        store: CallStore | None = None,
        write_handoff: HandoffWriter | None = None,
    ) -> None:
        self.info = info
        self.dialog = dialog
        self.store = store
        self.write_handoff = write_handoff
        self.replies: list[BotReply] = []
        self.outcome = "abandoned"

    async def begin(self) -> BotReply:
        if self.store:
            await self.store.start_call(
                self.info.call_id, caller_number=self.info.caller_number, language=self.info.language,
                flow_id=self.info.flow_id, channel=self.info.channel,
            )
        try:
            reply = await self.dialog.start()
        except Exception:
            log.exception("call %s: dialog failed at greeting", self.info.call_id)
            reply = self.system_fault()
        return await self._after_reply(reply, timings=None)

    async def on_event(self, event: CallerEvent, timings: dict[str, float] | None = None) -> BotReply:
        await self._record_caller(event, timings)
        try:
            reply = await self.dialog.handle(event)
        except Exception:
            log.exception("call %s: dialog failed", self.info.call_id)
            reply = self.system_fault()
        return await self._after_reply(reply, timings)

    async def component_failed(self, component: str, detail: str = "") -> BotReply:
        """A part outside the dialog (speech recognition, synthesis, the line) failed: hand over to a human.

        Recorded like any bot reply, with the handoff package written, so the agent sees why.
        """
        log.error("call %s: %s failed (%s): transferring to a human", self.info.call_id, component, detail)
        return await self._after_reply(self.system_fault(), timings={})

    def system_fault(self) -> BotReply:
        lang = self.info.language
        return BotReply(text=SYSTEM_FAULT_TEXT.get(lang, SYSTEM_FAULT_TEXT["en"]), action="transfer",
                        reason="system_fault", language=lang)

    async def _after_reply(self, reply: BotReply, timings: dict[str, float] | None) -> BotReply:
        if reply.action in ("transfer", "callback") and self.write_handoff and reply.handoff_id is None:
            try:
                reply.handoff_id = await self.write_handoff(self, reply)
            except Exception:  # the caller still reaches a human, just without the package
                log.exception("call %s: could not write the handoff package", self.info.call_id)
        self.replies.append(reply)
        if reply.action == "transfer":
            self.outcome = "transferred"
        elif reply.action == "callback":
            self.outcome = "callback"
        elif reply.action in ("end", "hangup"):
            self.outcome = "contained" if self.outcome == "abandoned" else self.outcome
        if self.store:
            await self.store.add_turn(self.info.call_id, TurnRecord(
                role="bot", text=reply.text, intent=reply.intent, confidence=reply.confidence,
                language=reply.language, node=reply.node, action=reply.action, reason=reply.reason,
                frustration=reply.frustration, signals=dict(reply.signals), timings=dict(timings or {}),
            ))
        return reply

    async def _record_caller(self, event: CallerEvent, timings: dict[str, float] | None) -> None:
        if not self.store:
            return
        if isinstance(event, CallerSaid):
            rec = TurnRecord(role="caller", text=event.text, asr_confidence=event.asr_confidence,
                             language=event.language, timings=dict(timings or {}))
        elif isinstance(event, CallerDtmf):
            rec = TurnRecord(role="caller", text=f"[DTMF {event.digits}]")
        else:  # pragma: no cover - exhaustive
            return
        await self.store.add_turn(self.info.call_id, rec)

    async def finish(self, outcome: str | None = None) -> None:
        if self.store:
            last = self.replies[-1] if self.replies else None
            await self.store.end_call(
                self.info.call_id, outcome or self.outcome,
                last_node=(last.node if last else "") or "",
                transfer_reason=(last.reason if last and last.action in ("transfer", "callback") else "") or "",
                handoff_id=(last.handoff_id if last else "") or "",
            )
