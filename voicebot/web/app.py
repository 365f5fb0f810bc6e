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
from voicebot.web import handoffs, health
from voicebot.web.keys import SETTINGS
from voicebot.web.resources import redis_ctx


def create_app(settings: Settings, *, load_models: bool = True) -> web.Application:
    app = web.Application(client_max_size=2 * 1024 * 1024)
    app[SETTINGS] = settings
    app.cleanup_ctx.append(redis_ctx)
    if load_models:
        app.cleanup_ctx.append(_models_ctx)
        app.cleanup_ctx.append(line_services_ctx)  # CallServices shared by every phone line
        app.cleanup_ctx.append(sip_ctx)
        app.cleanup_ctx.append(audiosocket_ctx)
    app.cleanup_ctx.append(twilio_ctx)
    app.add_routes(health.routes)
    app.add_routes(handoffs.routes)
    app.add_routes(audiosocket_web.routes)
    app.add_routes(twilio_web.routes)
    return app


async def _models_ctx(app: web.Application) -> AsyncIterator[None]:
    """Load the speech models once for the whole process (shared by every call)."""
    from voicebot.pipeline.models import models_ctx

    async for _ in models_ctx(app):
        yield
