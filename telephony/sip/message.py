"""SIP messages (RFC 3261) as plain data: parse from bytes, build to bytes. Never awaits.

Anything malformed or over the limits raises ValueError; the user agent answers 400 (when the
message is good enough to answer) or drops it, and carries on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

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
_LIST_HEADERS = {"via", "contact", "route", "record-route", "allow", "supported", "require"}
REQUIRED = ("Via", "From", "To", "Call-ID", "CSeq")
_TOKEN = re.compile(r"^[A-Za-z0-9.!%*_+`'~-]+$")

REASONS = {
    100: "Trying", 180: "Ringing", 200: "OK", 202: "Accepted", 400: "Bad Request", 401: "Unauthorized",
    403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 407: "Proxy Authentication Required",
    408: "Request Timeout", 413: "Request Entity Too Large", 415: "Unsupported Media Type",
    480: "Temporarily Unavailable", 481: "Call/Transaction Does Not Exist", 486: "Busy Here",
    487: "Request Terminated", 488: "Not Acceptable Here", 489: "Bad Event", 491: "Request Pending",
    500: "Server Internal Error", 501: "Not Implemented", 503: "Service Unavailable", 603: "Decline",
}


@dataclass
class SipMessage:
    """A request (method + uri) or a response (status + reason); headers keep their order."""

    method: str = ""
    uri: str = ""
    status: int = 0
    reason: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    @property
    def is_request(self) -> bool:
        return bool(self.method)

    def get(self, name: str, default: str = "") -> str:
        lname = name.lower()
        return next((v for n, v in self.headers if n.lower() == lname), default)

    def get_all(self, name: str) -> list[str]:
        lname = name.lower()
        values = [v for n, v in self.headers if n.lower() == lname]
        if lname in _LIST_HEADERS:
            return [part for v in values for part in split_list(v)]
        return values

    def set(self, name: str, value: str) -> None:
        """Replace every `name` header with one value (appended if absent)."""
        lname = name.lower()
        idx = next((i for i, (n, _) in enumerate(self.headers) if n.lower() == lname), None)
        self.headers = [(n, v) for n, v in self.headers if n.lower() != lname]
        self.headers.insert(len(self.headers) if idx is None else idx, (name, value))

    def add(self, name: str, value: str) -> None:
        self.headers.append((name, value))

    @property
    def call_id(self) -> str:
        return self.get("Call-ID")

    @property
    def cseq(self) -> tuple[int, str]:
        parts = self.get("CSeq").split()
        if len(parts) != 2 or not parts[0].isdigit():
            raise ValueError(f"bad CSeq {self.get('CSeq')!r}")
        return int(parts[0]), parts[1].upper()

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


def parse_message(data: bytes, *, max_bytes: int = MAX_MESSAGE_BYTES, max_headers: int = MAX_HEADERS,
                  lenient: bool = False) -> SipMessage:
    """bytes -> SipMessage; ValueError says what is wrong.

    `lenient` skips the header-count and Content-Length checks: used only to address a 400 reply.
    """
    if len(data) > max_bytes:
        raise ValueError(f"message of {len(data)} bytes is over the {max_bytes}-byte limit")
    sep = data.find(b"\r\n\r\n")
    head, body = (data[:sep], data[sep + 4:]) if sep >= 0 else (data, b"")
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError("SIP headers are not UTF-8") from exc
    raw_lines = text.split("\r\n")
    if not raw_lines or not raw_lines[0].strip():
        raise ValueError("empty message")
    msg = _parse_start_line(raw_lines[0])
    for line in raw_lines[1:]:
        if line[:1] in (" ", "\t"):  # header folding: continues the previous value
            if not msg.headers:
                raise ValueError("continuation line before any header")
            name, value = msg.headers[-1]
            msg.headers[-1] = (name, f"{value} {line.strip()}")
            continue
        name, colon, value = line.partition(":")
        name = name.strip()
        if not colon or not _TOKEN.match(name):
            raise ValueError(f"bad header line {line[:60]!r}")
        msg.headers.append((_COMPACT.get(name.lower(), name) if len(name) == 1 else name, value.strip()))
        if len(msg.headers) > max_headers and not lenient:
            raise ValueError(f"more than {max_headers} headers")
    for name in REQUIRED:
        if not msg.get(name):
            raise ValueError(f"missing {name} header")
    msg.cseq  # noqa: B018 - validates the CSeq now, not deep inside a handler
    length = msg.get("Content-Length")
    if length:
        if not length.isdigit():
            raise ValueError(f"bad Content-Length {length!r}")
        if int(length) > len(body) and not lenient:
            raise ValueError(f"body shorter than Content-Length {length}")
        body = body[: int(length)]
    msg.body = body
    return msg


def _parse_start_line(line: str) -> SipMessage:
    parts = line.split(" ", 2)
    if len(parts) != 3:
        raise ValueError(f"bad start line {line[:80]!r}")
    if parts[0] == SIP_VERSION:
        if not (parts[1].isdigit() and len(parts[1]) == 3 and 100 <= int(parts[1]) <= 699):
            raise ValueError(f"bad status code {parts[1]!r}")
        return SipMessage(status=int(parts[1]), reason=parts[2])
    method, uri, version = parts
    if version != SIP_VERSION:
        raise ValueError(f"unsupported version {version[:20]!r}")
    if not _TOKEN.match(method) or not uri or " " in uri:
        raise ValueError(f"bad request line {line[:80]!r}")
    return SipMessage(method=method.upper(), uri=uri)


def split_list(value: str) -> list[str]:
    """Split a header value on commas outside quotes and <...>."""
    out, cur, quoted, angle = [], [], False, False
    for ch in value:
        if ch == '"':
            quoted = not quoted
        elif ch == "<" and not quoted:
            angle = True
        elif ch == ">" and not quoted:
            angle = False
        if ch == "," and not quoted and not angle:
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    if "".join(cur).strip():
        out.append("".join(cur).strip())
    return out


def header_params(value: str) -> dict[str, str]:
    """`;`-parameters of a header value after any <uri> (e.g. tag, branch, expires)."""
    rest = value[value.rfind(">") + 1:] if ">" in value else value
    params = {}
    for part in rest.split(";")[1:]:
        k, _, v = part.partition("=")
        params[k.strip().lower()] = v.strip().strip('"')
    return params


def make_response(req: SipMessage, status: int, reason: str = "", *, to_tag: str = "",
                  headers: list[tuple[str, str]] | None = None, body: bytes = b"") -> SipMessage:
    """A response that copies what RFC 3261 section 8.2.6 requires from the request."""
    resp = SipMessage(status=status, reason=reason or REASONS.get(status, ""))
    for name in ("Via", "From", "To", "Call-ID", "CSeq", "Record-Route"):
        for n, v in req.headers:
            if n.lower() == name.lower():
                if name == "To" and to_tag and "tag" not in header_params(v):
                    v = f"{v};tag={to_tag}"
                resp.add(name, v)
    for n, v in headers or []:
        resp.add(n, v)
    resp.body = body
    return resp
