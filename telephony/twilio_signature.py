"""Twilio request signatures (`X-Twilio-Signature`): proof that a webhook or stream really comes from Twilio.

Twilio signs the full URL it requested followed by the POST parameters sorted by name (name + value,
concatenated), with HMAC-SHA1 keyed by the account's auth token, base64-encoded. Pure functions.

The media stream's `start` message carries no signature of its own, so the voice webhook (signed by
Twilio) issues a per-call stream token, passed back to us as a TwiML `<Parameter>`: an HMAC over the
call SID, the other parameters (caller number, language) and an expiry. A `start` whose token does not
match names a call Twilio never sent to us, or changes its caller number, and is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Iterable, Mapping

STREAM_TOKEN = "token"  # the <Parameter> name
STREAM_TOKEN_TTL_SECS = 300  # Twilio opens the stream right after the webhook; 5 min is generous


def signature(url: str, params: Mapping[str, str], auth_token: str) -> str:
    data = url + "".join(f"{k}{params[k]}" for k in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def is_valid(candidate_urls: Iterable[str], params: Mapping[str, str], auth_token: str, given: str) -> bool:
    """True if `given` signs any of the URLs the request may have been sent to (proxies change the host)."""
    if not given:
        return False
    return any(hmac.compare_digest(signature(url, params, auth_token), given) for url in candidate_urls)


def _stream_mac(auth_token: str, call_sid: str, params: Mapping[str, str], expires: int) -> str:
    # Empty parameters are left out of the TwiML, so out of the MAC too.
    fields = (f"{k}={params[k]}" for k in sorted(params) if k != STREAM_TOKEN and params[k])
    signed = "\n".join([call_sid, str(expires), *fields])
    digest = hmac.new(auth_token.encode(), b"stream\n" + signed.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def stream_token(auth_token: str, call_sid: str, params: Mapping[str, str], now: float | None = None) -> str:
    """The token the voice webhook puts in the TwiML for this call's stream."""
    expires = int((time.time() if now is None else now) + STREAM_TOKEN_TTL_SECS)
    return f"{expires}.{_stream_mac(auth_token, call_sid, params, expires)}"


def stream_token_ok(auth_token: str, call_sid: str, params: Mapping[str, str], now: float | None = None) -> bool:
    """True if `params` (a start message's customParameters) carry a live token issued for `call_sid`."""
    expires, _, mac = params.get(STREAM_TOKEN, "").partition(".")
    if not auth_token or not expires.isdigit() or len(expires) > 12 or not mac:
        return False
    if int(expires) < (time.time() if now is None else now):
        return False
    return hmac.compare_digest(_stream_mac(auth_token, call_sid, params, int(expires)), mac)
