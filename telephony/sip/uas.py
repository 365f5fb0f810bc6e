"""What a user agent server checks before acting on a well-formed request (RFC 3261 section 8.2).

Pure: a request in, the error response it must get (or None to go on) out. The order is the RFC's:
method (405), Request-URI scheme (416), Require (420), body type and encoding (415), then for
INVITE whether the caller can accept our SDP answer at all (406).
"""

from __future__ import annotations

from telephony.sip.message import SipMessage, make_response
from telephony.sip.syntax import SipSyntaxError, check_media_type

ALLOW = "INVITE, ACK, BYE, CANCEL, OPTIONS, REFER, NOTIFY, INFO"
METHODS = frozenset(m.strip() for m in ALLOW.split(","))
SUPPORTED = "replaces"  # the option tags we implement, as advertised in Supported
SCHEMES = ("sip", "sips", "tel")
ACCEPT = "application/sdp"  # the only body an INVITE to us may carry


def refusal(req: SipMessage) -> SipMessage | None:
    """The 4xx a request gets before any handler runs; None when it may be processed."""
    if req.method not in METHODS:
        return make_response(req, 405, headers=[("Allow", ALLOW)])
    scheme = req.uri.partition(":")[0].lower()
    if scheme not in SCHEMES:
        return make_response(req, 416, f"Unsupported URI Scheme ({scheme[:20]})")
    if req.method not in ("ACK", "CANCEL"):  # Proxy-Require is for proxies; a UAS reads Require only
        supported = {tag.strip().lower() for tag in SUPPORTED.split(",")}
        unknown = [tag for tag in req.get_all("Require") if tag.lower() not in supported]
        if unknown:
            return make_response(req, 420, headers=[("Unsupported", ", ".join(unknown)), ("Supported", SUPPORTED)])
    if req.method == "INVITE":
        return _invite_body_refusal(req)
    return None


def _invite_body_refusal(req: SipMessage) -> SipMessage | None:
    if req.body:
        media = check_media_type(req.get("Content-Type"), "Content-Type")
        if media != ACCEPT:
            return make_response(req, 415, f"Unsupported Media Type ({media[:40]})", headers=[("Accept", ACCEPT)])
        if any(enc.lower() != "identity" for enc in req.get_all("Content-Encoding")):
            return make_response(req, 415, "Unsupported Media Type (Content-Encoding)",
                                 headers=[("Accept-Encoding", "identity"), ("Accept", ACCEPT)])
    accept = req.get_all("Accept")
    if accept and not any(_accepts_sdp(a) for a in accept):
        return make_response(req, 406, "Not Acceptable (our answer is application/sdp)",
                             headers=[("Accept", ACCEPT)])
    return None


def _accepts_sdp(media_range: str) -> bool:
    try:
        media = check_media_type(media_range, "Accept")
    except SipSyntaxError:
        return False
    return media in (ACCEPT, "application/*", "*/*")
