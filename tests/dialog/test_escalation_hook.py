"""The dialog shows every understood caller turn to the call's escalation tracker and obeys its decision.

The tracker here is a small rule written for this test against the `EscalationTracker` protocol (the real
policy lives on the escalation branch); it records what it was shown.
"""

from __future__ import annotations

from voicebot.config import Settings
from voicebot.dialog.escalation import EscalationDecision, TurnObservation
from voicebot.dialog.schema import Flow
from voicebot.dialog.types import CallerDtmf, CallerSaid, CallInfo, Prosody


class TwoStrikes:
    """Transfers for 'frustration' after two unusable turns in a row."""

    def __init__(self, settings: Settings, flow: Flow) -> None:
        self.flow_id = flow.id
        self.seen: list[TurnObservation] = []

    def observe(self, obs: TurnObservation) -> EscalationDecision:
        self.seen.append(obs)
        strikes = sum(1 for _ in self._trailing_no_matches())
        frustration = min(1.0, 0.4 * strikes)
        return EscalationDecision(transfer=strikes >= 2, reason="frustration" if strikes >= 2 else None,
                                  frustration=frustration, signals={"no_match": frustration})

    def _trailing_no_matches(self):  # type: ignore[no-untyped-def]
        for obs in reversed(self.seen):
            if not obs.no_match:
                return
            yield obs

    def history(self) -> list[dict]:
        return [{"no_match": o.no_match} for o in self.seen]


async def test_tracker_sees_each_turn_and_its_transfer_wins(engine_factory) -> None:
    trackers: list[TwoStrikes] = []

    def factory(settings: Settings, flow: Flow) -> TwoStrikes:
        trackers.append(TwoStrikes(settings, flow))
        return trackers[-1]

    engine = engine_factory(tracker_factory=factory)
    session = engine.new_session(CallInfo("e1", language="en"))
    await session.start()
    loud = Prosody(rms_db=-12.0, pitch_hz=220.0, speech_rate=4.0, duration_s=1.5)
    ok = await session.handle(CallerSaid("where is my order", asr_confidence=0.93, prosody=loud, barge_in=True))
    assert ok.action == "continue" and ok.frustration == 0.0
    first = await session.handle(CallerSaid("purple elephants dance", asr_confidence=0.4))
    assert first.action == "continue" and first.frustration == 0.4 and first.signals == {"no_match": 0.4}
    second = await session.handle(CallerDtmf("12"))
    assert second.action == "transfer" and second.reason == "frustration" and second.frustration == 0.8
    assert "I'll pass on everything" in second.text and "order number" not in second.text

    (tracker,) = trackers
    assert tracker.flow_id == "customer_service"
    o1, o2, o3 = tracker.seen
    assert (o1.intent, o1.asr_confidence, o1.prosody, o1.barge_in, o1.no_match) == (
        "order_status", 0.93, loud, True, False)
    assert (o2.no_match, o2.reprompts, o2.language) == (True, 1, "en")
    assert (o3.text, o3.no_match, o3.reprompts, o3.asr_confidence) == ("[DTMF 12]", True, 2, None)
    assert session.snapshot()["reason"] == "frustration"
    await engine.close()


async def test_without_a_tracker_the_flow_still_transfers_on_its_own(engine_factory) -> None:
    engine = engine_factory()  # tracker_factory=None: the built-in no-op tracker
    session = engine.new_session(CallInfo("e2", language="pl"))
    await session.start()
    replies = [await session.handle(CallerSaid(t)) for t in ("fioletowe słonie", "bla bla", "banan")]
    assert [r.action for r in replies] == ["continue", "continue", "transfer"]
    assert replies[-1].reason == "no_match" and all(r.frustration == 0.0 for r in replies)
    await engine.close()


async def test_a_slot_answer_is_not_reported_as_a_low_confidence_intent(engine_factory) -> None:
    trackers: list[TwoStrikes] = []
    engine = engine_factory(tracker_factory=lambda s, f: trackers.append(TwoStrikes(s, f)) or trackers[-1])
    session = engine.new_session(CallInfo("e3", language="pl"))
    await session.start()
    await session.handle(CallerSaid("gdzie jest moje zamówienie"))
    reply = await session.handle(CallerSaid("cztery osiem jeden pięć dwa", asr_confidence=0.8))
    assert reply.intent is None and reply.confidence is None and reply.slots["order_number"] == "48152"
    obs = trackers[0].seen[-1]
    assert (obs.intent, obs.nlu_confidence, obs.no_match, obs.asr_confidence) == (None, None, False, 0.8)
    await engine.close()
