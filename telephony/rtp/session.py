"""One call's RTP stream on an asyncio UDP socket: receive -> jitter buffer -> 20 ms PCM frames,
and bot PCM -> 20 ms packets paced in real time, with silence while the bot is quiet.

The clock for both directions is a small thread per call: every 20 ms it sends one packet and has the
event loop pull one frame from the jitter buffer, so the pipeline sees a steady 8 kHz stream even when
the caller's phone stops sending (silence suppression, end of a recording) and turn detection keeps
working. A thread, because the event loop is shared with every call's pipeline and can stall for
hundreds of milliseconds under load; a phone hears that as broken audio.

Only the caller's media is heard: packets from the SDP's address/port are always taken, otherwise the
first packets' source is latched (a phone behind NAT sends from another port than its SDP says), and
packets from any other source are dropped and counted. Anyone else on the network could otherwise talk
into the call or press "0" (RFC 4733) and transfer it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from telephony import codecs
from telephony.rtp.dtmf import DtmfDetector, event_packets
from telephony.rtp.jitter import JitterBuffer
from telephony.rtp.packet import RtpPacket, parse_rtp

log = logging.getLogger(__name__)

FRAME_MS = 20
FRAME_SAMPLES = 160
FRAME_BYTES = FRAME_SAMPLES * 2  # s16le


@dataclass
class PacingStats:
    """Send-time error of our packets against the ideal 20 ms grid (what the caller hears as jitter).
    Only the last two minutes are kept, so a long call costs bounded memory."""

    sent: int = 0
    max_late_ms: float = 0.0
    late_ms: deque[float] = field(default_factory=lambda: deque(maxlen=6000))

    def record(self, err_ms: float) -> None:
        self.sent += 1
        self.max_late_ms = max(self.max_late_ms, err_ms)
        self.late_ms.append(err_ms)


class RtpSession(asyncio.DatagramProtocol):
    """Created by `open_rtp`; `start(remote, codec, ...)` once the SDP exchange picked a codec."""

    def __init__(self, on_audio: Callable[[bytes], None], on_dtmf: Callable[[str], None]) -> None:
        self.on_audio = on_audio  # 20 ms of caller PCM (s16le 8 kHz)
        self.on_dtmf = on_dtmf
        self.transport: asyncio.DatagramTransport | None = None
        self.local_port = 0
        self.remote: tuple[str, int] | None = None
        self.codec = "PCMU"
        self.payload_type = 0
        self.dtmf_pt: int | None = None
        self.ssrc = random.getrandbits(32)
        self._seq = random.getrandbits(16)
        self._ts = random.getrandbits(32)
        self.jitter = JitterBuffer("PCMU")
        self._dtmf = DtmfDetector()
        self._out = bytearray()
        self._played = asyncio.Event()
        self._played.set()
        self._lock = threading.Lock()  # _out, seq/timestamp and the clock's socket: shared with the clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.hold = False  # caller put us on hold: keep the clock, send nothing
        self.pacing = PacingStats()
        self.relay: RtpSession | None = None  # bridged to a human: caller packets go there verbatim
        self.bad_packets = 0
        self.foreign_packets = 0  # from a source other than the caller's (see the module docstring)
        self.source: tuple[str, int] | None = None  # where the caller's RTP comes from, once latched
        self._speaking = False

    # asyncio protocol ------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def _from_caller(self, addr: tuple[str, int]) -> bool:
        source = addr[:2]
        if source == self.source:
            return True
        if (self.remote is not None and source == tuple(self.remote[:2])) or self.source is None:
            self.source = source  # the SDP's own address wins over a latched one
            return True
        self.foreign_packets += 1
        if self.foreign_packets == 1:
            log.warning("rtp port %s: dropping packets from %s:%s (the caller's media comes from %s:%s)",
                        self.local_port, *source, *self.source)
        return False

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            pkt = parse_rtp(data)
        except ValueError:
            self.bad_packets += 1  # noise on the port: ignore, never break the call
            return
        if not self._from_caller(addr):
            return
        if self.relay is not None:
            self.relay.send_raw(pkt)
            return
        if pkt.payload_type == self.dtmf_pt:
            try:
                digit = self._dtmf.feed(pkt.timestamp, pkt.payload, time.monotonic())
            except ValueError:
                self.bad_packets += 1
                return
            if digit:
                self.on_dtmf(digit)
        elif pkt.payload_type == self.payload_type:
            self.jitter.push(pkt.seq, pkt.payload)
        else:
            self.bad_packets += 1

    def error_received(self, exc: Exception) -> None:  # ICMP port unreachable etc.: the peer may come back
        log.debug("rtp port %s: %s", self.local_port, exc)

    # control ---------------------------------------------------------------------------
    def start(self, remote: tuple[str, int], codec: str, payload_type: int, dtmf_pt: int | None) -> None:
        self.update_remote(remote, codec, payload_type, dtmf_pt)
        if self._thread is None and self.transport is not None:
            self._loop = asyncio.get_running_loop()
            # The clock's own socket (a dup of ours): the asyncio transport is not thread-safe.
            raw = self.transport.get_extra_info("socket")
            self._sock = socket.socket(fileno=os.dup(raw.fileno()))
            self._thread = threading.Thread(target=self._clock, name=f"rtp-{self.local_port}", daemon=True)
            self._thread.start()

    def update_remote(self, remote: tuple[str, int], codec: str, payload_type: int, dtmf_pt: int | None) -> None:
        if codec != self.codec:
            self.jitter = JitterBuffer(codec)
        if remote != self.remote:
            self.source = None  # a new SDP (re-INVITE): latch again
        with self._lock:
            self.remote, self.codec, self.payload_type, self.dtmf_pt = remote, codec, payload_type, dtmf_pt

    def close(self) -> None:
        self._stop.set()
        if self.transport:
            self.transport.close()
        with self._lock:
            self._out.clear()
            if self._sock is not None:
                self._sock.close()
                self._sock = None
        self._played.set()

    # bot audio ---------------------------------------------------------------------------
    def play(self, pcm: bytes) -> None:
        if len(pcm) % 2:
            raise ValueError("bot audio must be whole 16-bit samples")
        if pcm:
            with self._lock:
                self._out += pcm
            self._played.clear()

    def clear(self) -> None:
        with self._lock:
            self._out.clear()
        self._played.set()

    async def wait_played(self) -> None:
        await self._played.wait()

    def send_raw(self, pkt: RtpPacket) -> None:
        """Relay a packet from the other leg of a bridge, restamped with our SSRC/seq/timestamp."""
        with self._lock:
            self._send(pkt.payload_type, pkt.payload, marker=pkt.marker, advance=pkt.payload_type != self.dtmf_pt)

    def send_dtmf(self, digit: str) -> None:
        """Queue-less RFC 4733 press (used when bridging and by tests of a far end)."""
        with self._lock:
            for ev in event_packets(digit):
                self._send(self.dtmf_pt if self.dtmf_pt is not None else 101, ev.to_bytes(), advance=False)
            self._ts = (self._ts + 800) & 0xFFFFFFFF

    # clock -------------------------------------------------------------------------------
    def _clock(self) -> None:
        """Runs in its own thread so a busy event loop (ASR, TTS, other calls) cannot delay the caller's
        audio: sends one packet per 20 ms and asks the loop to pull one frame of caller audio."""
        start = time.monotonic()
        n = 0
        try:
            while not self._stop.is_set():
                n += 1
                if self.relay is None:
                    self._send_frame()
                    self._loop.call_soon_threadsafe(self._receive_frame)  # type: ignore[union-attr]
                due = start + n * FRAME_MS / 1000
                delay = due - time.monotonic()
                if delay < -0.2:  # we were starved (CPU): restart the grid rather than burst
                    start, n = time.monotonic(), 0
                    delay = 0
                if self._stop.wait(max(delay, 0)):
                    break
                self.pacing.record((time.monotonic() - due) * 1000)
        except RuntimeError:  # the event loop is closed: the call is over
            pass
        except Exception:  # a bug here must not take the process down silently
            log.exception("rtp clock on port %s failed", self.local_port)

    def _send_frame(self) -> None:
        with self._lock:
            chunk = bytes(self._out[:FRAME_BYTES])
            del self._out[:FRAME_BYTES]
            speaking = bool(chunk)
            if len(chunk) < FRAME_BYTES:
                chunk += bytes(FRAME_BYTES - len(chunk))
            if not self.hold:
                self._send(self.payload_type, codecs.encode(chunk, self.codec), marker=speaking and not self._speaking)
            else:
                self._ts = (self._ts + FRAME_SAMPLES) & 0xFFFFFFFF
            self._speaking = speaking

    def _receive_frame(self) -> None:
        """On the event loop: one 20 ms frame of caller audio to the pipeline; note when we ran dry."""
        if self._stop.is_set():
            return
        self.on_audio(codecs.decode(self.jitter.pop(), self.codec))
        with self._lock:
            drained = not self._out
        if drained:
            self._played.set()

    def _send(self, pt: int, payload: bytes, *, marker: bool = False, advance: bool = True) -> None:
        """Caller holds self._lock."""
        if self._sock is None or self.remote is None:
            return
        pkt = RtpPacket(pt, self._seq, self._ts, self.ssrc, payload, marker)
        try:
            self._sock.sendto(pkt.to_bytes(), self.remote)
        except OSError as exc:  # peer gone / network down: keep the clock, drop the packet
            log.debug("rtp port %s: %s", self.local_port, exc)
        self._seq = (self._seq + 1) & 0xFFFF
        if advance:
            self._ts = (self._ts + len(payload)) & 0xFFFFFFFF


class PortRange:
    """Hands out even RTP ports from settings.sip.rtp_port_min..max (odd ones are RTCP's)."""

    def __init__(self, low: int, high: int) -> None:
        if low > high:
            raise ValueError(f"RTP port range {low}-{high} is empty")
        self.low, self.high = low + (low % 2), high
        self._next = self.low + 2 * random.randrange(max((self.high - self.low) // 2, 1))

    def candidates(self) -> list[int]:
        ports = list(range(self.low, self.high + 1, 2))
        i = ports.index(self._next) if self._next in ports else 0
        self._next = ports[(i + 1) % len(ports)]
        return ports[i:] + ports[:i]


async def open_rtp(host: str, ports: PortRange, on_audio: Callable[[bytes], None],
                   on_dtmf: Callable[[str], None]) -> RtpSession:
    """Bind a new RTP session to the first free port of the range."""
    loop = asyncio.get_running_loop()
    last_exc: OSError | None = None
    for port in ports.candidates():
        try:
            _, proto = await loop.create_datagram_endpoint(
                lambda: RtpSession(on_audio, on_dtmf), local_addr=(host, port))
        except OSError as exc:
            last_exc = exc
            continue
        proto.local_port = port
        return proto
    raise OSError(f"no free RTP port in {ports.low}-{ports.high}: {last_exc}")

