"""A minimal UDP SIP + RTP peer for the malformed-input test: throws junk, and places one ordinary call.

Deliberately independent of telephony/sip (a peer must not share the parser it is testing): responses
are read with a few regular expressions, which is all a probe needs.
"""

from __future__ import annotations

import asyncio
import re
import struct
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

from telephony import codecs
from tests.support.malformed_inputs import sdp_offer, sip_request
from tests.support.media_callers import rms_dbfs


@dataclass
class Datagrams(asyncio.DatagramProtocol):
    """A UDP socket whose received packets land in a queue, with arrival times."""

    queue: asyncio.Queue[tuple[float, bytes]] = field(default_factory=asyncio.Queue)
    transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.queue.put_nowait((time.monotonic(), data))

    @property
    def port(self) -> int:
        assert self.transport is not None
        return self.transport.get_extra_info("sockname")[1]

    def drain(self) -> list[bytes]:
        out = []
        while not self.queue.empty():
            out.append(self.queue.get_nowait()[1])
        return out

    def close(self) -> None:
        if self.transport:
            self.transport.close()


async def open_udp() -> Datagrams:
    loop = asyncio.get_running_loop()
    _, proto = await loop.create_datagram_endpoint(Datagrams, local_addr=("127.0.0.1", 0))
    return proto


def status_of(resp: bytes) -> tuple[int, str]:
    """(status code, CSeq method) of a SIP response; (0, "") for anything else."""
    m = re.match(rb"SIP/2\.0 (\d{3}) ", resp)
    cseq = re.search(rb"\r\nCSeq:\s*\d+\s+(\w+)", resp, re.I)
    if not m:
        return 0, ""
    return int(m.group(1)), cseq.group(1).decode() if cseq else ""


def header(resp: bytes, name: str) -> str:
    m = re.search(rb"\r\n" + name.encode() + rb":\s*([^\r\n]*)", resp, re.I)
    return m.group(1).decode(errors="replace") if m else ""


@dataclass
class SipProbe:
    server_port: int
    sip: Datagrams
    answered_junk: int = 0  # mutated INVITEs that were still valid calls (we end them politely)
    statuses: Counter[int] = field(default_factory=Counter)  # responses to the junk, by status code

    @property
    def server(self) -> tuple[str, int]:
        return ("127.0.0.1", self.server_port)

    def send(self, data: bytes) -> None:
        assert self.sip.transport is not None
        self.sip.transport.sendto(data, self.server)

    def end_accepted_calls(self) -> None:
        """A mutation can still be a valid INVITE: ACK and BYE any call the server answered."""
        for resp in self.sip.drain():
            self.statuses[status_of(resp)[0]] += 1
            if status_of(resp) == (200, "INVITE"):
                self.answered_junk += 1
                self._ack_and_bye(resp)

    def _ack_and_bye(self, ok: bytes) -> None:
        call_id = header(ok, "Call-ID")
        from_tag = re.search(r"tag=([^;>\s]+)", header(ok, "From"))
        to_tag = re.search(r"tag=([^;>\s]+)", header(ok, "To"))
        if not (call_id and from_tag and to_tag):
            return
        for method, cseq in (("ACK", 1), ("BYE", 2)):
            self.send(sip_request(method, *self.server, call_id, cseq=cseq, local_port=self.sip.port,
                                  from_tag=from_tag.group(1), to_tag=to_tag.group(1)))

    async def request(self, method: str, call_id: str, body: str = "", cseq: int = 1,
                      from_tag: str = "", to_tag: str = "", timeout: float = 5.0) -> bytes:
        """Send a request and return its final response (skipping 1xx)."""
        self.sip.drain()
        self.send(sip_request(method, *self.server, call_id, body, cseq, self.sip.port, from_tag, to_tag))
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                _, resp = await asyncio.wait_for(self.sip.queue.get(), left)
            except TimeoutError:
                break
            code, cseq_method = status_of(resp)
            if code >= 200 and cseq_method == method and header(resp, "Call-ID") == call_id:
                return resp
        raise TimeoutError(f"no final response to {method} within {timeout} s")


@dataclass
class ProbeCall:
    """One ordinary call from the probe: INVITE with PCMU, ACK, listen to the bot's RTP, BYE."""

    probe: SipProbe
    rtp: Datagrams
    call_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    from_tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    to_tag: str = ""
    bot_rtp_port: int = 0

    async def start(self) -> None:
        ok = await self.probe.request("INVITE", self.call_id, sdp_offer(self.rtp.port), from_tag=self.from_tag,
                                      timeout=10)
        assert status_of(ok)[0] == 200, ok[:200]
        tag = re.search(r"tag=([^;>\s]+)", header(ok, "To"))
        port = re.search(rb"m=audio (\d+)", ok)
        assert tag and port, ok
        self.to_tag, self.bot_rtp_port = tag.group(1), int(port.group(1))
        self.probe.send(sip_request("ACK", *self.probe.server, self.call_id, cseq=1,
                                    local_port=self.probe.sip.port, from_tag=self.from_tag, to_tag=self.to_tag))

    async def listen(self, seconds: float) -> tuple[int, bytes]:
        """(RTP packets, decoded PCMU audio) received from the bot in the next `seconds`."""
        packets, pcm = 0, bytearray()
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                _, data = await asyncio.wait_for(self.rtp.queue.get(), left)
            except TimeoutError:
                break
            if len(data) < 12 or data[0] >> 6 != 2:
                continue
            packets += 1
            if data[1] & 0x7F == 0:
                start = 12 + 4 * (data[0] & 0x0F)
                pcm += codecs.decode(data[start:], "PCMU")
        return packets, bytes(pcm)

    async def hear_speech(self, seconds: float = 1.0, timeout: float = 30.0) -> bytes:
        """Listen until the bot has said `seconds` of audible audio (20 ms frames above -45 dBFS)."""
        voiced = bytearray()
        deadline = time.monotonic() + timeout
        while len(voiced) < seconds * 16000 and (left := deadline - time.monotonic()) > 0:
            _, pcm = await self.listen(min(0.5, left))
            for i in range(0, len(pcm) - 319, 320):
                if rms_dbfs(pcm[i:i + 320]) > -45:
                    voiced += pcm[i:i + 320]
        return bytes(voiced)

    def send_rtp(self, data: bytes) -> None:
        assert self.rtp.transport is not None
        self.rtp.transport.sendto(data, ("127.0.0.1", self.bot_rtp_port))

    def silence_packet(self, seq: int) -> bytes:
        return struct.pack("!BBHII", 0x80, 0, seq & 0xFFFF, seq * 160, 0xC0FFEE) + codecs.silence("PCMU", 160)

    async def bye(self) -> int:
        resp = await self.probe.request("BYE", self.call_id, cseq=2, from_tag=self.from_tag, to_tag=self.to_tag)
        return status_of(resp)[0]

