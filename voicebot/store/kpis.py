"""Contact-center KPIs computed from the call records in Redis.

Definitions (what supervisors see on the dashboard):
* containment: ended calls the bot served alone (outcome "contained": the caller got an answer or an action done,
  then said goodbye or hung up; a caller who gave up while the bot was lost is "abandoned") / ended calls;
* transfer rate by reason: transferred or callback calls per `transfer_reason` / ended calls;
* average handling time: mean of ended_at - started_at over ended calls; split into the bot's part (the same,
  measured: the bot's leg ends at the transfer) and the human's part, which the bot does not see after a
  transfer: `kpis.agent_minutes_per_transfer` per call handed to a person (a transfer or a callback);
* first response time: mean, over calls whose caller spoke, of the first caller turn's end -> the bot's first
  audio of the answer (`first_audio_ms` of the first entry of the call's `turn_timings`);
* first-contact resolution: calls with a known number and no further call from that number within
  7 days / such calls whose 7-day window is already known (older calls or ones followed by a repeat);
* CSAT: mean post-call survey score (`csat` field on the call hash, 1-5);
* NPS: % promoters (`nps` 9-10) - % detractors (0-6) of the survey's answers, -100..100;
* cost per contact: (bot minutes x bot_cost_per_minute + human minutes x agent_cost_per_minute) / ended calls;
* callbacks pending: members of the `callbacks` zset.

`trend` holds the same numbers per UTC day for the last TREND_DAYS days up to the range's end.
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from voicebot.config import KpiSettings
from voicebot.store.calls import CallStore
from voicebot.store.search import CallFilter, CallRow, search_calls

FCR_WINDOW_S = 7 * 24 * 3600
DAY_S = 24 * 3600
TREND_DAYS = 14
PROMOTER, DETRACTOR = 9, 6  # NPS: 9-10 promote, 0-6 detract


@dataclass
class DayKpis:
    """One day of the trend charts (None: no data that day)."""

    day: float  # UTC midnight, epoch s
    calls: int = 0
    fcr: float | None = None
    csat: float | None = None
    nps: float | None = None
    cost_per_contact: float | None = None


@dataclass
class Kpis:
    since: float
    until: float
    calls: int = 0
    ended: int = 0
    contained: int = 0
    containment: float | None = None
    transfer_rate: float | None = None
    transfers_by_reason: dict[str, int] = field(default_factory=dict)
    avg_handling_s: float | None = None
    avg_bot_s: float | None = None
    avg_human_s: float | None = None  # estimated: agent_minutes_per_transfer per call handed to a person
    first_response_ms: float | None = None
    fcr: float | None = None
    csat: float | None = None
    csat_responses: int = 0
    nps: float | None = None
    nps_responses: int = 0
    cost_per_contact: float | None = None
    callbacks_pending: int = 0
    calls_per_hour: list[tuple[float, int]] = field(default_factory=list)  # (hour start epoch, count)
    trend: list[DayKpis] = field(default_factory=list)


def _f(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def nps(scores: list[float]) -> float | None:
    """Net promoter score of 0-10 answers: % promoters - % detractors."""
    if not scores:
        return None
    promoters = sum(s >= PROMOTER for s in scores)
    detractors = sum(s <= DETRACTOR for s in scores)
    return 100.0 * (promoters - detractors) / len(scores)


def first_response_ms(call: dict[str, str]) -> float | None:
    """The caller's first turn -> the bot's first audio of its answer (ms), from the call's turn timings."""
    try:
        timings = json.loads(call.get("turn_timings") or "[]")
        return float(timings[0]["first_audio_ms"]) if timings else None
    except (ValueError, KeyError, TypeError, IndexError):
        return None


@dataclass
class _Totals:
    """Sums over a set of calls, turned into rates by `rates`."""

    calls: int = 0
    ended: int = 0
    contained: int = 0
    durations: list[float] = field(default_factory=list)
    to_human: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    csat: list[float] = field(default_factory=list)
    nps: list[float] = field(default_factory=list)
    first_response: list[float] = field(default_factory=list)
    fcr_known: int = 0
    fcr_ok: int = 0

    def add(self, row: CallRow, started: float, repeat: bool | None) -> None:
        c = row.call
        self.calls += 1
        ended = _f(c.get("ended_at"))
        if ended is not None:
            self.ended += 1
            self.durations.append(max(0.0, ended - started))
            self.contained += c.get("outcome") == "contained"
            if row.transferred:
                self.to_human += 1
                self.reasons[c.get("transfer_reason") or "unknown"] += 1
        for name, into in (("csat", self.csat), ("nps", self.nps)):
            if (score := _f(c.get(name))) is not None:
                into.append(score)
        if (ms := first_response_ms(c)) is not None:
            self.first_response.append(ms)
        if repeat is not None:
            self.fcr_known += 1
            self.fcr_ok += not repeat

    def human_s(self, costs: KpiSettings) -> float:
        return self.to_human * costs.agent_minutes_per_transfer * 60

    def cost_per_contact(self, costs: KpiSettings) -> float | None:
        if not self.ended:
            return None
        bot_min = sum(self.durations) / 60
        human_min = self.human_s(costs) / 60
        return (bot_min * costs.bot_cost_per_minute + human_min * costs.agent_cost_per_minute) / self.ended


async def compute_kpis(store: CallStore, since: float, until: float, now: float | None = None,
                       costs: KpiSettings | None = None) -> Kpis:
    now = time.time() if now is None else now
    costs = costs or KpiSettings()
    first_day = (int(until // DAY_S) - TREND_DAYS + 1) * DAY_S
    # Repeat calls after the range still count against FCR, so read a week past its end.
    rows = await search_calls(store, CallFilter(since=min(since, first_day), until=until + FCR_WINDOW_S,
                                                limit=10**6))
    by_number: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        started = _f(r.call.get("started_at"))
        if started is not None and r.call.get("caller_number"):
            by_number[r.call["caller_number"]].append(started)
    total = _Totals()
    days: dict[int, _Totals] = defaultdict(_Totals)
    hours: Counter[int] = Counter()
    for r in rows:
        started = _f(r.call.get("started_at"))
        if started is None or started > until:
            continue
        repeat: bool | None = None
        if number := r.call.get("caller_number"):
            repeated = any(started < t <= started + FCR_WINDOW_S for t in by_number[number])
            repeat = repeated if repeated or now - started >= FCR_WINDOW_S else None
        if started >= first_day:
            days[int(started // DAY_S) * DAY_S].add(r, started, repeat)
        if started >= since:
            total.add(r, started, repeat)
            hours[int(started // 3600) * 3600] += 1

    k = Kpis(since=since, until=until, calls=total.calls, ended=total.ended, contained=total.contained)
    if total.ended:
        k.containment = total.contained / total.ended
        k.transfer_rate = sum(total.reasons.values()) / total.ended
        k.avg_handling_s = k.avg_bot_s = _mean(total.durations)
        k.avg_human_s = total.human_s(costs) / total.ended
    k.transfers_by_reason = dict(total.reasons.most_common())
    k.fcr = total.fcr_ok / total.fcr_known if total.fcr_known else None
    k.csat, k.csat_responses = _mean(total.csat), len(total.csat)
    k.nps, k.nps_responses = nps(total.nps), len(total.nps)
    k.first_response_ms = _mean(total.first_response)
    k.cost_per_contact = total.cost_per_contact(costs)
    k.callbacks_pending = int(await store.client.zcard(store.keys.callbacks))
    first = int(since // 3600) * 3600
    last = int(min(until, now) // 3600) * 3600
    k.calls_per_hour = [(float(h), hours.get(h, 0)) for h in range(first, last + 1, 3600)][-168:]
    for day in range(first_day, int(until // DAY_S) * DAY_S + 1, DAY_S):
        t = days.get(day, _Totals())
        k.trend.append(DayKpis(day=float(day), calls=t.calls, fcr=t.fcr_ok / t.fcr_known if t.fcr_known else None,
                               csat=_mean(t.csat), nps=nps(t.nps), cost_per_contact=t.cost_per_contact(costs)))
    return k
