"""Typed application keys: what the composition root (voicebot/app.py) puts into the aiohttp app for the
handlers and lines. Keys whose type lives above the store are typed through `AppKey[T]` annotations, so
importing this module loads no line, pipeline or web module (web handlers import it; the root imports them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import jinja2
import redis.asyncio as aioredis
from aiohttp import web

from voicebot.config import Settings
from voicebot.drain import Drain
from voicebot.store.audit import AuditLog
from voicebot.store.calls import CallStore
from voicebot.store.connection import EmbeddedRedis
from voicebot.store.flows import FlowStore
from voicebot.store.keys import Keys
from voicebot.store.logins import LoginRateLimit, LoginSession, LoginSessionStore
from voicebot.store.tokens import ApiToken, TokenStore
from voicebot.store.users import User, UserStore

if TYPE_CHECKING:
    from voicebot.dialog.registry import FlowRegistry
    from voicebot.lines.audiosocket import AudioSocketServer
    from voicebot.lines.sip import SipLine
    from voicebot.lines.softphone import SoftphoneServices
    from voicebot.lines.twilio_web import TwilioState
    from voicebot.pipeline.models import SharedModels
    from voicebot.pipeline.services import CallServices
    from voicebot.web.flowcheck import FlowChecker
    from voicebot.web.live import LiveHub

SETTINGS = web.AppKey("settings", Settings)
REDIS = web.AppKey("redis", aioredis.Redis)
REDIS_URL = web.AppKey("redis_url", str)
EMBEDDED_REDIS = web.AppKey("embedded_redis", EmbeddedRedis | None)
STORE_KEYS = web.AppKey("store_keys", Keys)
CALL_STORE = web.AppKey("call_store", CallStore)
# ASR/TTS/VAD loaded once (voicebot.app.models_ctx); None when serving without models.
MODELS: web.AppKey[SharedModels | None] = web.AppKey("models")
# What every phone line hands to run_call: models, dialog engine, store (voicebot.app.line_services_ctx).
CALL_SERVICES: web.AppKey[CallServices] = web.AppKey("call_services")
SIP_LINE: web.AppKey[SipLine] = web.AppKey("sip_line")
AUDIOSOCKET: web.AppKey[AudioSocketServer] = web.AppKey("audiosocket")
TWILIO: web.AppKey[TwilioState] = web.AppKey("twilio")
# The worker's graceful drain (voicebot/drain.py): /health shows it, the lines and calls obey it.
DRAIN = web.AppKey("drain", Drain)

# -- web UI / API state (voicebot.web.state.web_ctx) ------------------------------------------------
USERS = web.AppKey("users", UserStore)
LOGIN_SESSIONS = web.AppKey("login_sessions", LoginSessionStore)
TOKENS = web.AppKey("tokens", TokenStore)
LOGIN_LIMIT = web.AppKey("login_limit", LoginRateLimit)
AUDIT = web.AppKey("audit", AuditLog)
FLOW_STORE = web.AppKey("flow_store", FlowStore)
# Relays Redis pub/sub (ch:calls, ch:flows) to websockets and listeners.
LIVE_HUB: web.AppKey[LiveHub] = web.AppKey("live_hub")
TEMPLATES = web.AppKey("templates", jinja2.Environment)  # voicebot.web.render's templates
# The FlowRegistry of this process's dialog engine; published flows are compiled into it (voicebot.jobs.flow_sync).
FLOW_REGISTRY: web.AppKey[FlowRegistry] = web.AppKey("flow_registry")
# The dialog engine's validation and flow test runner.
FLOW_CHECKER: web.AppKey[FlowChecker] = web.AppKey("flow_checker")
# What browser test calls run on (engine loaded on the first call).
SOFTPHONE: web.AppKey[SoftphoneServices] = web.AppKey("softphone")

# Set by the auth middleware on every request that carries a valid session or API token.
CURRENT_USER = web.RequestKey("current_user", User)
CURRENT_LOGIN_SESSION = web.RequestKey("current_login_session", LoginSession)
# Set instead of CURRENT_LOGIN_SESSION when the request came with an API token.
CURRENT_TOKEN = web.RequestKey("current_token", ApiToken)
