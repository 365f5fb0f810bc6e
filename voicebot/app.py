"""The composition root: the one place that assembles a `voicebot serve` process (and the tests' apps).

Settings come in; Redis, the speech models, the dialog engine with its escalation policy, the phone lines and
the web UI/API are built here and closed again, each by a `cleanup_ctx` registered below in start-up order.
Handlers and lines reach what was built through the typed AppKeys of voicebot/appkeys.py. Nothing imports
this module except the CLI and tests: every arrow runs from here down (telephony/ on the wire, voicebot/lines
on top of it, then pipeline -> dialog -> escalation -> store, and web serving HTTP over the store).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

from aiohttp import web

from voicebot.appkeys import (
    CALL_SERVICES,
    CALL_STORE,
    DRAIN,
    EMBEDDED_REDIS,
    FLOW_REGISTRY,
    FLOW_STORE,
    MODELS,
    REDIS,
    REDIS_URL,
    SETTINGS,
    SOFTPHONE,
    STORE_KEYS,
)
from voicebot.callback_offer import CallbackOffer
from voicebot.config import Settings
from voicebot.dialog.crm_server import start_demo_crm
from voicebot.dialog.loader import load_engine
from voicebot.drain import Drain, worker_id
from voicebot.escalation.handoff import handoff_writer
from voicebot.escalation.routing import Router
from voicebot.escalation.tracker import make_tracker
from voicebot.jobs.flow_sync import apply_live_flows, follow_published_flows
from voicebot.jobs.retention import retention_ctx
from voicebot.lines import audiosocket_web, softphone, twilio_web
from voicebot.lines.audiosocket_web import audiosocket_ctx
from voicebot.lines.callback_dialer import callback_dialer_ctx
from voicebot.lines.sip import sip_ctx
from voicebot.lines.softphone import SoftphoneServices
from voicebot.lines.twilio_web import twilio_ctx
from voicebot.pipeline.models import SharedModels
from voicebot.pipeline.services import CallServices
from voicebot.store.callers import CallerStore
from voicebot.store.calls import CallStore
from voicebot.store.connection import connect, ping, resolve_redis_url
from voicebot.store.keys import Keys
from voicebot.store.recordings import RecordingIndex
from voicebot.store.redact import redact
from voicebot.store.surveys import SurveyPicker
from voicebot.web import (
    account,
    api,
    auth,
    callbacks_view,
    dashboard,
    flows_admin,
    handoffs,
    health,
    privacy,
    supervisor,
)
from voicebot.web.render import STATIC_DIR
from voicebot.web.security import security_middleware
from voicebot.web.state import bootstrap_ctx, web_ctx

log = logging.getLogger(__name__)


def create_app(settings: Settings, *, load_models: bool = True, bootstrap: bool = False,
               demo_crm: bool = False, drain: Drain | None = None) -> web.Application:
    """`bootstrap`: import flow files and create the first admin (only `voicebot serve` asks for it).
    `demo_crm`: also serve the demo CRM on dialog.crm_url's host and port (`voicebot serve --demo-crm`); with
    no dialog.crm_url configured, calls get the demo CRM anyway, in this process on a free port.
    `drain`: the process's graceful drain (voicebot/lifecycle.py runs it on SIGTERM); a new one by default."""
    # keepalive_timeout also bounds how long aiohttp waits for a new connection's request headers (it is
    # armed when the connection opens and closes an idle handler): half-sent requests cannot pile up.
    app = web.Application(client_max_size=2 * 1024 * 1024, middlewares=[security_middleware],
                          handler_args={"keepalive_timeout": settings.web.header_timeout_secs})
    app[SETTINGS] = settings
    app[DRAIN] = drain or Drain(worker_id(settings))
    app[SOFTPHONE] = SoftphoneServices(phone_services)
    if demo_crm or (load_models and not settings.dialog.crm_url):
        app.cleanup_ctx.append(demo_crm_ctx)  # first: the dialog engine reads the CRM's URL when it loads
    app.cleanup_ctx.append(redis_ctx)
    app.cleanup_ctx.append(web_ctx)
    app.cleanup_ctx.append(flow_sync_ctx)
    if bootstrap:
        app.cleanup_ctx.append(bootstrap_ctx)
        app.cleanup_ctx.append(retention_ctx)
    app.cleanup_ctx.append(twilio_ctx)  # before the dialer, which places Twilio callers' callbacks through it
    if load_models:
        app.cleanup_ctx.append(models_ctx)
        app.cleanup_ctx.append(line_services_ctx)  # CallServices shared by every phone line
        app.cleanup_ctx.append(sip_ctx)
        app.cleanup_ctx.append(callback_dialer_ctx)  # places booked callbacks over the SIP line or Twilio
        app.cleanup_ctx.append(audiosocket_ctx)
    app.add_routes(health.routes)
    route_tables = (auth.routes, account.routes, supervisor.routes, dashboard.routes, flows_admin.routes, api.routes,
                    handoffs.routes, softphone.routes, audiosocket_web.routes, twilio_web.routes, privacy.routes,
                    callbacks_view.routes)
    for table in route_tables:
        app.add_routes(table)
    app.router.add_static("/static/", STATIC_DIR, name="static")
    return app


async def flow_sync_ctx(app: web.Application) -> AsyncIterator[None]:
    """Published flows reach this process's registries (after web_ctx: it listens on the web's LiveHub)."""
    follow_published_flows(app)
    yield


async def redis_ctx(app: web.Application) -> AsyncIterator[None]:
    """Redis for the whole process: connect (or start an embedded server), flush buffered writes, close."""
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


async def models_ctx(app: web.Application) -> AsyncIterator[None]:
    """Load the speech models once for the whole process, in a thread at start-up; every call shares them."""
    models = await asyncio.to_thread(SharedModels.load, app[SETTINGS])
    app[MODELS] = models
    try:
        yield
    finally:
        models.close()


def assemble_services(settings: Settings, models: SharedModels | None, store: CallStore | None,
                      drain: Drain | None = None) -> CallServices:
    """The `CallServices` every line (SIP, AudioSocket, Twilio, the admin softphone, `voicebot call`'s WAV files)
    hands to `run_call`: the models, the dialog engine with its escalation policy, the store, handoffs and
    callback booking, and the worker's drain (`voicebot serve` only). The caller closes `services.dialog` when
    done (its CRM client)."""
    # One callback store for the dialog (outside business hours) and the lines (a failed transfer).
    callbacks = CallbackOffer.for_store(settings, store) if store is not None else None
    callers = CallerStore(store.client, store.keys, store.buffer, store.redact) \
        if store is not None and settings.privacy.caller_profiles else None
    surveys = SurveyPicker(store.client, store.keys, settings.survey,
                           retention_days=settings.privacy.retention_days) if store is not None else None
    router = Router.for_store(settings, store)
    engine = load_engine(settings, make_tracker, callbacks=callbacks.store if callbacks else None, callers=callers,
                         surveys=surveys, staffed=router.staffed)
    return CallServices(
        settings=settings, models=models, dialog=engine, store=store,
        write_handoff=handoff_writer(settings), callbacks=callbacks, drain=drain,
        recordings=RecordingIndex(store) if store is not None and settings.privacy.record_audio else None,
        router=router,
    )


def build_services(app: web.Application) -> CallServices:
    return assemble_services(app[SETTINGS], app[MODELS], app.get(CALL_STORE), app.get(DRAIN))


async def build_live_services(app: web.Application) -> CallServices:
    """`build_services`, then switch the engine to the versions that are live in Redis."""
    services = await asyncio.to_thread(build_services, app)
    if FLOW_STORE in app:
        await apply_live_flows(app[FLOW_STORE], services.dialog.registry)
    return services


async def phone_services(app: web.Application) -> CallServices:
    """What a browser softphone call runs on: the phone lines' services when `voicebot serve` built them."""
    return app.get(CALL_SERVICES) or await build_live_services(app)


async def line_services_ctx(app: web.Application) -> AsyncIterator[None]:
    """Build the lines' shared `CallServices` once, after the models: the dialog engine is compiled once and
    its registry follows later publications (voicebot.jobs.flow_sync), so calls pick up a published flow."""
    built = CALL_SERVICES not in app
    if built:
        app[CALL_SERVICES] = await build_live_services(app)
        app[FLOW_REGISTRY] = app[CALL_SERVICES].dialog.registry
    yield
    close = getattr(app[CALL_SERVICES].dialog, "close", None) if built else None
    if close is not None:
        await close()  # the engine's HTTP client (CRM webhooks)


async def demo_crm_ctx(app: web.Application) -> AsyncIterator[None]:
    """The demo CRM in the same event loop: on the host/port of dialog.crm_url, or on a free port (and then the
    app's settings point dialog.crm_url at it) when none is configured."""
    settings = app[SETTINGS]
    if settings.dialog.crm_url:
        url = urlsplit(settings.dialog.crm_url)
        crm = await start_demo_crm(url.hostname or "127.0.0.1", url.port or 80)
    else:
        crm = await start_demo_crm()
        app[SETTINGS] = with_crm_url(settings, crm.url)
    print(f"voicebot: demo CRM at {crm.url}/", flush=True)
    yield
    await crm.stop()


@contextlib.asynccontextmanager
async def crm_settings(settings: Settings) -> AsyncIterator[Settings]:
    """`settings` whose dialog.crm_url answers: as configured, else the demo CRM started here for the duration."""
    if settings.dialog.crm_url:
        yield settings
        return
    crm = await start_demo_crm()
    try:
        yield with_crm_url(settings, crm.url)
    finally:
        await crm.stop()


def with_crm_url(settings: Settings, url: str) -> Settings:
    return settings.model_copy(update={"dialog": settings.dialog.model_copy(update={"crm_url": url})})
