"""The engine inside the aiohttp app (as `voicebot serve` runs it): callbacks land in the app's Redis."""

from __future__ import annotations

import json

from aiohttp import web

from tests.dialog.conftest import CLOSED
from voicebot.dialog.app_ctx import DIALOG_ENGINE, dialog_ctx
from voicebot.dialog.loader import fixed_clock
from voicebot.dialog.types import CallerSaid, CallInfo
from voicebot.web.app import create_app


async def test_engine_in_app_stores_callbacks_in_the_apps_redis(settings, redis_client, redis_prefix) -> None:
    app = create_app(settings, load_models=False)
    app.cleanup_ctx.append(dialog_ctx)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        engine = app[DIALOG_ENGINE]
        engine.runtime.clock = fixed_clock(CLOSED)  # after hours
        session = engine.new_session(CallInfo("app-1", caller_number="+48111222333", language="en"))
        await session.start()
        reply = await session.handle(CallerSaid("can I talk to somebody"))
        assert reply.action == "callback"
        (cb_id,) = await redis_client.zrange(f"{redis_prefix}callbacks", 0, -1)
        stored = json.loads(await redis_client.get(f"{redis_prefix}callback:{cb_id}"))
        assert stored["number"] == "+48111222333" and stored["call_id"] == "app-1"
    finally:
        await runner.cleanup()
