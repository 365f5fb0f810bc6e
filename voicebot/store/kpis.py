"""Contact-center KPIs computed from the call records in Redis.

Definitions (what supervisors see on the dashboard):
* containment: ended calls finished by the bot alone (outcome "contained") / ended calls;
* transfer rate by reason: transferred or callback calls per `transfer_reason` / ended calls;
* average handling time: mean of ended_at - started_at over ended calls;
* first-contact resolution: calls with a known number and no further call from that number within
  7 days / such calls whose 7-day window is already known (older calls or ones followed by a repeat);
* CSAT: mean post-call survey score (`csat` field on the call hash, 1-5);
* callbacks pending: members of the `callbacks` zset.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from voicebot.store.calls import CallStore
from voicebot.store.search import CallFilter, search_calls

FCR_WINDOW_S = 7 * 24 * 3600


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
    fcr: float | None = None
    csat: float | None = None
    csat_responses: int = 0
    callbacks_pending: int = 0
    calls_per_hour: list[tuple[float, int]] = field(default_factory=list)  # (hour start epoch, count)


def _f(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


async def compute_kpis(store: CallStore, since: float, until: float, now: float | None = None) -> Kpis:
    now = time.time() if now is None else now
    # Repeat calls after the range still count against FCR, so read a week past its end.
    rows = await search_calls(store, CallFilter(since=since, until=until + FCR_WINDOW_S, limit=10**6))
    by_number: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        started = _f(r.call.get("started_at"))
        if started is not None and r.call.get("caller_number"):
            by_number[r.call["caller_number"]].append(started)
    k = Kpis(since=since, until=until)
    durations, scores, hours = [], [], Counter()
    fcr_known = fcr_ok = 0
    reasons: Counter[str] = Counter()
    for r in rows:
        c = r.call
        started = _f(c.get("started_at"))
        if started is None or not since <= started <= until:
            continue
        k.calls += 1
        hours[int(started // 3600) * 3600] += 1
        ended = _f(c.get("ended_at"))
        if ended is not None:
            k.ended += 1
            durations.append(max(0.0, ended - started))
            if c.get("outcome") == "contained":
                k.contained += 1
            if r.transferred:
                reasons[c.get("transfer_reason") or "unknown"] += 1
        score = _f(c.get("csat"))
        if score is not None:
            scores.append(score)
        number = c.get("caller_number")
        if number:
            repeat = any(started < t <= started + FCR_WINDOW_S for t in by_number[number])
            if repeat or now - started >= FCR_WINDOW_S:
                fcr_known += 1
                fcr_ok += not repeat
    if k.ended:
        k.containment = k.contained / k.ended
        k.transfer_rate = sum(reasons.values()) / k.ended
        k.avg_handling_s = sum(durations) / len(durations)
    k.transfers_by_reason = dict(reasons.most_common())
    k.fcr = fcr_ok / fcr_known if fcr_known else None
    k.csat = sum(scores) / len(scores) if scores else None
    k.csat_responses = len(scores)
    k.callbacks_pending = int(await store.client.zcard(store.keys.callbacks))
    first = int(since // 3600) * 3600
    last = int(min(until, now) // 3600) * 3600
    k.calls_per_hour = [(float(h), hours.get(h, 0)) for h in range(first, last + 1, 3600)][-168:]
    return k
