"""KPI arithmetic on call records in the real Redis: containment of served calls only, NPS, CSAT, FCR, first
response time, handling time split bot/human, cost per contact and the per-day trend."""

from __future__ import annotations

import json
import time

import pytest

from tests.support.call_records import record_call as record
from voicebot.config import KpiSettings
from voicebot.store.calls import CallStore
from voicebot.store.kpis import DAY_S, compute_kpis, nps

COSTS = KpiSettings(bot_cost_per_minute=0.02, agent_cost_per_minute=0.5, agent_minutes_per_transfer=6.0)


def test_nps_is_promoters_minus_detractors() -> None:
    assert nps([10, 9, 8, 7, 6, 0]) == pytest.approx(100 * (2 - 2) / 6)
    assert nps([10, 9, 9, 3]) == 50.0
    assert nps([]) is None


async def test_kpi_arithmetic(call_store: CallStore) -> None:
    now = time.time()
    timings = json.dumps([{"first_audio_ms": 800.0}, {"first_audio_ms": 2000.0}])
    await record(call_store, "a", now - 3600, 120, "contained", "+48600000001", csat=5, nps=10, turn_timings=timings)
    await record(call_store, "b", now - 3000, 60, "abandoned", "+48600000002",
                 turn_timings=json.dumps([{"first_audio_ms": 1200.0}]))
    await record(call_store, "c", now - 2000, 180, "transferred", "+48600000003", transfer_reason="complaint",
                 csat=2, nps=6)
    await record(call_store, "d", now - 1000, 240, "contained", "+48600000001", csat=4, nps=8)  # a's number again
    await record(call_store, "e", now - 8 * DAY_S, 100, "contained", "+48600000004", nps=9)  # its 7 days are over

    k = await compute_kpis(call_store, now - 10 * DAY_S, now, now=now, costs=COSTS)
    assert (k.calls, k.ended, k.contained) == (5, 5, 3)
    assert k.containment == pytest.approx(3 / 5)  # the abandoned call is not the bot's success
    assert k.transfers_by_reason == {"complaint": 1}
    assert k.fcr == 0.5  # a was followed by d from the same number; e was not; b, c, d: windows still open
    assert k.csat == pytest.approx((5 + 2 + 4) / 3) and k.csat_responses == 3
    assert k.nps == pytest.approx(100 * (2 - 1) / 4) and k.nps_responses == 4  # 10, 9 promote; 6 detracts
    assert k.first_response_ms == pytest.approx((800 + 1200) / 2)  # the first turn of each call that has one
    assert k.avg_bot_s == pytest.approx(700 / 5)
    assert k.avg_human_s == pytest.approx(6 * 60 / 5)  # one call handed over, 6 agent minutes, per contact
    bot_cost = 700 / 60 * 0.02
    assert k.cost_per_contact == pytest.approx((bot_cost + 6 * 0.5) / 5)

    days = {d.day: d for d in k.trend}
    e_day = days[(now - 8 * DAY_S) // DAY_S * DAY_S]
    assert (e_day.calls, e_day.fcr, e_day.nps, e_day.csat) == (1, 1.0, 100.0, None)
    assert sum(d.calls for d in k.trend) == 5 and len(k.trend) == 14

    last_day = await compute_kpis(call_store, now - DAY_S, now, now=now, costs=COSTS)
    assert last_day.calls == 4 and last_day.nps == pytest.approx(100 * (1 - 1) / 3)
    assert sum(d.calls for d in last_day.trend) == 5  # the trend still shows the last two weeks
