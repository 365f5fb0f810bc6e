"""Phone callers for `bench/calls.py`: SIP over UDP and G.711 RTP, timed by the caller's own packets.

Every call is a real SIP dialog (INVITE/ACK/BYE; a REFER from the bot is accepted and the caller leaves, as
a phone does on a transfer) with an RTP stream sent every 20 ms, silence between sentences. The caller stamps
each RTP packet it sends and each one it receives with the same monotonic clock, in this process, so a
turn's latency is what a caller on the line experiences: from the send time of the last voiced packet of
its sentence to the arrival of the bot's first voiced packet after it. Queueing anywhere in the bot (before
the VAD, in ASR, in TTS, in the RTP pacer) is inside that number.

A caller may also type a sentence's number on the keypad (bench/phone.py's `keypad: true` callers): RFC 4733
telephone-events on the same RTP stream (payload type 101, offered in its SDP), one 100 ms press per digit with
the tests' payloads, silence between presses.

Deliberately independent of the bot's SIP/RTP code: its own message text, its own parsing, the tests' G.711 and
telephone-event payloads.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import struct
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import numpy as np

from tests.support.sip_helpers import telephone_event_payloads, ulaw_to_pcm  # the tests' own, not the bot's

FRAME_S = 0.02
FRAME_BYTES = 160  # PCMU, 8 kHz
SILENCE = b"\xff" * FRAME_BYTES
VOICED_DBFS = -40.0  # a 20 ms frame louder than this is speech (line silence and comfort noise are far below)
EVENT_PT = 101  # telephone-event, as offered in the INVITE's SDP (the bot answers with the caller's type)
EVENT_BYTES = 4  # an RFC 4733 payload; PCMU frames are FRAME_BYTES, so a frame's length says which it is
KEY_GAP_FRAMES = 10  # 200 ms of silence between key presses, a quick typist (the bot ends an entry after 0.8 s)


def voiced(frame: bytes) -> bool:
    pcm = ulaw_to_pcm(frame).astype(np.float64)
    rms = np.sqrt(np.mean(pcm**2) + 1e-9) / 32768
    return 20 * np.log10(rms) > VOICED_DBFS


@dataclass(frozen=True)
class Sentence:
    """One caller sentence as PCMU frames, and which of them is its last voiced one; a typed sentence's frames
    are telephone-event payloads (EVENT_BYTES long) and silence, and `keys` are the digits typed."""

    text: str
    frames: tuple[bytes, ...]
    last_voiced: int
    keys: str = ""

    @classmethod
    def from_ulaw(cls, text: str, ulaw: bytes) -> Sentence:
        ulaw += b"\xff" * (-len(ulaw) % FRAME_BYTES)
        frames = tuple(ulaw[i:i + FRAME_BYTES] for i in range(0, len(ulaw), FRAME_BYTES))
        loud = [i for i, f in enumerate(frames) if voiced(f)]
        if not loud:
            raise ValueError(f"caller sentence {text!r} has no voiced audio")
        return cls(text, frames[: loud[-1] + 1], loud[-1])

    @classmethod
    def keypad(cls, text: str, keys: str) -> Sentence:
        """The sentence's number typed instead of spoken: each key a press, silence between presses; the last
        "voiced" frame is the last press's final end packet (the caller's turn is over when it is sent)."""
        if not keys:
            raise ValueError(f"nothing to type for {text!r}")
        frames: list[bytes] = []
        for i, key in enumerate(keys):
            if i:
                frames += [SILENCE] * KEY_GAP_FRAMES
            frames += telephone_event_payloads(key)
        return cls(text, tuple(frames), len(frames) - 1, keys)


@dataclass
class TurnResult:
    call: int
    turn: int
    text: str
    spoke_start: float = 0.0  # when the sentence started going out
    spoke_end: float = 0.0  # send time of the sentence's last voiced RTP packet
    talked_over: bool = False  # the bot spoke while the caller was saying this sentence
    answered: float | None = None  # arrival of the bot's first voiced RTP packet after it

    @property
    def latency_ms(self) -> float | None:
        return None if self.answered is None else (self.answered - self.spoke_end) * 1000


@dataclass
class CallResult:
    index: int
    turns: list[TurnResult] = field(default_factory=list)
    setup_error: str = ""  # the call was not answered (SIP error, timeout)
    transferred_before_first_turn: bool = False  # the bot turned the call away (busy path) or handed it over
    transferred: bool = False
    bot_hung_up: bool = False
    greeting_heard: bool = False


class _Rtp(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.voiced_at: list[float] = []  # arrival times of the bot's voiced packets
        self.spoke = asyncio.Event()  # the bot has said something
        self.last_packet = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        now = time.monotonic()
        if len(data) < 12 or data[1] & 0x7F != 0:
            return  # not PCMU (e.g. telephone-event)
        self.last_packet = now
        if voiced(data[12:]):
            self.voiced_at.append(now)
            self.spoke.set()

    def first_voiced_after(self, t: float) -> float | None:
        return next((v for v in self.voiced_at if v > t), None)

    def last_voiced(self) -> float:
        return self.voiced_at[-1] if self.voiced_at else 0.0


class _Sip(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.inbox: asyncio.Queue[tuple[str, dict[str, str], str]] = asyncio.Queue()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        text = data.decode("utf-8", "replace")
        head, _, body = text.partition("\r\n\r\n")
        lines = head.split("\r\n")
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers.setdefault(name.strip().lower(), value.strip())
        self.inbox.put_nowait((lines[0], headers, body))


# After the bot's answer to a sentence: what the caller says before going on with its script (bench/phone.py
# answers a number read-back this way); [] for nothing.
React = Callable[[Sentence], Awaitable[list[Sentence]]]
# Just before a sentence (the bot has answered the last one and gone quiet): what the caller does instead, or the
# sentence itself (bench/phone.py's keypad caller types the number at a number question).
Choose = Callable[[Sentence], Awaitable[Sentence]]


def caller_number(index: int) -> str:
    """The caller's own number (its SIP From user): one per caller, so a bench can find its call's record."""
    return f"+4850010{index:04d}"


class BenchCall:
    """One caller: dial, hear the greeting, wait its turn in the cycle, say each sentence, wait for the answer."""

    def __init__(self, index: int, host: str, port: int, sentences: list[Sentence], *, start_delay_s: float,
                 answer_timeout_s: float = 6.0, gap_s: float = 1.0, react: React | None = None,
                 choose: Choose | None = None) -> None:
        self.index = index
        self.host, self.port = host, port
        self.sentences = sentences
        self.start_delay_s = start_delay_s
        self.answer_timeout_s = answer_timeout_s
        self.gap_s = gap_s  # the caller speaks again once the bot has been quiet this long
        self.react = react
        self.choose = choose
        self.result = CallResult(index)
        self._rtp = _Rtp()
        self._sip = _Sip()
        self._talking: list[bytes] = []  # frames still to send; silence when empty
        # Per frame in `_talking`: the future told the send time of the sentence's last voiced frame.
        self._talking_marks: list[asyncio.Future[float] | None] = []
        self._listen_from = 0.0  # the bot's silence counts from here (its earlier speech is another turn's)
        self._ended = asyncio.Event()
        self._tag = uuid.uuid4().hex[:8]
        self._call_id = f"{uuid.uuid4().hex}@bench"
        self._cseq = 1
        self._to = ""
        self._remote_rtp: tuple[str, int] | None = None

    async def run(self) -> CallResult:
        loop = asyncio.get_running_loop()
        await asyncio.sleep(self.start_delay_s)
        await loop.create_datagram_endpoint(lambda: self._rtp, local_addr=("127.0.0.1", 0))
        await loop.create_datagram_endpoint(lambda: self._sip, local_addr=("127.0.0.1", 0))
        sender: asyncio.Task[None] | None = None
        listener: asyncio.Task[None] | None = None
        try:
            if not await self._invite():
                return self.result
            sender = asyncio.create_task(self._send_rtp())
            listener = asyncio.create_task(self._listen())
            await self._converse()
            if not self._ended.is_set():
                await self._bye()
        finally:
            for task in (sender, listener):
                if task is not None:
                    task.cancel()
            for proto in (self._rtp, self._sip):
                if proto.transport is not None:
                    proto.transport.close()
        return self.result

    # -- SIP ------------------------------------------------------------------------------------
    @property
    def caller_number(self) -> str:
        return caller_number(self.index)

    @property
    def _local(self) -> tuple[int, int]:
        assert self._sip.transport is not None and self._rtp.transport is not None
        return self._sip.transport.get_extra_info("sockname")[1], self._rtp.transport.get_extra_info("sockname")[1]

    def _request(self, method: str, body: str = "", cseq: int | None = None) -> bytes:
        sip_port, _ = self._local
        lines = [
            f"{method} sip:voicebot@{self.host}:{self.port} SIP/2.0",
            f"Via: SIP/2.0/UDP 127.0.0.1:{sip_port};branch=z9hG4bK{uuid.uuid4().hex[:12]}",
            f"From: <sip:{self.caller_number}@127.0.0.1:{sip_port}>;tag={self._tag}",
            f"To: {self._to or f'<sip:voicebot@{self.host}:{self.port}>'}",
            f"Call-ID: {self._call_id}", f"CSeq: {cseq or self._cseq} {method}",
            f"Contact: <sip:bench@127.0.0.1:{sip_port}>", "Max-Forwards: 70",
        ]
        if body:
            lines.append("Content-Type: application/sdp")
        lines.append(f"Content-Length: {len(body.encode())}")
        return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()

    def _send(self, data: bytes) -> None:
        assert self._sip.transport is not None
        self._sip.transport.sendto(data, (self.host, self.port))

    async def _invite(self) -> bool:
        _, rtp_port = self._local
        sdp = (f"v=0\r\no=bench 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
               f"m=audio {rtp_port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
               "a=sendrecv\r\n")
        invite = self._request("INVITE", sdp)
        deadline = time.monotonic() + 15
        self._send(invite)
        next_retry = time.monotonic() + 0.5
        while time.monotonic() < deadline:
            try:
                first, headers, body = await asyncio.wait_for(self._sip.inbox.get(),
                                                              max(0.01, next_retry - time.monotonic()))
            except TimeoutError:
                self._send(invite)  # UDP: retransmit like a phone (RFC 3261 timer A, simplified)
                next_retry = time.monotonic() + 1.0
                continue
            status = _status(first)
            if status is None or status < 200:
                continue
            if status >= 300:
                self.result.setup_error = first
                return False
            self._to = headers.get("to", headers.get("t", ""))
            media = re.search(r"^m=audio (\d+)", body, re.M)
            conn = re.search(r"^c=IN IP4 (\S+)", body, re.M)
            if not media or not conn:
                self.result.setup_error = "200 OK without an audio stream"
                return False
            self._remote_rtp = (conn.group(1), int(media.group(1)))
            self._send(self._request("ACK", cseq=1))
            return True
        self.result.setup_error = "no final answer to INVITE within 15 s"
        return False

    async def _listen(self) -> None:
        """Requests from the bot during the call: BYE ends it; REFER (a transfer) is accepted and we leave."""
        while True:
            first, headers, _ = await self._sip.inbox.get()
            method = first.split(" ", 1)[0]
            if _status(first) is not None or method == "ACK":
                continue
            self._send(_response(202 if method == "REFER" else 200, headers))
            if method == "BYE":
                self.result.bot_hung_up = True
                self._ended.set()
            elif method == "REFER":
                self.result.transferred = True
                self.result.transferred_before_first_turn = not self.result.turns
                await asyncio.sleep(0.2)
                await self._bye()
                self._ended.set()

    async def _bye(self) -> None:
        self._cseq += 1
        self._send(self._request("BYE"))

    # -- RTP ------------------------------------------------------------------------------------
    async def _send_rtp(self) -> None:
        assert self._rtp.transport is not None and self._remote_rtp is not None
        seq, ts, ssrc = random.randrange(1 << 16), random.randrange(1 << 32), random.randrange(1 << 32)
        press_ts: int | None = None  # RFC 4733: every packet of one key press carries the press's start time
        t0 = time.monotonic()
        k = 0
        while True:
            k += 1
            delay = t0 + k * FRAME_S - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            frame, mark = (self._talking.pop(0), self._talking_marks.pop(0)) if self._talking else (SILENCE, None)
            if len(frame) == EVENT_BYTES:
                first = press_ts is None
                press_ts = ts if first else press_ts
                header = struct.pack("!BBHII", 0x80, (0x80 if first else 0) | EVENT_PT, seq & 0xFFFF,
                                     press_ts & 0xFFFFFFFF, ssrc)
            else:
                press_ts = None
                header = struct.pack("!BBHII", 0x80, 0, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc)
            self._rtp.transport.sendto(header + frame, self._remote_rtp)
            if mark is not None:
                mark.set_result(time.monotonic())  # this packet carried the sentence's last voiced frame
            seq, ts = seq + 1, ts + FRAME_BYTES

    async def _say(self, sentence: Sentence) -> float:
        """Queue the sentence on the RTP stream; returns the send time of its last voiced packet."""
        done: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._talking_marks = [done if i == sentence.last_voiced else None for i in range(len(sentence.frames))]
        self._talking = list(sentence.frames)
        return await done

    # -- the conversation -------------------------------------------------------------------------
    async def _quiet_for(self, seconds: float, timeout: float) -> bool:
        """Wait until the bot has been silent `seconds` (True) or `timeout` passes / the call ends (False)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self._ended.is_set():
            if time.monotonic() - max(self._rtp.last_voiced(), self._listen_from) >= seconds:
                return True
            await asyncio.sleep(0.02)
        return False

    async def _converse(self) -> None:
        self._listen_from = time.monotonic()
        # The greeting: wait until the bot has spoken and gone quiet.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._rtp.spoke.wait(), 15)
        self.result.greeting_heard = bool(self._rtp.voiced_at)
        await self._quiet_for(self.gap_s, 30)
        script = list(self.sentences)
        i = 0
        while script:
            sentence = script.pop(0)
            if self._ended.is_set():
                return
            if self.choose is not None:
                sentence = await self.choose(sentence)
            turn = TurnResult(self.index, i, sentence.text)
            i += 1
            self.result.turns.append(turn)
            turn.spoke_start = time.monotonic()
            turn.spoke_end = await self._say(sentence)
            turn.talked_over = any(turn.spoke_start < v < turn.spoke_end for v in self._rtp.voiced_at)
            deadline = turn.spoke_end + self.answer_timeout_s
            while turn.answered is None and time.monotonic() < deadline and not self._ended.is_set():
                turn.answered = self._rtp.first_voiced_after(turn.spoke_end)
                await asyncio.sleep(0.01)
            self._listen_from = time.monotonic()
            await self._quiet_for(self.gap_s, 30)  # let the bot finish its answer before the next sentence
            if self.react is not None and not self._ended.is_set():
                script[:0] = await self.react(sentence)


def _status(first_line: str) -> int | None:
    m = re.match(r"SIP/2\.0 (\d{3})", first_line)
    return int(m.group(1)) if m else None


def _response(status: int, headers: dict[str, str]) -> bytes:
    reason = {200: "OK", 202: "Accepted"}[status]
    lines = [f"SIP/2.0 {status} {reason}"]
    for name in ("via", "from", "to", "call-id", "cseq"):
        if name in headers:
            lines.append(f"{name.title()}: {headers[name]}")
    lines.append("Content-Length: 0")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()
