"""The handoff package: everything a human agent needs when a transferred call rings, stored BEFORE the transfer.

`handoff_writer(settings)` is the `HandoffWriter` hook of `voicebot.call_session.CallSession`: it builds the
package from the call (CallInfo), the dialog's `snapshot()` (flow, node, intents, slots, verified data),
the in-memory transcript, and the escalation tracker's `history()`, stores it (voicebot/store/handoffs.py)
and returns its id, which the pipeline passes to `media.transfer(handoff_id)`.

The tracker's history comes from `snapshot()["escalation_history"]` (FlowSession puts it there), or from
`session.dialog.tracker.history()` for a dialog session that only exposes its tracker.
"""

from __future__ import annotations

import functools
import itertools
import logging
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from voicebot.config import EscalationSettings, Settings
from voicebot.dialog.types import BotReply
from voicebot.escalation.summary import summarize
from voicebot.store.handoffs import HandoffStore

if TYPE_CHECKING:
    from voicebot.call_session import CallSession, HandoffWriter
    from voicebot.store.calls import TurnRecord

log = logging.getLogger(__name__)


@dataclass
class HandoffPackage:
    handoff_id: str
    call_id: str
    created_at: float
    caller_number: str
    language: str
    channel: str
    action: str  # transfer | callback
    reason: str
    explanation: str
    summary: str
    flow_id: str = ""
    flow_version: Any = None
    node: str = ""
    intent: str | None = None  # what the call is about: the caller's last understood intent
    intents: list[str] = field(default_factory=list)
    slots: dict[str, Any] = field(default_factory=dict)
    verified: dict[str, Any] = field(default_factory=dict)
    frustration: float = 0.0
    confidence: float | None = None  # combined ASR x NLU confidence of the last caller turn
    transcript: list[dict[str, Any]] = field(default_factory=list)  # last turns, oldest first
    escalation_history: list[dict[str, Any]] = field(default_factory=list)  # per caller turn
    callback_id: str | None = None
    # A returning caller's profile as the call started (name, open case, last contacts): the agent sees the history.
    caller_profile: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _history(session: CallSession, snapshot: dict[str, Any]) -> list[dict[str, Any]]:
    """The tracker's history: the agreed place is the dialog snapshot (wrappers of the dialog session pass it
    through); a dialog session that only exposes its tracker as `.tracker` works too."""
    if "escalation_history" in snapshot:
        return list(snapshot["escalation_history"] or [])
    tracker = getattr(session.dialog, "tracker", None)
    return list(tracker.history()) if tracker is not None and hasattr(tracker, "history") else []


def _topic(intents: list[str], history: list[dict[str, Any]], reply: BotReply) -> str | None:
    """The caller's request: the last understood intent that is not small talk or the escalation itself."""
    skip = {"greeting", "affirm", "deny", "goodbye", "thanks", "talk_to_human", "agent", "fallback",
            "out_of_scope", "nlu_fallback", "help"}
    candidates = list(intents) + [h.get("intent") for h in history if not h.get("no_match")] + [reply.intent]
    for intent in reversed(candidates):
        if intent and intent not in skip:
            return intent
    return None


def _asked_for(transcript: list[TurnRecord], intent: str | None) -> str:
    """The caller's own words for `intent`: the first caller turn the bot answered as that intent."""
    for before, after in itertools.pairwise(transcript):
        if intent and before.role == "caller" and after.role == "bot" and after.intent == intent:
            return before.text
    return ""


def build_package(session: CallSession, reply: BotReply, policy: EscalationSettings) -> HandoffPackage:
    info = session.info
    try:
        snapshot = dict(session.dialog.snapshot())
    except Exception:  # a broken dialog is often why we are transferring (system_fault)
        log.exception("call %s: dialog snapshot failed; handoff without flow state", info.call_id)
        snapshot = {}
    history = _history(session, snapshot)
    last = history[-1] if history else {}
    language = snapshot.get("language") or reply.language or info.language
    intents = [i for i in snapshot.get("intents", []) if i]
    slots = dict(snapshot.get("slots") or reply.slots or {})
    verified = dict(snapshot.get("verified") or {})
    reason = reply.reason or last.get("reason") or "unknown"
    frustration = float(reply.frustration or last.get("frustration") or 0.0)
    caller_turns = [t for t in session.transcript if t.role == "caller"]
    # Never the admin-only unredacted text: the agent sees what supervisors see.
    turns = [{k: v for k, v in asdict(t).items() if k != "text_original"}
             for t in session.transcript[-policy.handoff_transcript_turns:]]
    if not (turns and turns[-1]["role"] == "bot" and turns[-1]["text"] == reply.text):
        # Called before the session records the transferring reply: the bridging sentence ends the transcript.
        turns.append({"role": "bot", "text": reply.text, "action": reply.action, "reason": reply.reason,
                      "ts": time.time()})
    if session.transfer_failure:  # CallSession.transfer_failed: the agent calls back instead
        explanation = f"the human line did not take the call ({session.transfer_failure}); a callback was booked"
    elif reason == "system_fault":
        explanation = "a component of the bot failed; the caller was handed over to keep the call going"
    elif reason == "maintenance":
        explanation = "the bot's server was shutting down (drain timeout passed); the caller was handed over"
    elif last.get("transfer") and last.get("reason") == reason:
        explanation = last.get("explanation") or ""
    else:  # the flow itself transferred (a transfer node, business rules), not the escalation policy
        explanation = f"the flow handed over at node {snapshot.get('node') or reply.node or '?'} ({reason})"
    topic = _topic(intents, history, reply)
    return HandoffPackage(
        handoff_id=uuid.uuid4().hex, call_id=info.call_id, created_at=time.time(),
        caller_number=info.caller_number, language=language, channel=info.channel, action=reply.action,
        reason=reason, explanation=explanation,
        summary=summarize(language=language, caller=info.caller_number, topic=topic, slots=slots,
                          verified=verified, reason=reason, frustration=frustration,
                          last_caller_text=caller_turns[-1].text if caller_turns else "",
                          topic_example=_asked_for(session.transcript, topic)),
        flow_id=snapshot.get("flow_id") or info.flow_id, flow_version=snapshot.get("flow_version"),
        node=snapshot.get("node") or reply.node or "", intent=topic, intents=intents, slots=slots,
        verified=verified, frustration=frustration, confidence=last.get("confidence"),
        transcript=turns, escalation_history=history, callback_id=snapshot.get("callback_id") or session.callback_id,
        caller_profile=dict(snapshot.get("caller_profile") or {}),
    )


async def write_handoff(session: CallSession, reply: BotReply, *, policy: EscalationSettings | None = None) -> \
        str | None:
    """Store the package for this transfer; returns its id (also when Redis is down: it is buffered)."""
    policy = policy or EscalationSettings()
    package = build_package(session, reply, policy)
    if session.store is None:
        log.warning("call %s: no store, handoff package %s not saved", session.info.call_id, package.handoff_id)
        return None
    calls = session.store
    store = HandoffStore(calls.client, calls.keys, calls.buffer, ttl_secs=policy.handoff_ttl_days * 86400,
                         redact=calls.redact, stored_id=calls.stored_id)
    await store.save(package.to_dict())
    return package.handoff_id


def handoff_writer(settings: Settings) -> HandoffWriter:
    """The `write_handoff` hook for CallSession/CallServices, bound to this process's escalation policy."""
    return functools.partial(write_handoff, policy=settings.escalation)
