"""Access for the phone switches' HTTP endpoints (Twilio webhooks/streams, the Asterisk dialplan's CURL()).

Switches cannot log in to the web UI, so these routes are marked public for the web layer's login
middleware and are guarded their own way: Twilio requests by `X-Twilio-Signature` (twilio_signature.py),
dialplan requests by the source address (`audiosocket.allowed_peers`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from typing import TypeVar

H = TypeVar("H", bound=Callable)

try:  # the web layer's login middleware (voicebot/web/security.py) skips routes marked public
    from voicebot.web.security import public as _public
except ImportError:  # a build without the web UI has no login to skip
    def _public(handler: H) -> H:
        return handler


def switch_endpoint(handler: H) -> H:
    """Reachable without a web login: the switch authenticates by signature or address instead."""
    return _public(handler)


def peer_allowed(peer: str | None, networks: Iterable[str]) -> bool:
    """Is the direct TCP peer's address inside one of the networks? (Never trusts forwarded headers.)"""
    try:
        ip = ipaddress.ip_address(peer or "")
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(net, strict=False) for net in networks)
