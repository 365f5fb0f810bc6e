"""The aiohttp application: one factory used by `voicebot serve` and by the tests.

Process-wide resources (Redis, speech models, flows, phone lines) are opened and closed by
`cleanup_ctx` generators, each owned by its component; handlers reach them through typed AppKeys.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from telephony import audiosocket_web, twilio_web
from telephony.audiosocket_web import audiosocket_ctx
from telephony.line_services import line_services_ctx
from telephony.sip_line import sip_ctx
from telephony.twilio_web import twilio_ctx
from voicebot.config import Settings
from voicebot.web import account, api, auth, dashboard, flows_admin, handoffs, health, softphone, supervisor
from voicebot.web.keys import SETTINGS
from voicebot.web.render import STATIC_DIR
from voicebot.web.resources import redis_ctx
from voicebot.web.retention_job import retention_ctx
from voicebot.web.security import security_middleware
from voicebot.web.state import bootstrap_ctx, web_ctx


def create_app(settings: Settings, *, load_models: bool = True, bootstrap: bool = False) -> web.Application:
    """`bootstrap`: import flow files and create the first admin (only `voicebot serve` asks for it)."""
    # keepalive_timeout also bounds how long aiohttp waits for a new connection's request headers (it is
    # armed when the connection opens and closes an idle handler): half-sent requests cannot pile up.
    app = web.Application(client_max_size=2 * 1024 * 1024, middlewares=[security_middleware],
                          handler_args={"keepalive_timeout": settings.web.header_timeout_secs})
    app[SETTINGS] = settings
    app.cleanup_ctx.append(redis_ctx)
    app.cleanup_ctx.append(web_ctx)
    if bootstrap:
        app.cleanup_ctx.append(bootstrap_ctx)
        app.cleanup_ctx.append(retention_ctx)
    if load_models:
        app.cleanup_ctx.append(_models_ctx)
        app.cleanup_ctx.append(line_services_ctx)  # CallServices shared by every phone line
        app.cleanup_ctx.append(sip_ctx)
        app.cleanup_ctx.append(audiosocket_ctx)
    app.cleanup_ctx.append(twilio_ctx)
    app.add_routes(health.routes)
    route_tables = (auth.routes, account.routes, supervisor.routes, dashboard.routes, flows_admin.routes, api.routes,
                    handoffs.routes, softphone.routes, audiosocket_web.routes, twilio_web.routes)
    for table in route_tables:
        app.add_routes(table)
    app.router.add_static("/static/", STATIC_DIR, name="static")
    return app


async def _models_ctx(app: web.Application) -> AsyncIterator[None]:
    """Load the speech models once for the whole process (shared by every call)."""
    from voicebot.pipeline.models import models_ctx

    async for _ in models_ctx(app):
        yield
