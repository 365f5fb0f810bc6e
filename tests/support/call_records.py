"""Call records for KPI tests, written the way a live call writes them (CallStore), then moved back in time."""

from __future__ import annotations

from voicebot.store.calls import CallStore


async def record_call(store: CallStore, call_id: str, started: float, duration_s: float, outcome: str, number: str,
                      **fields: object) -> None:
    await store.start_call(call_id, caller_number=number, language="en", channel="sip")
    await store.end_call(call_id, outcome, **{k: str(v) for k, v in fields.items()})
    await store.client.hset(store.keys.call(call_id), mapping={"started_at": str(started),
                                                               "ended_at": str(started + duration_s)})
    await store.client.zadd(store.keys.calls_by_time, {call_id: started})
