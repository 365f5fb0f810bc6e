"""Twilio's side of a call outside the media stream: TwiML documents and the REST "update call" request.

TwiML builders are pure functions. `TwilioRest` is a thin aiohttp client for two requests:
`POST /2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json`, which redirects a live call — that is how
a Media Streams call leaves the bot for the human line (with the handoff id) or is hung up — and
`POST .../Calls.json`, which places an outbound call (a booked callback).
The API root is a setting so tests can point it at a local server standing in for Twilio.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import quote, urlencode, urlsplit, urlunsplit
from xml.sax.saxutils import escape, quoteattr

import aiohttp

log = logging.getLogger(__name__)

HANDOFF_HEADER = "X-Voicebot-Handoff"
XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>'


def stream_twiml(stream_url: str, parameters: dict[str, str], action_url: str) -> str:
    """The answer to the number's voice webhook: connect the call's audio to our websocket.

    When the stream ends Twilio asks `action_url` what to do next (after_stream_twiml): that is how a
    caller still reaches the human line when the bot could not redirect the call itself.
    """
    params = "".join(
        f"<Parameter name={quoteattr(k)} value={quoteattr(v)}/>" for k, v in parameters.items() if v
    )
    return (f"{XML_HEAD}<Response><Connect action={quoteattr(action_url)}>"
            f"<Stream url={quoteattr(stream_url)}>{params}</Stream></Connect></Response>")


def after_stream_twiml(disposition: str | None, handoff_id: str, transfer_target: str) -> str:
    """What Twilio does once our stream is over: hang up if the bot ended the call, else dial a human.

    `disposition` None means the bot left no word (it crashed, or lost Redis): the caller goes to a human.
    """
    if disposition == "hangup":
        return f"{XML_HEAD}<Response><Hangup/></Response>"
    if not transfer_target:
        return (f"{XML_HEAD}<Response><Say>Sorry, nobody can take your call right now. Please call again later."
                f"</Say><Hangup/></Response>")
    return dial_twiml(transfer_target, handoff_id)


def dial_twiml(target: str, handoff_id: str) -> str:
    """Dial the human line; a SIP target gets the handoff id as a custom SIP header (URI parameter)."""
    if target.startswith(("sip:", "sips:")):
        sep = "&" if "?" in target else "?"
        uri = f"{target}{sep}{HANDOFF_HEADER}={quote(handoff_id, safe='')}" if handoff_id else target
        return f"{XML_HEAD}<Response><Dial><Sip>{escape(uri)}</Sip></Dial></Response>"
    return f"{XML_HEAD}<Response><Dial><Number>{escape(target)}</Number></Dial></Response>"


def with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return urlunsplit(parts._replace(query=query))


class TwilioAccount(Protocol):
    """The account and transfer target the client uses (the application's `[twilio]` settings)."""

    account_sid: str
    auth_token: str
    api_base_url: str
    transfer_twiml_url: str
    transfer_target: str


@dataclass(frozen=True)
class RestResult:
    ok: bool
    detail: str
    sid: str = ""  # the new call's SID (create_call)


class TwilioRest:
    def __init__(self, cfg: TwilioAccount, session: aiohttp.ClientSession, timeout: float = 5.0) -> None:
        self.cfg = cfg
        self._session = session
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    @property
    def has_credentials(self) -> bool:
        return bool(self.cfg.account_sid and self.cfg.auth_token)

    def call_url(self, call_sid: str) -> str:
        root = self.cfg.api_base_url.rstrip("/")
        return f"{root}/2010-04-01/Accounts/{quote(self.cfg.account_sid)}/Calls/{quote(call_sid)}.json"

    async def transfer(self, call_sid: str, handoff_id: str, target: str | None = None) -> RestResult:
        """Redirect the call to `target` (a number or sip: URI: the skill's line), else the configured line."""
        if not self.has_credentials:
            return RestResult(False, "no Twilio credentials (twilio.account_sid / twilio.auth_token): "
                                     "cannot redirect the call to the human line")
        if target:
            form = {"Twiml": dial_twiml(target, handoff_id)}
        elif self.cfg.transfer_twiml_url:
            form = {"Url": with_query(self.cfg.transfer_twiml_url, handoff_id=handoff_id), "Method": "POST"}
        elif self.cfg.transfer_target:
            form = {"Twiml": dial_twiml(self.cfg.transfer_target, handoff_id)}
        else:
            return RestResult(False, "no transfer destination (twilio.transfer_twiml_url / twilio.transfer_target)")
        return await self._update(call_sid, form, "transfer")

    async def create_call(self, to: str, from_: str, url: str, status_callback: str, timeout: float) -> RestResult:
        """Place an outbound call (`POST .../Calls.json`): Twilio rings `to` for `timeout` seconds, fetches `url`
        (TwiML: our media stream) once answered, and reports progress (busy, no-answer, completed) to
        `status_callback`."""
        if not self.has_credentials:
            return RestResult(False, "no Twilio credentials (TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN)")
        form = {"To": to, "From": from_, "Url": url, "Method": "POST", "StatusCallback": status_callback,
                "StatusCallbackMethod": "POST", "StatusCallbackEvent": "initiated ringing answered completed",
                "Timeout": str(round(timeout))}
        root = self.cfg.api_base_url.rstrip("/")
        url_calls = f"{root}/2010-04-01/Accounts/{quote(self.cfg.account_sid)}/Calls.json"
        auth = aiohttp.BasicAuth(self.cfg.account_sid, self.cfg.auth_token)
        try:
            async with self._session.post(url_calls, data=form, auth=auth, timeout=self._timeout) as resp:
                body = await resp.json(content_type=None) if resp.status in (200, 201) else await resp.text()
                if resp.status in (200, 201) and isinstance(body, dict) and body.get("sid"):
                    return RestResult(True, f"Twilio call created ({resp.status})", sid=str(body["sid"]))
                log.warning("twilio call to %s refused: %d %s", to, resp.status, str(body)[:200])
                return RestResult(False, f"Twilio refused the call: HTTP {resp.status}")
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.warning("twilio call to %s failed: %s", to, exc)
            return RestResult(False, f"Twilio API unreachable for the call: {exc or type(exc).__name__}")

    async def hangup(self, call_sid: str) -> RestResult:
        if not self.has_credentials:
            return RestResult(False, "no Twilio credentials; closing the stream ends the call")
        return await self._update(call_sid, {"Status": "completed"}, "hangup")

    async def _update(self, call_sid: str, form: dict[str, str], what: str) -> RestResult:
        auth = aiohttp.BasicAuth(self.cfg.account_sid, self.cfg.auth_token)
        try:
            async with self._session.post(
                self.call_url(call_sid), data=form, auth=auth, timeout=self._timeout
            ) as resp:
                body = await resp.text()
                if resp.status == 200:
                    return RestResult(True, f"Twilio call {what} accepted (200)")
                log.warning("twilio %s of %s refused: %d %s", what, call_sid, resp.status, body[:200])
                return RestResult(False, f"Twilio refused the call {what}: HTTP {resp.status}")
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("twilio %s of %s failed: %s", what, call_sid, exc)
            return RestResult(False, f"Twilio API unreachable for the call {what}: {exc or type(exc).__name__}")
