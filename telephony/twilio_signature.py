"""Twilio request signatures (`X-Twilio-Signature`): proof that a webhook or stream really comes from Twilio.

Twilio signs the full URL it requested followed by the POST parameters sorted by name (name + value,
concatenated), with HMAC-SHA1 keyed by the account's auth token, base64-encoded. Pure functions.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping


def signature(url: str, params: Mapping[str, str], auth_token: str) -> str:
    data = url + "".join(f"{k}{params[k]}" for k in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def is_valid(candidate_urls: Iterable[str], params: Mapping[str, str], auth_token: str, given: str) -> bool:
    """True if `given` signs any of the URLs the request may have been sent to (proxies change the host)."""
    if not given:
        return False
    return any(hmac.compare_digest(signature(url, params, auth_token), given) for url in candidate_urls)
