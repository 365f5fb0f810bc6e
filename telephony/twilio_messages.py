"""Twilio Media Streams messages: pure parse/build functions, no I/O.

Twilio sends JSON text frames — connected, start, media (base64 μ-law 8 kHz), mark, dtmf, stop — and
accepts media, mark and clear from us. `parse_message` validates everything it uses and raises
`ValueError` with a short reason for anything else, so the websocket handler can log and skip it.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field

DTMF_DIGITS = frozenset("0123456789*#ABCD")
# A media message carries 20 ms (160 bytes) in practice; refuse absurd ones instead of decoding them.
MAX_PAYLOAD_BYTES = 64_000
MAX_MESSAGE_CHARS = 200_000
# Twilio SIDs: two letters and 32 hex digits. Checked strictly: a callSid names records and log lines.
CALL_SID = re.compile(r"CA[0-9a-f]{32}")
STREAM_SID = re.compile(r"MZ[0-9a-f]{32}")
ACCOUNT_SID = re.compile(r"AC[0-9A-Za-z]{0,62}")
MAX_PARAMETERS = 16
PARAMETER_NAME = re.compile(r"[A-Za-z0-9_]{1,64}")
MAX_PARAMETER_CHARS = 256


@dataclass(frozen=True)
class Connected:
    protocol: str = ""


@dataclass(frozen=True)
class Start:
    stream_sid: str
    call_sid: str
    account_sid: str = ""
    custom_parameters: dict[str, str] = field(default_factory=dict)
    encoding: str = "audio/x-mulaw"
    sample_rate: int = 8000


@dataclass(frozen=True)
class Media:
    ulaw: bytes
    track: str = "inbound"


@dataclass(frozen=True)
class Mark:
    name: str


@dataclass(frozen=True)
class Dtmf:
    digit: str


@dataclass(frozen=True)
class Stop:
    call_sid: str = ""


TwilioMessage = Connected | Start | Media | Mark | Dtmf | Stop

# What Twilio puts in From/To: "+48600100200", "anonymous", "client:alice", "sip:alice@example.com".
PARTY = re.compile(r"[A-Za-z0-9+:@._()\- ]{1,64}")


def party(value: object) -> str:
    """A caller/called number as Twilio sends it, or "" for anything else (too long, odd characters)."""
    return value if isinstance(value, str) and PARTY.fullmatch(value) else ""


def _obj(value: object, what: str) -> dict:
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be a JSON object")
    return value


def _str(d: dict, key: str, what: str, required: bool = True) -> str:
    value = d.get(key, "")
    if not isinstance(value, str) or (required and not value):
        raise ValueError(f"{what}.{key} must be a non-empty string")
    return value


def parse_message(text: str | bytes) -> TwilioMessage:
    if len(text) > MAX_MESSAGE_CHARS:
        raise ValueError(f"message too long ({len(text)} characters)")
    try:
        msg = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"not JSON: {exc}") from None
    except RecursionError:  # json's C scanner recurses per nesting level: "[[[[..." would escape as a crash
        raise ValueError("not JSON: nested too deeply") from None
    msg = _obj(msg, "message")
    event = msg.get("event")
    if event == "connected":
        return Connected(protocol=str(msg.get("protocol", "")))
    if event == "start":
        return _parse_start(msg)
    if event == "media":
        return _parse_media(_obj(msg.get("media"), "media"))
    if event == "mark":
        return Mark(name=_str(_obj(msg.get("mark"), "mark"), "name", "mark"))
    if event == "dtmf":
        digit = _str(_obj(msg.get("dtmf"), "dtmf"), "digit", "dtmf")
        if len(digit) != 1 or digit.upper() not in DTMF_DIGITS:
            raise ValueError(f"dtmf.digit {digit[:8]!r} is not a DTMF digit")
        return Dtmf(digit=digit.upper())
    if event == "stop":
        stop = msg.get("stop")
        call_sid = stop.get("callSid", "") if isinstance(stop, dict) else ""
        return Stop(call_sid=call_sid if isinstance(call_sid, str) else "")
    raise ValueError(f"unknown event {str(event)[:32]!r}")


def _parse_start(msg: dict) -> Start:
    start = _obj(msg.get("start"), "start")
    stream_sid = msg.get("streamSid") or start.get("streamSid")
    if not isinstance(stream_sid, str) or not stream_sid:
        raise ValueError("start.streamSid must be a non-empty string")
    if not STREAM_SID.fullmatch(stream_sid):
        raise ValueError(f"start.streamSid {stream_sid[:40]!r} is not a Twilio stream SID (MZ + 32 hex digits)")
    call_sid = _str(start, "callSid", "start")
    if not CALL_SID.fullmatch(call_sid):
        raise ValueError(f"start.callSid {call_sid[:40]!r} is not a Twilio call SID (CA + 32 hex digits)")
    account_sid = _str(start, "accountSid", "start", required=False)
    if account_sid and not ACCOUNT_SID.fullmatch(account_sid):
        raise ValueError(f"start.accountSid {account_sid[:40]!r} is not a Twilio account SID")
    params = start.get("customParameters") or {}
    params = _obj(params, "start.customParameters")
    if len(params) > MAX_PARAMETERS:
        raise ValueError(f"start.customParameters: more than {MAX_PARAMETERS} parameters")
    for name, value in params.items():
        if not PARAMETER_NAME.fullmatch(name) or not isinstance(value, str) or len(value) > MAX_PARAMETER_CHARS:
            raise ValueError(f"start.customParameters.{name[:40]!r}: a name of letters/digits and a string "
                             f"of at most {MAX_PARAMETER_CHARS} characters")
    fmt = _obj(start.get("mediaFormat") or {}, "start.mediaFormat")
    encoding = fmt.get("encoding", "audio/x-mulaw")
    rate = fmt.get("sampleRate", 8000)
    if encoding != "audio/x-mulaw" or rate != 8000:
        raise ValueError(f"unsupported media format {encoding!r} at {rate!r} Hz (want audio/x-mulaw at 8000)")
    return Start(
        stream_sid=stream_sid, call_sid=call_sid, account_sid=account_sid,
        custom_parameters=dict(params),
        encoding=encoding, sample_rate=rate,
    )


def _parse_media(media: dict) -> Media:
    payload = _str(media, "payload", "media")
    if len(payload) > MAX_PAYLOAD_BYTES * 4 // 3 + 4:
        raise ValueError(f"media.payload too long ({len(payload)} characters)")
    try:
        ulaw = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"media.payload is not base64: {exc}") from None
    track = media.get("track", "inbound")
    return Media(ulaw=ulaw, track=track if isinstance(track, str) else "inbound")


# -- what we send ------------------------------------------------------------------------------------
def media_message(stream_sid: str, ulaw: bytes) -> str:
    return json.dumps({"event": "media", "streamSid": stream_sid,
                       "media": {"payload": base64.b64encode(ulaw).decode("ascii")}})


def mark_message(stream_sid: str, name: str) -> str:
    return json.dumps({"event": "mark", "streamSid": stream_sid, "mark": {"name": name}})


def clear_message(stream_sid: str) -> str:
    return json.dumps({"event": "clear", "streamSid": stream_sid})
