"""Redis for the whole process: connect (or start an embedded server), flush buffered writes, close."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from voicebot.appkeys import CALL_STORE, EMBEDDED_REDIS, REDIS, REDIS_URL, SETTINGS, STORE_KEYS
from voicebot.store.calls import CallStore
from voicebot.store.connection import connect, ping, resolve_redis_url
from voicebot.store.keys import Keys
from voicebot.store.redact import redact

log = logging.getLogger(__name__)


async def redis_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    url, embedded = await asyncio.to_thread(resolve_redis_url, settings)
    client = connect(url)
    if not await ping(client):
        # Calls still work without Redis (writes are buffered), but say so loudly.
        log.error("redis at %s does not answer; call records will be buffered until it does", url)
    log.info("redis: %s%s", url, " (embedded)" if embedded else "")
    keys = Keys(settings.redis.prefix)
    # Transcripts are redacted before they reach Redis; originals only if an admin-only copy is wanted.
    privacy = settings.privacy
    if privacy.redact_pii:
        store = CallStore(client, keys, redact=redact, keep_originals=privacy.keep_originals_for_admins)
    else:
        store = CallStore(client, keys)
    app[REDIS], app[REDIS_URL], app[EMBEDDED_REDIS] = client, url, embedded
    app[STORE_KEYS], app[CALL_STORE] = keys, store
    flusher = asyncio.create_task(store.buffer.flush_forever())
    try:
        yield
    finally:
        flusher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await flusher
        await store.buffer.flush()
        await client.aclose()
        if embedded:
            embedded.stop()
