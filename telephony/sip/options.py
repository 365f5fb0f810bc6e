"""What the SIP user agent needs to know, as its own frozen value: telephony/ imports nothing of voicebot's.

The application builds one from its settings (voicebot/lines/sip.py); a standalone user can build one by hand.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class UaOptions:
    host: str = "127.0.0.1"  # SIP and RTP bind address
    port: int = 5060  # 0 = ephemeral
    transport: str = "udp"  # "udp", "tcp" or "both"
    public_address: str = ""  # written into SDP/Contact; empty = the bind host
    rtp_port_min: int = 20000
    rtp_port_max: int = 20999
    codecs: tuple[str, ...] = ("PCMU", "PCMA")  # preferred first
    allowed_peers: tuple[str, ...] = ("127.0.0.1/8", "::1")  # may call without digest auth
    max_calls: int = 32  # more get 486 Busy Here
    max_message_bytes: int = 8192  # larger requests get 513 Message Too Large
    max_headers: int = 64  # more get 400
    human_line_uri: str = "sip:agents@127.0.0.1:5070"  # where transfers go (REFER or bridge)
    transfer_timeout_secs: float = 30.0
    register_uri: str = ""  # registrar to REGISTER with; empty = none
    register_expires_secs: int = 600
    username: str = ""  # digest user for REGISTER and for callers outside allowed_peers
    password: str = ""
    realm: str = "voicebot"
