"""KPI dashboard: numbers against their targets ([kpis] in the config) plus server-rendered SVG charts."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

from aiohttp import web

from voicebot.appkeys import CALL_STORE, SETTINGS
from voicebot.config import KpiSettings
from voicebot.store.kpis import Kpis, compute_kpis
from voicebot.store.search import CallFilter
from voicebot.web.calls_view import filter_from_query
from voicebot.web.render import render
from voicebot.web.svg import bar_chart, hbar_chart, line_chart

routes = web.RouteTableDef()
DEFAULT_RANGE_S = 24 * 3600


async def kpis_for(request: web.Request, f: CallFilter | None = None) -> Kpis:
    f = f or filter_from_query(request.query)
    now = time.time()
    until = min(f.until, now)
    since = f.since or until - DEFAULT_RANGE_S
    return await compute_kpis(request.app[CALL_STORE], since, until, now=now, costs=request.app[SETTINGS].kpis)


@dataclass(frozen=True)
class Target:
    """One KPI against its target: what the card shows and whether the target is met."""

    key: str  # element id suffix: kpi-{key}
    label: str
    shown: str
    goal: str  # "> 80%"
    met: bool | None  # None: no data yet


def targets(k: Kpis, t: KpiSettings) -> list[Target]:
    def shown(value: float | None, fmt: str) -> str:
        return "–" if value is None else fmt.format(value)

    def above(value: float | None, goal: float) -> bool | None:
        return None if value is None else value > goal

    cost_met = None if k.cost_per_contact is None or not t.target_cost_per_contact else \
        k.cost_per_contact <= t.target_cost_per_contact
    return [
        Target("fcr", "first-contact resolution", shown(None if k.fcr is None else 100 * k.fcr, "{:.0f}%"),
               f"> {100 * t.target_fcr:.0f}%", above(k.fcr, t.target_fcr)),
        Target("csat", f"CSAT ({k.csat_responses} answers)", shown(k.csat, "{:.1f}"), f"> {t.target_csat:g}",
               above(k.csat, t.target_csat)),
        Target("nps", f"NPS ({k.nps_responses} answers)", shown(k.nps, "{:+.0f}"), f"> {t.target_nps:+g}",
               above(k.nps, t.target_nps)),
        Target("cost", "cost per contact", shown(k.cost_per_contact, "{:.2f} " + t.currency),
               f"≤ {t.target_cost_per_contact:.2f} {t.currency}" if t.target_cost_per_contact else "no target",
               cost_met),
    ]


def charts(k: Kpis, t: KpiSettings) -> dict[str, str]:
    hours = [(dt.datetime.fromtimestamp(h, dt.UTC).strftime("%H:00"), float(n)) for h, n in k.calls_per_hour]
    every = max(1, len(hours) // 12)
    ended = k.ended or 1
    days = [dt.datetime.fromtimestamp(d.day, dt.UTC).strftime("%d.%m") for d in k.trend]
    day_every = max(1, len(days) // 7)

    def trend(title: str, values: list[float | None], target: float | None, unit: str = "") -> str:
        return line_chart(title, list(zip(days, values, strict=True)), target=target, unit=unit,
                          label_every=day_every)

    return {
        "per_hour": bar_chart("Calls per hour (UTC)", hours, label_every=every),
        "reasons": hbar_chart("Transfer rate by reason", [(r, n / ended) for r, n in k.transfers_by_reason.items()],
                              pct=True),
        "outcomes": hbar_chart("Ended calls", [("contained", float(k.contained)),
                                               ("to a human", float(sum(k.transfers_by_reason.values()))),
                                               ("other", float(k.ended - k.contained
                                                               - sum(k.transfers_by_reason.values())))]),
        "trend_fcr": trend("First-contact resolution per day (%)",
                           [None if d.fcr is None else 100 * d.fcr for d in k.trend], 100 * t.target_fcr, "%"),
        "trend_csat": trend("CSAT per day", [d.csat for d in k.trend], t.target_csat),
        "trend_nps": trend("NPS per day", [d.nps for d in k.trend], t.target_nps),
        "trend_cost": trend(f"Cost per contact per day ({t.currency})", [d.cost_per_contact for d in k.trend],
                            t.target_cost_per_contact or None),
    }


@routes.get("/supervisor/kpis")
async def kpi_page(request: web.Request) -> web.Response:
    k = await kpis_for(request)
    costs = request.app[SETTINGS].kpis
    return render(request, "kpis.html", k=k, targets=targets(k, costs), charts=charts(k, costs), q=request.query)
