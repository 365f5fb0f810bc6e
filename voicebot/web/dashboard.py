"""KPI dashboard: numbers plus server-rendered SVG charts."""

from __future__ import annotations

import datetime as dt
import time

from aiohttp import web

from voicebot.appkeys import CALL_STORE
from voicebot.store.kpis import Kpis, compute_kpis
from voicebot.store.search import CallFilter
from voicebot.web.calls_view import filter_from_query
from voicebot.web.render import render
from voicebot.web.svg import bar_chart, hbar_chart

routes = web.RouteTableDef()
DEFAULT_RANGE_S = 24 * 3600


async def kpis_for(request: web.Request, f: CallFilter | None = None) -> Kpis:
    f = f or filter_from_query(request.query)
    now = time.time()
    until = min(f.until, now)
    since = f.since or until - DEFAULT_RANGE_S
    return await compute_kpis(request.app[CALL_STORE], since, until, now=now)


def charts(k: Kpis) -> dict[str, str]:
    hours = [(dt.datetime.fromtimestamp(h, dt.UTC).strftime("%H:00"), float(n)) for h, n in k.calls_per_hour]
    every = max(1, len(hours) // 12)
    ended = k.ended or 1
    return {
        "per_hour": bar_chart("Calls per hour (UTC)", hours, label_every=every),
        "reasons": hbar_chart("Transfer rate by reason", [(r, n / ended) for r, n in k.transfers_by_reason.items()],
                              pct=True),
        "outcomes": hbar_chart("Ended calls", [("contained", float(k.contained)),
                                               ("to a human", float(sum(k.transfers_by_reason.values()))),
                                               ("other", float(k.ended - k.contained
                                                               - sum(k.transfers_by_reason.values())))]),
    }


@routes.get("/supervisor/kpis")
async def kpi_page(request: web.Request) -> web.Response:
    k = await kpis_for(request)
    return render(request, "kpis.html", k=k, charts=charts(k), q=request.query)
