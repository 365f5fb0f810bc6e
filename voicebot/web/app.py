"""The aiohttp application: one factory used by `voicebot serve` and by the tests.

Process-wide resources (Redis, speech models, flows, phone lines) are opened and closed by
`cleanup_ctx` generators, each owned by its component; handlers reach them through typed AppKeys.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from telephony.sip_line import sip_ctx
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
        app.cleanup_ctx.append(sip_ctx)  # after the models: every SIP call runs the pipeline on them
    app.add_routes(health.routes)
    app.add_routes(handoffs.routes)
    return app


async def _models_ctx(app: web.Application) -> AsyncIterator[None]:
    """Load the speech models once for the whole process (shared by every call)."""
    from voicebot.pipeline.models import models_ctx

    async for _ in models_ctx(app):
        yield
