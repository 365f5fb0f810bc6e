"""Typed application keys: what the aiohttp app holds for its handlers."""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis
from aiohttp import web

from voicebot.config import Settings
from voicebot.store.audit import AuditLog
from voicebot.store.calls import CallStore
from voicebot.store.connection import EmbeddedRedis
from voicebot.store.flows import FlowStore
from voicebot.store.keys import Keys
from voicebot.store.sessions import LoginRateLimit, Session, SessionStore
from voicebot.store.tokens import ApiToken, TokenStore
from voicebot.store.users import User, UserStore

SETTINGS = web.AppKey("settings", Settings)
REDIS = web.AppKey("redis", aioredis.Redis)
REDIS_URL = web.AppKey("redis_url", str)
EMBEDDED_REDIS = web.AppKey("embedded_redis", EmbeddedRedis | None)
STORE_KEYS = web.AppKey("store_keys", Keys)
CALL_STORE = web.AppKey("call_store", CallStore)
# Set by voicebot.pipeline.models.models_ctx: the SharedModels instance (ASR/TTS/VAD loaded once).
MODELS = web.AppKey("models", Any)

# -- web UI / API state (voicebot.web.state.web_ctx) ------------------------------------------------
USERS = web.AppKey("users", UserStore)
SESSIONS = web.AppKey("sessions", SessionStore)
TOKENS = web.AppKey("tokens", TokenStore)
LOGIN_LIMIT = web.AppKey("login_limit", LoginRateLimit)
AUDIT = web.AppKey("audit", AuditLog)
FLOW_STORE = web.AppKey("flow_store", FlowStore)
# voicebot.web.live.LiveHub: relays Redis pub/sub (ch:calls, ch:flows) to websockets and listeners.
LIVE_HUB = web.AppKey("live_hub", Any)
# voicebot.web.render.Templates (jinja2 environment)
TEMPLATES = web.AppKey("templates", Any)
# voicebot.dialog.registry.FlowRegistry of this process, set by whoever loads the dialog engine; published
# flows are compiled into it (voicebot.web.flow_sync).
FLOW_REGISTRY = web.AppKey("flow_registry", Any)
# voicebot.web.flowcheck.FlowChecker: the dialog engine's validation and flow test runner
FLOW_CHECKER = web.AppKey("flow_checker", Any)

# voicebot.web.softphone.SoftphoneServices: what browser test calls run on (engine loaded on first call)
SOFTPHONE = web.AppKey("softphone", Any)

# Set by the auth middleware on every request that carries a valid session or API token.
CURRENT_USER = web.RequestKey("current_user", User)
CURRENT_SESSION = web.RequestKey("current_session", Session)
# Set instead of CURRENT_SESSION when the request came with an API token.
CURRENT_TOKEN = web.RequestKey("current_token", ApiToken)
