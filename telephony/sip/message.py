"""SIP messages (RFC 3261) as plain data: parse from bytes, build to bytes. Never awaits.

Parsing is strict: anything malformed or over the limits raises a `SipSyntaxError` (a ValueError)
whose `status` the user agent answers a request with (400, 505, 513), addressed from
`reply_envelope`; a malformed response is dropped. Valid but unusual messages (folding, compact
forms, escapes, unknown headers and parameters, RFC 2543 syntax) parse.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from telephony.sip.syntax import (
    TOKEN,
    MessageTooLarge,
    SipSyntaxError,
    VersionNotSupported,
    check_address,
    check_address_list,
    check_call_id,
    check_date,
    check_media_type,
    check_tokens,
    check_uri,
    check_via,
    parse_cseq,
    split_quoted,
)

__all__ = ["MessageTooLarge", "SipMessage", "SipSyntaxError", "VersionNotSupported", "make_response",
           "parse_message", "reply_envelope"]

SIP_VERSION = "SIP/2.0"
MAX_MESSAGE_BYTES = 65535
MAX_HEADERS = 100

# RFC 3261 section 7.3.3 compact forms, expanded so lookups need one name.
_COMPACT = {
    "v": "Via", "f": "From", "t": "To", "i": "Call-ID", "m": "Contact", "l": "Content-Length",
    "c": "Content-Type", "k": "Supported", "o": "Event", "r": "Refer-To", "b": "Referred-By", "s": "Subject",
    "e": "Content-Encoding", "u": "Allow-Events",
}
# Headers whose comma-separated values are separate entries (others, e.g. User-Agent, may hold commas).
_LIST_HEADERS = {"via", "contact", "route", "record-route", "allow", "supported", "require", "proxy-require",
                 "unsupported", "accept", "content-encoding"}
REQUIRED = ("Via", "From", "To", "Call-ID", "CSeq")
_SINGLE = ("From", "To", "Call-ID", "CSeq", "Max-Forwards", "Content-Length", "Content-Type")
_STATUS_LINE = re.compile(r"SIP/2\.0 ([1-6]\d\d)(?: (.*))?")
_CHECKS: dict[str, Callable[[str], object]] = {
    "via": check_via,
    "from": lambda v: check_address(v, "From"),
    "to": lambda v: check_address(v, "To"),
    "contact": lambda v: check_address_list(v, "Contact", star=True),
    "route": lambda v: check_address_list(v, "Route"),
    "record-route": lambda v: check_address_list(v, "Record-Route"),
    "call-id": check_call_id,
    "content-type": lambda v: check_media_type(v, "Content-Type"),
    "date": check_date,
    "require": lambda v: check_tokens(v, "Require"),
    "proxy-require": lambda v: check_tokens(v, "Proxy-Require"),
    "supported": lambda v: check_tokens(v, "Supported") if v.strip() else None,
}

REASONS = {
    100: "Trying", 180: "Ringing", 200: "OK", 202: "Accepted", 400: "Bad Request", 401: "Unauthorized",
    403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 406: "Not Acceptable",
    407: "Proxy Authentication Required", 408: "Request Timeout", 413: "Request Entity Too Large",
    415: "Unsupported Media Type", 416: "Unsupported URI Scheme", 420: "Bad Extension",
    480: "Temporarily Unavailable", 481: "Call/Transaction Does Not Exist", 486: "Busy Here",
    487: "Request Terminated", 488: "Not Acceptable Here", 489: "Bad Event", 491: "Request Pending",
    500: "Server Internal Error", 501: "Not Implemented", 503: "Service Unavailable",
    505: "Version Not Supported", 513: "Message Too Large", 603: "Decline",
}


Header = tuple[str, str]


@dataclass(frozen=True)
class SipMessage:
    """A request (method + uri) or a response (status + reason); headers keep their order.

    Frozen like `RtpPacket`: a parsed message is what arrived; `with_headers` makes a new one."""

    method: str = ""
    uri: str = ""
    status: int = 0
    reason: str = ""
    headers: tuple[Header, ...] = ()
    body: bytes = b""

    @property
    def is_request(self) -> bool:
        return bool(self.method)

    def get(self, name: str, default: str = "") -> str:
        lname = name.lower()
        return next((v for n, v in self.headers if n.lower() == lname), default)

    def get_raw(self, name: str) -> list[str]:
        """Every `name` header's value as written (list headers not split)."""
        lname = name.lower()
        return [v for n, v in self.headers if n.lower() == lname]

    def get_all(self, name: str) -> list[str]:
        values = self.get_raw(name)
        if name.lower() in _LIST_HEADERS:
            return [part for v in values for part in split_list(v)]
        return values

    def with_headers(self, *headers: Header) -> SipMessage:
        """A copy with `headers` appended."""
        return replace(self, headers=self.headers + headers)

    @property
    def call_id(self) -> str:
        return self.get("Call-ID")

    @property
    def cseq(self) -> tuple[int, str]:
        return parse_cseq(self.get("CSeq"))

    @property
    def branch(self) -> str:
        vias = self.get_all("Via")
        return header_params(vias[0]).get("branch", "") if vias else ""

    def to_bytes(self) -> bytes:
        first = f"{self.method} {self.uri} {SIP_VERSION}" if self.method else \
            f"{SIP_VERSION} {self.status} {self.reason or REASONS.get(self.status, 'Unknown')}"
        lines = [first]
        lines += [f"{n}: {v}" for n, v in self.headers if n.lower() != "content-length"]
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + self.body


def parse_message(data: bytes, *, max_bytes: int = MAX_MESSAGE_BYTES, max_headers: int = MAX_HEADERS) -> SipMessage:
    """bytes -> SipMessage, strictly per RFC 3261; `SipSyntaxError` (a ValueError) names the fault.

    The error's `status` is the answer a request gets: 400, 505 (version) or 513 (size limit).
    """
    if len(data) > max_bytes:
        raise MessageTooLarge(f"message of {len(data)} bytes is over the {max_bytes}-byte limit")
    head, blank, body = data.partition(b"\r\n\r\n")
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SipSyntaxError("SIP headers are not UTF-8") from exc
    if not text.strip():
        raise SipSyntaxError("empty message")
    start, *lines = text.split("\r\n")
    msg = _parse_start_line(start)
    if not blank:
        raise SipSyntaxError("no empty line after the headers")
    msg = replace(msg, headers=tuple(_parse_headers(lines)))
    if len(msg.headers) > max_headers:
        raise SipSyntaxError(f"more than {max_headers} headers")
    _check_headers(msg)
    return replace(msg, body=_frame_body(msg, body))


def _parse_start_line(line: str) -> SipMessage:
    if line.startswith("SIP/"):
        status = _STATUS_LINE.fullmatch(line)
        if not status:
            raise SipSyntaxError(f"bad status code or version in {line[:60]!r}")
        return SipMessage(status=int(status.group(1)), reason=status.group(2) or "")
    parts = line.split(" ")
    if len(parts) < 3:
        raise SipSyntaxError(f"bad start line {line[:60]!r}: needs method, Request-URI and SIP version")
    if line != line.rstrip(" \t"):
        raise SipSyntaxError("spaces after the SIP version in the request line")
    if "" in parts:
        raise SipSyntaxError("more than one space between request-line elements")
    if len(parts) > 3:
        raise SipSyntaxError("space inside the Request-URI")
    method, uri, version = parts
    if not re.fullmatch(r"SIP/\d+\.\d+", version):
        raise SipSyntaxError(f"bad SIP version {version[:20]!r} in the request line")
    if version != SIP_VERSION:
        raise VersionNotSupported(f"unsupported SIP version {version[:20]!r}")
    if not TOKEN.fullmatch(method):
        raise SipSyntaxError(f"bad method {method[:30]!r}")
    check_uri(uri, "Request-URI", request_line=True)
    return SipMessage(method=method, uri=uri)


def _parse_headers(lines: list[str]) -> list[Header]:
    """Header lines -> (name, value); compact names expanded, folded lines joined with one space."""
    headers: list[Header] = []
    for line in lines:
        if line[:1] in (" ", "\t"):  # folding: continues the previous value
            if not headers:
                raise SipSyntaxError("continuation line before any header")
            name, value = headers[-1]
            headers[-1] = (name, f"{value} {line.strip()}".strip())
            continue
        name, colon, value = line.partition(":")
        name = name.rstrip(" \t")
        if not colon or not TOKEN.fullmatch(name):
            raise SipSyntaxError(f"bad header line {line[:60]!r}")
        headers.append((_COMPACT.get(name.lower(), name) if len(name) == 1 else name, value.strip(" \t")))
    return headers


def _check_headers(msg: SipMessage) -> None:
    """Required and single-value headers present once, and the values this UA reads well-formed."""
    missing = [name for name in REQUIRED if not msg.get_raw(name)]
    if missing:
        raise SipSyntaxError(f"missing {', '.join(missing)} header{'s' if len(missing) > 1 else ''}")
    for name in _SINGLE:
        if len(msg.get_raw(name)) > 1:
            raise SipSyntaxError(f"{len(msg.get_raw(name))} {name} headers where one is allowed")
    for name, value in msg.headers:
        check = _CHECKS.get(name.lower())
        if check:
            check(value)
    _number, method = parse_cseq(msg.get("CSeq"))
    if msg.is_request and method != msg.method:
        raise SipSyntaxError(f"CSeq method {method[:20]!r} differs from the request method")
    if not msg.get("Max-Forwards", "0").isdigit():
        raise SipSyntaxError(f"bad Max-Forwards {msg.get('Max-Forwards')[:20]!r}")


def _frame_body(msg: SipMessage, body: bytes) -> bytes:
    """The body as Content-Length says (extra datagram bytes are dropped); over UDP it may be absent."""
    length = msg.get("Content-Length")
    if length:
        if not length.isdigit():
            raise SipSyntaxError(f"bad Content-Length {length[:20]!r}")
        if int(length) > len(body):
            raise SipSyntaxError(f"body shorter than Content-Length {length[:20]}")
        body = body[: int(length)]
    if body and not msg.get("Content-Type"):
        raise SipSyntaxError("a body without Content-Type")
    return body


def reply_envelope(data: bytes) -> SipMessage | None:
    """Enough of a request that failed `parse_message` to address an error response to it.

    None when there is nothing to answer: a response, an ACK, or no Via to send the answer back by.
    Only the first of each single-value header is kept, so the reply itself is well-formed.
    """
    text = data.partition(b"\r\n\r\n")[0].decode("utf-8", "replace").replace("\r\n", "\n")
    start, *lines = text.split("\n")
    method = start.split(" ", 1)[0]
    if not TOKEN.fullmatch(method) or method.startswith("SIP/") or method == "ACK":
        return None
    headers: list[Header] = []
    for line in lines:
        if line[:1] in (" ", "\t") and headers:
            name, value = headers[-1]
            headers[-1] = (name, f"{value} {line.strip()}".strip())
            continue
        name, colon, value = line.partition(":")
        name = name.strip()
        if colon and TOKEN.fullmatch(name):
            name = _COMPACT.get(name.lower(), name) if len(name) == 1 else name
            if name.lower() == "via" or all(n.lower() != name.lower() for n, _ in headers):
                headers.append((name, value.strip()))
    msg = SipMessage(method=method, headers=tuple(headers))
    return msg if msg.get("Via") else None


def split_list(value: str) -> list[str]:
    """Split a header value on commas outside quotes and <...>."""
    return [part.strip() for part in split_quoted(value, ",") if part.strip()]


def header_params(value: str) -> dict[str, str]:
    """`;`-parameters of a header value after any <uri> (e.g. tag, branch, expires)."""
    rest = value[value.rfind(">") + 1:] if ">" in value else value
    params = {}
    for part in rest.split(";")[1:]:
        k, _, v = part.partition("=")
        params[k.strip().lower()] = v.strip().strip('"')
    return params


def make_response(req: SipMessage, status: int, reason: str = "", *, to_tag: str = "",
                  headers: list[Header] | None = None, body: bytes = b"") -> SipMessage:
    """A response that copies what RFC 3261 section 8.2.6 requires from the request."""
    copied: list[Header] = []
    for name in ("Via", "From", "To", "Call-ID", "CSeq", "Record-Route"):
        for n, v in req.headers:
            if n.lower() == name.lower():
                if name == "To" and to_tag and "tag" not in header_params(v):
                    v = f"{v};tag={to_tag}"
                copied.append((name, v))
    return SipMessage(status=status, reason=reason or REASONS.get(status, ""),
                      headers=(*copied, *(headers or [])), body=body)
