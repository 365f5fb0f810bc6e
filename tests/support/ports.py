"""Free local ports for the servers and peers tests start (other test runs share the machine)."""

from __future__ import annotations

import socket

UDP = socket.SOCK_DGRAM  # SIP and RTP ports


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port nothing on 127.0.0.1 is bound to right now: TCP by default, `UDP` for SIP/RTP."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
