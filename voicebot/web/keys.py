"""Typed application keys: what the aiohttp app holds for its handlers."""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis
from aiohttp import web

from voicebot.config import Settings
from voicebot.store.calls import CallStore
from voicebot.store.connection import EmbeddedRedis
from voicebot.store.keys import Keys

SETTINGS = web.AppKey("settings", Settings)
REDIS = web.AppKey("redis", aioredis.Redis)
REDIS_URL = web.AppKey("redis_url", str)
EMBEDDED_REDIS = web.AppKey("embedded_redis", EmbeddedRedis | None)
STORE_KEYS = web.AppKey("store_keys", Keys)
CALL_STORE = web.AppKey("call_store", CallStore)
# Set by voicebot.pipeline.models.models_ctx: the SharedModels instance (ASR/TTS/VAD loaded once).
MODELS = web.AppKey("models", Any)
