"""One SIP dialog (RFC 3261 section 12) from the answering side: the state needed to send and
recognise in-dialog requests. Plain data; building a request never touches a socket.
"""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass, field

from telephony.sip.message import SipMessage, header_params
from telephony.sip.uri import SipUri, parse_name_addr, parse_uri


def new_tag() -> str:
    return secrets.token_hex(6)


def new_branch() -> str:
    return "z9hG4bK" + secrets.token_hex(10)  # RFC 3261 magic cookie


@dataclass
class Dialog:
    call_id: str
    local_tag: str
    remote_tag: str
    local_uri: str  # our party (To of the INVITE we answered / From of one we sent), name-addr without tag
    remote_uri: str
    remote_target: SipUri  # where in-dialog requests go (the peer's Contact)
    peer: tuple[str, int]  # where the peer's packets came from
    transport: str = "udp"
    route_set: list[str] = field(default_factory=list)
    local_cseq: int = 0
    remote_cseq: int = -1

    @classmethod
    def from_invite(cls, invite: SipMessage, peer: tuple[str, int], transport: str) -> Dialog:
        """The answering side's view of a dialog created by an incoming INVITE."""
        contact = invite.get_all("Contact")
        target = parse_name_addr(contact[0]).uri if contact else parse_name_addr(invite.get("From")).uri
        return cls(
            call_id=invite.call_id, local_tag=new_tag(),
            remote_tag=header_params(invite.get("From")).get("tag", ""),
            local_uri=_strip_tag(invite.get("To")), remote_uri=_strip_tag(invite.get("From")),
            remote_target=target, peer=peer, transport=transport,
            route_set=invite.get_all("Record-Route"), remote_cseq=invite.cseq[0],
        )

    @classmethod
    def from_response(cls, request: SipMessage, response: SipMessage, peer: tuple[str, int],
                      transport: str) -> Dialog:
        """The calling side's view, once our INVITE got a 2xx."""
        contact = response.get_all("Contact")
        target = parse_name_addr(contact[0]).uri if contact else parse_uri(request.uri)
        return cls(
            call_id=request.call_id, local_tag=header_params(request.get("From")).get("tag", ""),
            remote_tag=header_params(response.get("To")).get("tag", ""),
            local_uri=_strip_tag(request.get("From")), remote_uri=_strip_tag(response.get("To")),
            remote_target=target, peer=peer, transport=transport,
            route_set=list(reversed(response.get_all("Record-Route"))), local_cseq=request.cseq[0],
        )

    def destination(self) -> tuple[str, int]:
        """Next hop for in-dialog requests: the first route, else the Contact, else the packet source.
        Over TCP the peer's connection is reused: its Contact port is often not listening."""
        if self.transport == "tcp":
            return self.peer
        uri = parse_name_addr(self.route_set[0]).uri if self.route_set else self.remote_target
        host, port = uri.address
        return (host, port) if _is_ip(host) else self.peer

    def request(self, method: str, via_host: str, via_port: int, *, cseq: int | None = None,
                headers: list[tuple[str, str]] | None = None, body: bytes = b"",
                content_type: str = "") -> SipMessage:
        if cseq is None:
            self.local_cseq += 1
            cseq = self.local_cseq
        return SipMessage(method=method, uri=str(self.remote_target), body=body, headers=(
            ("Via", f"SIP/2.0/{self.transport.upper()} {via_host}:{via_port};branch={new_branch()};rport"),
            ("Max-Forwards", "70"),
            *(("Route", route) for route in self.route_set),
            ("From", f"{self.local_uri};tag={self.local_tag}"),
            ("To", f"{self.remote_uri};tag={self.remote_tag}" if self.remote_tag else self.remote_uri),
            ("Call-ID", self.call_id),
            ("CSeq", f"{cseq} {method}"),
            *(headers or []),
            *([("Content-Type", content_type or "application/sdp")] if body else []),
        ))


def _strip_tag(value: str) -> str:
    na = parse_name_addr(value)
    na.params.pop("tag", None)
    return str(na)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
