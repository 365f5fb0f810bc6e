"""RFC 3261 section 25 grammar checks for the header values a user agent relies on. Pure functions.

Each check raises `SipSyntaxError` naming the header and the fault, so the 400 reply tells the
peer's operator what to fix. Values arrive unfolded (continuation lines already joined).
Only the structure is checked; unknown parameters, schemes and extension headers stay legal.
"""

from __future__ import annotations

import re

TOKEN_CHARS = r"A-Za-z0-9.!%*_+`'~\-"
TOKEN = re.compile(rf"[{TOKEN_CHARS}]+")
# An unquoted display name is tokens (RFC 3261 25.1); phones also send names like `Łukasz Żółw` unquoted, so
# letters outside ASCII count as token characters there. Separators (`,` `;` `"` ...) stay a fault (RFC 4475 baddn).
DISPLAY_WORD = re.compile(rf"(?:[{TOKEN_CHARS}]|[^\x00-\x7f])+")
# Call-ID words; "=" is not in RFC 3261's set, but base64 Call-IDs from real phones carry it.
_WORD = re.compile(r"[A-Za-z0-9.!%*_+`'~\-()<>:\\\"/\[\]?{}=]+")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*")
_HOST = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-_]+)(?::(\d{1,5}))?")
_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_URI_PARAM = re.compile(r"[A-Za-z0-9\[\]/:&+$\-_.!~*'()%]+")  # RFC 3261 paramchar (e.g. gr=urn:uuid:...)
_IPV6 = re.compile(r"\[?[0-9A-Fa-f:.]+\]?")  # Via received= may carry a bare IPv6 address
_VIA = re.compile(
    rf"([{TOKEN_CHARS}]+)[ \t]*/[ \t]*([{TOKEN_CHARS}]+)[ \t]*/[ \t]*([{TOKEN_CHARS}]+)[ \t]+"
    r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-_]+)(?:[ \t]*:[ \t]*(\d{1,5}))?[ \t]*(;.*)?"
)
_DATE = re.compile(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                   r"\d{4} \d{2}:\d{2}:\d{2} GMT")
_MEDIA_TYPE = re.compile(rf"([{TOKEN_CHARS}]+)[ \t]*/[ \t]*([{TOKEN_CHARS}]+)[ \t]*(;.*)?")
CSEQ_LIMIT = 2**31  # RFC 3261 section 8.1.1.5: the sequence number is below 2**31


class SipSyntaxError(ValueError):
    """A message we cannot accept. `status` is what a request gets back; a bad response is dropped."""

    status = 400


class VersionNotSupported(SipSyntaxError):
    status = 505


class MessageTooLarge(SipSyntaxError):
    status = 513


def split_quoted(value: str, sep: str) -> list[str]:
    """Split on `sep` outside quoted strings (with backslash escapes) and <...>."""
    out, cur, quoted, angle, escaped = [], [], False, False, False
    for ch in value:
        if escaped:
            escaped = False
        elif quoted and ch == "\\":
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == "<" and not quoted:
            angle = True
        elif ch == ">" and not quoted:
            angle = False
        elif ch == sep and not quoted and not angle:
            out.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
    out.append("".join(cur))
    return out


def _quoted_end(text: str, start: int, header: str) -> int:
    """Index just after the quoted-string that opens at `start` (RFC 3261 quoted-pair aware)."""
    i = start + 1
    while i < len(text):
        if text[i] == "\\":
            if i + 1 >= len(text) or text[i + 1] in "\r\n":
                break
            i += 2
            continue
        if text[i] == '"':
            return i + 1
        i += 1
    raise SipSyntaxError(f"unterminated quoted string in {header}")


def check_params(text: str, header: str, *, uri: bool = False) -> None:
    """`*( SEMI name [EQUAL value] )`; every parameter has a name, every `=` a value.

    `uri`: parameters of a SIP URI, whose characters are paramchar rather than token."""
    text = text.strip()
    if not text:
        return
    if not text.startswith(";"):
        raise SipSyntaxError(f"unexpected {text[:20]!r} in {header}")
    for param in split_quoted(text, ";")[1:]:
        name, eq, val = param.partition("=")
        name, val = name.strip(), val.strip()
        if not name:
            raise SipSyntaxError(f"empty parameter in {header}")
        if not (_URI_PARAM if uri else TOKEN).fullmatch(name):
            raise SipSyntaxError(f"bad parameter name {name[:20]!r} in {header}")
        if eq and not val:
            raise SipSyntaxError(f"parameter {name[:20]!r} without a value in {header}")
        if val and not (_URI_PARAM if uri else TOKEN).fullmatch(val) and not _IPV6.fullmatch(val):
            if not (val.startswith('"') and _quoted_end(val, 0, header) == len(val)):
                raise SipSyntaxError(f"bad value of parameter {name[:20]!r} in {header}")


def check_uri(uri: str, header: str, *, request_line: bool = False) -> str:
    """A SIP/SIPS URI or any absoluteURI; returns the lower-case scheme."""
    scheme, colon, rest = uri.partition(":")
    if not colon or not _SCHEME.fullmatch(scheme) or not rest:
        raise SipSyntaxError(f"{header} is not a URI: {uri[:60]!r}")
    if any(c in uri for c in ' \t<>"'):
        raise SipSyntaxError(f"{header} URI holds a space, quote or angle bracket: {uri[:60]!r}")
    scheme = scheme.lower()
    if scheme in ("sip", "sips"):
        _userinfo, at, hostpart = rest.partition("@")
        if not at:
            hostpart = rest
        hostport, qmark, _headers = hostpart.partition("?")
        host = _HOST.match(hostport)
        if not host or (host.group(2) is not None and not 0 < int(host.group(2)) < 65536):
            raise SipSyntaxError(f"bad host or port in {header} URI {uri[:60]!r}")
        check_params(hostport[host.end():], f"{header} URI", uri=True)
        if _ESCAPE.search(uri):
            raise SipSyntaxError(f"'%' without two hex digits in {header} URI")
        if qmark and request_line:
            raise SipSyntaxError("the Request-URI carries headers ('?'), which RFC 3261 19.1.1 forbids")
    return scheme


def check_address(value: str, header: str) -> None:
    """name-addr (`[display-name] <uri> *params`) or addr-spec (`uri *params`) of From/To/Contact/Route."""
    text = value.strip()
    if text.startswith('"'):
        end = _quoted_end(text, 0, header)
        rest = text[end:].lstrip()
        if not rest.startswith("<"):
            raise SipSyntaxError(f"a quoted display name must be followed by <uri> in {header}")
        _check_angle(rest, header)
    elif "<" in text:
        display, _, _ = text.partition("<")
        if display.strip() and not all(DISPLAY_WORD.fullmatch(w) for w in display.split()):
            raise SipSyntaxError(f"display name {display.strip()[:30]!r} must be quoted in {header}")
        _check_angle(text[len(display):], header)
    else:
        uri, _, _ = text.partition(";")
        uri = uri.strip()
        if "," in uri or "?" in uri:  # RFC 3261 section 20.10
            raise SipSyntaxError(f"a URI with ',' or '?' must be enclosed in <> in {header}")
        check_uri(uri, header)
        check_params(text[text.index(uri) + len(uri):], header)


def _check_angle(text: str, header: str) -> None:
    """`<uri>` then parameters; nothing but the URI between the brackets."""
    close = text.find(">")
    if close < 0:
        raise SipSyntaxError(f"'<' without '>' in {header}")
    uri = text[1:close]
    if uri != uri.strip():
        raise SipSyntaxError(f"spaces inside <...> in {header}")
    check_uri(uri, header)
    check_params(text[close + 1:], header)


def check_address_list(value: str, header: str, *, star: bool = False) -> None:
    for part in split_quoted(value, ","):
        if star and part.strip() == "*":
            continue
        if not part.strip():
            raise SipSyntaxError(f"empty {header} value")
        check_address(part, header)


def check_via(value: str) -> None:
    for part in split_quoted(value, ","):
        via = _VIA.fullmatch(part.strip())
        if not via:
            raise SipSyntaxError(f"bad Via {part.strip()[:60]!r}")
        if via.group(5) is not None and not 0 < int(via.group(5)) < 65536:
            raise SipSyntaxError(f"bad port in Via {part.strip()[:60]!r}")
        check_params(via.group(6) or "", "Via")


def check_call_id(value: str) -> None:
    word, at, host = value.partition("@")
    if not _WORD.fullmatch(word) or (at and not _WORD.fullmatch(host)):
        raise SipSyntaxError(f"bad Call-ID {value[:60]!r}")


def parse_cseq(value: str) -> tuple[int, str]:
    parts = value.split()
    if len(parts) != 2 or not parts[0].isdigit() or not TOKEN.fullmatch(parts[1]):
        raise SipSyntaxError(f"bad CSeq {value[:40]!r}")
    if int(parts[0]) >= CSEQ_LIMIT:
        raise SipSyntaxError(f"CSeq number {parts[0][:24]} is not below 2**31")
    return int(parts[0]), parts[1]


def check_media_type(value: str, header: str) -> str:
    """`type/subtype *params`; returns `type/subtype` in lower case."""
    m = _MEDIA_TYPE.fullmatch(value.strip())
    if not m:
        raise SipSyntaxError(f"bad {header} {value[:40]!r}")
    check_params(m.group(3) or "", header)
    return f"{m.group(1)}/{m.group(2)}".lower()


def check_date(value: str) -> None:
    if not _DATE.fullmatch(value.strip()):
        raise SipSyntaxError(f"Date {value[:40]!r} is not an RFC 1123 date in GMT")


def check_tokens(value: str, header: str) -> None:
    for tag in value.split(","):
        if not TOKEN.fullmatch(tag.strip()):
            raise SipSyntaxError(f"bad option tag {tag.strip()[:30]!r} in {header}")
