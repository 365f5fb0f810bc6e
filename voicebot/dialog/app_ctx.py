"""Plugging the dialog engine into the aiohttp app: one engine per process, loaded at start-up.

`app.cleanup_ctx.append(dialog_ctx)` after `redis_ctx`: the engine then stores callback requests in the
process's Redis (sharing the call store's write buffer, so they survive an outage like transcripts do)
and uses the real escalation policy when it is installed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from voicebot.dialog.loader import FlowEngine, load_engine, make_tracker_factory
from voicebot.store.callbacks import CallbackStore
from voicebot.web.keys import CALL_STORE, REDIS, SETTINGS, STORE_KEYS

DIALOG_ENGINE = web.AppKey("dialog_engine", FlowEngine)


async def dialog_ctx(app: web.Application) -> AsyncIterator[None]:
    callbacks = CallbackStore(app[REDIS], app[STORE_KEYS], app[CALL_STORE].buffer)
    engine = load_engine(app[SETTINGS], make_tracker_factory(), callbacks=callbacks)
    app[DIALOG_ENGINE] = engine
    yield
    await engine.close()
