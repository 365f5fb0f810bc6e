"""Twilio endpoints on the aiohttp server.

    POST /twilio/voice   the number's voice webhook (optionally ?language=pl): TwiML <Connect><Stream>
                         to our websocket, passing the caller's number and language as stream parameters
    GET  /twilio/media   the Media Streams websocket: one `run_call` per stream

    POST /twilio/after-stream  <Connect action>: once the stream ends, hang up or dial the human line
    POST /twilio/voice?callback=ID      a callback we placed was answered: stream it into the callback flow
    POST /twilio/callback-status        the StatusCallback of a callback we placed (busy, no-answer...)

Twilio drives calls only with `twilio.auth_token` configured: the server refuses to start with Twilio
enabled and no token. Every webhook and the websocket upgrade must carry a valid `X-Twilio-Signature`;
the stream's `start` must carry the per-call token the voice webhook issued (twilio_signature.py); a
websocket with an `Origin` (a browser: Twilio sends none) is refused. Every inbound message is validated
(twilio_messages.py: SIDs, parameters, numbers); a bad one is logged and skipped, never fatal.

If the bot cannot run the call (models not loaded, the pipeline raised) the caller is sent to the human
line: through the REST API when credentials are configured, else by the <Connect action> TwiML.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from functools import partial

import aiohttp
from aiohttp import web

from telephony import twilio_messages as tm
from telephony import twilio_signature
from telephony.twilio_rest import TwilioRest, after_stream_twiml, stream_twiml
from voicebot.appkeys import CALL_SERVICES, CALL_STORE, DRAIN, REDIS, SETTINGS, STORE_KEYS, TWILIO
from voicebot.dialog.types import CallInfo
from voicebot.lines.leg_outcome import LANGUAGES, LegOutcomes
from voicebot.lines.switch_access import switch_endpoint
from voicebot.lines.twilio import TwilioLine
from voicebot.lines.voicemail import VOICEMAIL, answered_by_machine
from voicebot.pipeline.call import run_call
from voicebot.store.callbacks import OPEN_STATUSES, CallbackRequest, callback_store

log = logging.getLogger(__name__)

START_TIMEOUT_SECS = 10.0
MAX_BAD_MESSAGES_LOGGED = 5  # per stream; a flood of junk must not flood the log
CALLBACK_ID = re.compile(r"[0-9a-f]{16}")  # CallbackRequest.id
# Twilio's CallStatus values (StatusCallback): the last four end a call that was never answered, or was.
CALL_STATUSES = ("queued", "initiated", "ringing", "in-progress", "completed", "busy", "no-answer", "failed",
                 "canceled")


@dataclass
class TwilioState:
    rest: TwilioRest
    outcomes: LegOutcomes
    active: int = 0
    bad_messages: int = 0  # total since start, for diagnostics


routes = web.RouteTableDef()


async def twilio_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    if settings.twilio.enabled and not settings.twilio.auth_token:
        # Settings validation says the same; this also covers settings built without it (model_copy).
        raise RuntimeError("twilio.enabled is true but twilio.auth_token is empty: anyone could drive calls. "
                           "Set env VOICEBOT_TWILIO_AUTH_TOKEN, or twilio.enabled = false")
    async with aiohttp.ClientSession() as session:
        app[TWILIO] = TwilioState(TwilioRest(settings.twilio, session), LegOutcomes(app[REDIS], app[STORE_KEYS]))
        yield


def _state(request: web.Request) -> TwilioState:
    if not request.app[SETTINGS].twilio.enabled or TWILIO not in request.app:
        raise web.HTTPNotFound(text="twilio is disabled (twilio.enabled)\n")
    return request.app[TWILIO]


def _public_urls(request: web.Request, websocket: bool = False) -> list[str]:
    """The URLs Twilio may have signed for this request: as seen through a proxy, and as configured."""
    proto = request.headers.get("X-Forwarded-Proto", request.scheme).split(",")[0].strip()
    host = request.headers.get("X-Forwarded-Host", request.host).split(",")[0].strip()
    if websocket:
        proto = "wss" if proto in ("https", "wss") else "ws"
    urls = [f"{proto}://{host}{request.path_qs}"]
    stream_url = request.app[SETTINGS].twilio.stream_url
    if websocket and stream_url:
        urls.append(stream_url + (f"?{request.query_string}" if request.query_string else ""))
    return urls


def _check_signature(request: web.Request, params: dict[str, str], websocket: bool = False) -> None:
    """Only Twilio may drive calls: refuse unsigned or forged requests (and everything without a token)."""
    token = request.app[SETTINGS].twilio.auth_token
    given = request.headers.get("X-Twilio-Signature", "")
    if not token or not twilio_signature.is_valid(_public_urls(request, websocket), params, token, given):
        log.warning("twilio: refusing %s %s: bad or missing X-Twilio-Signature", request.method, request.path)
        raise web.HTTPForbidden(text="invalid X-Twilio-Signature\n")


async def _signed_form(request: web.Request) -> dict[str, str]:
    form = {k: str(v) for k, v in (await request.post()).items()}
    _check_signature(request, form)
    return form


def _call_sid(form: dict[str, str]) -> str:
    call_sid = form.get("CallSid", "")
    if not tm.CALL_SID.fullmatch(call_sid):
        raise web.HTTPBadRequest(text="CallSid must be a Twilio call SID (CA + 32 hex digits)\n")
    return call_sid


def _refuse_while_draining(request: web.Request, what: str) -> None:
    """While this worker drains (SIGTERM, voicebot/drain.py) it takes no new call, as SIP's 503: the voice
    webhook answers 503 + Retry-After (Twilio then tries the number's Fallback URL: another worker), and a
    stream refused at the upgrade ends <Connect>, whose action (after-stream) dials the human line."""
    drain = request.app.get(DRAIN)
    if drain is not None and drain.draining:
        log.warning("twilio: refusing a new %s: this worker is draining", what)
        raise web.HTTPServiceUnavailable(headers={"Retry-After": "30"},
                                         text="this voicebot worker is draining; no new calls\n")


@routes.post("/twilio/voice")
@switch_endpoint
async def voice_webhook(request: web.Request) -> web.Response:
    _state(request)
    form = await _signed_form(request)
    cfg = request.app[SETTINGS].twilio
    host = request.headers.get("X-Forwarded-Host", request.host).split(",")[0].strip()
    stream_url = cfg.stream_url or f"wss://{host}/twilio/media"  # Twilio only connects to wss://
    language = request.query.get("language", "")
    if language and language not in LANGUAGES:
        raise web.HTTPBadRequest(text=f"language must be one of {', '.join(LANGUAGES)}, got {language[:8]!r}\n")
    call_sid = _call_sid(form)
    _refuse_while_draining(request, "call")
    params = {"caller": tm.party(form.get("From")), "called": tm.party(form.get("To")), "language": language}
    if "callback" in request.query:  # a callback we placed (twilio_callbacks.py) was answered
        callback = await _callback(request)
        if callback is None:  # forgotten or closed meanwhile: nobody is expecting this call any more
            return web.Response(text=after_stream_twiml("hangup", "", ""), content_type="text/xml")
        # Outbound: Twilio's From is our number and To the customer's.
        params = {"caller": tm.party(form.get("To")), "called": tm.party(form.get("From")),
                  "language": callback.language, "callback": callback.id, "topic": callback.topic,
                  "handoff": callback.handoff_id}
    params[twilio_signature.STREAM_TOKEN] = twilio_signature.stream_token(cfg.auth_token, call_sid, params)
    # Relative: Twilio resolves it against this webhook's URL, so it works behind any public host name.
    twiml = stream_twiml(stream_url, params, action_url="/twilio/after-stream")
    return web.Response(text=twiml, content_type="text/xml")


async def _callback(request: web.Request) -> CallbackRequest | None:
    """The open callback request named by `?callback=` (None if unknown, closed, or no store)."""
    calls = request.app.get(CALL_STORE)
    callback_id = request.query.get("callback", "")
    if calls is None or not CALLBACK_ID.fullmatch(callback_id):
        return None
    callback = await callback_store(calls).get(callback_id)
    return callback if callback is not None and callback.status in OPEN_STATUSES else None


@routes.post("/twilio/callback-status")
@switch_endpoint
async def callback_status(request: web.Request) -> web.Response:
    """Twilio's StatusCallback for a callback we placed: its progress (busy, no-answer, completed...) for the
    dialer, in whichever process it runs."""
    state = _state(request)
    form = await _signed_form(request)
    status = form.get("CallStatus", "")
    if status not in CALL_STATUSES:
        raise web.HTTPBadRequest(text=f"CallStatus must be one of {', '.join(CALL_STATUSES)}\n")
    await state.outcomes.record_status(_call_sid(form), status)
    return web.Response(status=204)


@routes.post("/twilio/after-stream")
@switch_endpoint
async def after_stream(request: web.Request) -> web.Response:
    """<Connect action>: the stream is over; hang up if the bot said goodbye, else dial the human line."""
    state = _state(request)
    call_sid = _call_sid(await _signed_form(request))
    outcome = await state.outcomes.get(call_sid)
    twiml = after_stream_twiml(outcome.disposition if outcome else None, outcome.handoff_id if outcome else "",
                               request.app[SETTINGS].twilio.transfer_target)
    return web.Response(text=twiml, content_type="text/xml")


@routes.get("/twilio/media")
@switch_endpoint
async def media_stream(request: web.Request) -> web.StreamResponse:
    state = _state(request)
    if "Origin" in request.headers:  # a browser's websocket: Twilio sends no Origin
        log.warning("twilio: refusing a media websocket from origin %r", request.headers["Origin"][:100])
        raise web.HTTPForbidden(text="no browser may open the Twilio media stream\n")
    _check_signature(request, {}, websocket=True)
    settings = request.app[SETTINGS]
    _refuse_while_draining(request, "stream")
    if state.active >= settings.twilio.max_calls:
        # Refusing the upgrade ends <Connect>; Twilio continues the TwiML (or hangs up).
        raise web.HTTPServiceUnavailable(text="too many Twilio streams\n")
    ws = web.WebSocketResponse(heartbeat=30.0, max_msg_size=1024 * 1024)
    await ws.prepare(request)
    state.active += 1
    try:
        await serve_stream(ws, state, partial(_run, request.app))
    finally:
        state.active -= 1
        await ws.close()
    return ws


async def serve_stream(
    ws: web.WebSocketResponse, state: TwilioState, run: Callable[[TwilioLine], Awaitable[None]]
) -> None:
    """Read a prepared Media Streams websocket until it closes; `run` the call once `start` arrives."""
    bad = 0
    line: TwilioLine | None = None
    call: asyncio.Task | None = None
    try:
        async with asyncio.timeout(START_TIMEOUT_SECS) as start_deadline:
            async for raw in ws:
                if raw.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                    break
                try:
                    msg = tm.parse_message(raw.data)
                except ValueError as exc:
                    bad += 1
                    state.bad_messages += 1
                    if bad <= MAX_BAD_MESSAGES_LOGGED:
                        log.warning("twilio stream: ignoring a bad message: %s", exc)
                    continue
                if line is not None:
                    line.on_message(msg)
                elif isinstance(msg, tm.Start):
                    if not twilio_signature.stream_token_ok(state.rest.cfg.auth_token, msg.call_sid,
                                                            msg.custom_parameters):
                        log.warning("twilio stream: refusing start for %s: no valid stream token "
                                    "(the voice webhook did not issue this stream)", msg.call_sid)
                        break
                    start_deadline.reschedule(None)
                    line = TwilioLine(ws, msg, state.outcomes, state.rest)
                    call = asyncio.create_task(_run_then_close(run, line))
    except TimeoutError:
        log.warning("twilio stream: no valid start message within %.0f s; closing", START_TIMEOUT_SECS)
    if line is not None:
        line.on_closed("Twilio stream closed")
    if call is not None:
        await call
    if bad > MAX_BAD_MESSAGES_LOGGED:
        log.warning("twilio stream: %d bad messages ignored in total", bad)


async def _run_then_close(run: Callable[[TwilioLine], Awaitable[None]], line: TwilioLine) -> None:
    """Once the bot is done with the call, close the stream: Twilio then asks /twilio/after-stream."""
    try:
        await run(line)
    finally:
        await line.end_stream()


async def _run(app: web.Application, line: TwilioLine) -> None:
    """The bot's side of one stream; if the bot cannot serve the caller, hand them to the human line."""
    settings = app[SETTINGS]
    params = line.start.custom_parameters
    language = params.get("language", "")
    chosen = language if language in LANGUAGES else settings.languages.for_number(tm.party(params.get("called")))
    info = CallInfo(
        call_id=line.call_sid, caller_number=tm.party(params.get("caller")), channel="twilio",
        language=chosen or settings.dialog.default_language, flow_id=settings.dialog.default_flow,
        language_fixed=chosen is not None,
    )
    if params.get("callback"):  # our callback, answered: the callback flow, with the original package
        info = replace(info, flow_id=settings.callbacks.flow, topic=params.get("topic", ""),
                       handoff_id=params.get("handoff", ""))
    services = app.get(CALL_SERVICES)
    try:
        if services is None:
            raise RuntimeError("the bot is not running (speech models not loaded)")
        if params.get("callback") and await answered_by_machine(line, info, services):
            await line.hangup(detail=VOICEMAIL)  # the dialer reads it: retried later, nobody transferred
            return
        await run_call(line, info, services)
    except Exception:
        log.exception("twilio call %s: the bot failed; sending the caller to the human line", line.call_sid)
        if line.transferred is None:
            result = await line.transfer("")
            if not result.ok:
                log.error("twilio call %s: could not reach the human line either: %s", line.call_sid, result.detail)
