"""Test-side phone switches: an Asterisk-like AudioSocket client and a Twilio-like Media Streams client.

Both behave like the real peers on the wire: they send caller audio in 20 ms frames in real time (silence
when the caller is quiet, as a phone line does), DTMF, and hang-ups, and they collect the bot's audio.
The Twilio client also plays the bot's audio on a simulated real-time clock and echoes marks when the
audio before them has "played" (or at once after a `clear`), as Twilio does.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
import uuid
from dataclasses import dataclass, field

import aiohttp
import numpy as np

from telephony import audiosocket_frames as af
from telephony import codecs
from telephony.twilio_signature import STREAM_TOKEN, signature, stream_token

FRAME_BYTES = 320  # 20 ms of 8 kHz s16le
SILENCE = bytes(FRAME_BYTES)


def rms_dbfs(pcm: bytes) -> float:
    samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype=np.int16).astype(np.float64)
    if samples.size == 0:
        return -120.0
    rms = float(np.sqrt(np.mean(samples**2)))
    return 20 * np.log10(max(rms, 1e-9) / 32768)


@dataclass
class CallerBase:
    """Shared caller logic: a real-time frame clock, bot-audio collection and "wait until the bot is quiet"."""

    bot_audio: bytearray = field(default_factory=bytearray)
    audible_until: float = 0.0  # monotonic time until which the bot's audio is (being) heard
    speech_arrivals: list[float] = field(default_factory=list)  # when audible (> -45 dBFS) bot audio arrived
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    _speech: bytearray = field(default_factory=bytearray)
    _tasks: list[asyncio.Task] = field(default_factory=list)

    async def _send_frame(self, pcm: bytes) -> None:
        raise NotImplementedError

    def _heard(self, pcm: bytes) -> None:
        self.bot_audio += pcm
        if rms_dbfs(pcm) > -45:
            self.speech_arrivals.append(time.monotonic())

    def first_speech_after(self, t: float) -> float | None:
        """Arrival time of the bot's first audible audio after monotonic time `t`."""
        return next((a for a in self.speech_arrivals if a > t), None)

    async def _pump(self) -> None:
        """Send one frame every 20 ms: queued speech, else silence."""
        due = time.monotonic()
        while not self.ended.is_set():
            chunk = bytes(self._speech[:FRAME_BYTES]).ljust(FRAME_BYTES, b"\0")
            del self._speech[:FRAME_BYTES]
            try:
                await self._send_frame(chunk)
            except (ConnectionError, RuntimeError, OSError):
                self.ended.set()
                return
            due += 0.02
            await asyncio.sleep(max(0.0, due - time.monotonic()))

    async def say(self, pcm: bytes, trailing_silence: float = 0.0) -> None:
        """Speak `pcm` and return once it (and the trailing silence) has been sent."""
        self._speech += pcm
        while self._speech and not self.ended.is_set():  # noqa: ASYNC110 - drained by the 20 ms frame clock
            await asyncio.sleep(0.02)
        await asyncio.sleep(trailing_silence)

    async def wait_bot_quiet(self, quiet: float = 1.0, timeout: float = 60.0, heard_from: int = 0) -> bytes:
        """Wait until the bot spoke (past byte `heard_from`) and then stayed quiet for `quiet` s."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.ended.is_set():
                break
            spoke = len(self.bot_audio) > heard_from
            if spoke and time.monotonic() - self.audible_until >= quiet:
                break
            await asyncio.sleep(0.05)
        else:
            raise TimeoutError(f"bot did not finish speaking within {timeout} s")
        return bytes(self.bot_audio[heard_from:])

    async def close_tasks(self) -> None:
        self.ended.set()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


@dataclass
class AudioSocketCaller(CallerBase):
    """What Asterisk's AudioSocket() application does on the wire."""

    call_uuid: str = field(default_factory=lambda: str(uuid.uuid4()))
    hangup_received: bool = False
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None

    async def connect(self, host: str, port: int) -> None:
        self.reader, self.writer = await asyncio.open_connection(host, port)
        self.writer.write(af.uuid_frame(self.call_uuid))
        await self.writer.drain()
        self._tasks = [asyncio.create_task(self._pump()), asyncio.create_task(self._receive())]

    async def _send_frame(self, pcm: bytes) -> None:
        assert self.writer is not None
        self.writer.write(af.audio_frame(pcm))
        await self.writer.drain()

    async def dtmf(self, digit: str) -> None:
        assert self.writer is not None
        self.writer.write(af.dtmf_frame(digit))
        await self.writer.drain()

    async def _receive(self) -> None:
        assert self.reader is not None
        decoder = af.FrameDecoder()
        try:
            while data := await self.reader.read(4096):
                for frame in decoder.feed(data):
                    if frame.kind is af.Kind.AUDIO:
                        self._heard(frame.payload)
                        self.audible_until = time.monotonic() + 0.02
                    elif frame.kind is af.Kind.HANGUP:
                        self.hangup_received = True
        finally:
            self.ended.set()

    async def hangup(self) -> None:
        if self.writer is not None and not self.ended.is_set():
            with contextlib.suppress(ConnectionError, OSError):
                self.writer.write(af.hangup_frame())
                await self.writer.drain()
        await self.close_tasks()
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await self.writer.wait_closed()


@dataclass
class TwilioCaller(CallerBase):
    """What Twilio does on a Media Streams websocket."""

    call_sid: str = field(default_factory=lambda: "CA" + uuid.uuid4().hex)
    stream_sid: str = field(default_factory=lambda: "MZ" + uuid.uuid4().hex)
    caller_number: str = "+48600100200"
    marks_echoed: list[str] = field(default_factory=list)
    wrong_stream: list[dict] = field(default_factory=list)  # messages for another streamSid (a bug)
    clears: int = 0
    ws: aiohttp.ClientWebSocketResponse | None = None
    _seq: int = 0

    async def connect(self, session: aiohttp.ClientSession, url: str, auth_token: str = "",
                      parameters: dict[str, str] | None = None) -> None:
        """Open the stream as Twilio does; with `auth_token`, sign the handshake like Twilio.

        `parameters` are the TwiML <Parameter>s the voice webhook gave; by default the ones it would give
        this caller (the caller's number and its stream token).
        """
        headers = {"X-Twilio-Signature": signature(url, {}, auth_token)} if auth_token else {}
        if parameters is None:
            parameters = {"caller": self.caller_number}
            if auth_token:
                parameters[STREAM_TOKEN] = stream_token(auth_token, self.call_sid, parameters)
        self.ws = await session.ws_connect(url, headers=headers)
        await self.send_json({"event": "connected", "protocol": "Call", "version": "1.0.0"})
        await self.send_json({
            "event": "start", "streamSid": self.stream_sid,
            "start": {"accountSid": "ACtest", "streamSid": self.stream_sid, "callSid": self.call_sid,
                      "tracks": ["inbound"], "customParameters": parameters,
                      "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}},
        })
        self._tasks = [asyncio.create_task(self._pump()), asyncio.create_task(self._receive())]

    async def send_json(self, msg: dict) -> None:
        self._seq += 1
        await self.send_raw(json.dumps({"sequenceNumber": str(self._seq), **msg}))

    async def send_raw(self, text: str) -> None:
        assert self.ws is not None
        await self.ws.send_str(text)

    async def _send_frame(self, pcm: bytes) -> None:
        payload = base64.b64encode(codecs.encode(pcm, "PCMU")).decode("ascii")
        await self.send_json({"event": "media", "streamSid": self.stream_sid,
                              "media": {"track": "inbound", "payload": payload}})

    async def dtmf(self, digit: str) -> None:
        await self.send_json({"event": "dtmf", "streamSid": self.stream_sid,
                              "dtmf": {"track": "inbound_track", "digit": digit}})

    async def _receive(self) -> None:
        assert self.ws is not None
        try:
            async for msg in self.ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    break
                data = json.loads(msg.data)
                if data.get("streamSid") != self.stream_sid:
                    self.wrong_stream.append(data)
                now = time.monotonic()
                if data["event"] == "media":
                    pcm = codecs.decode(base64.b64decode(data["media"]["payload"]), "PCMU")
                    self._heard(pcm)
                    self.audible_until = max(self.audible_until, now) + len(pcm) / 16000
                elif data["event"] == "mark":
                    name = data["mark"]["name"]
                    self._tasks.append(asyncio.create_task(self._echo_mark(name, self.audible_until)))
                elif data["event"] == "clear":
                    self.clears += 1
                    self.audible_until = now  # pending marks see the new clock and echo at once
        finally:
            self.ended.set()

    async def _echo_mark(self, name: str, at: float) -> None:
        # The play clock moves back on `clear`, so poll it rather than sleeping a fixed time.
        while time.monotonic() < min(at, self.audible_until):  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        self.marks_echoed.append(name)
        await self.send_json({"event": "mark", "streamSid": self.stream_sid, "mark": {"name": name}})

    async def hangup(self) -> None:
        if self.ws is not None and not self.ws.closed:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self.send_json({"event": "stop", "streamSid": self.stream_sid,
                                      "stop": {"accountSid": "ACtest", "callSid": self.call_sid}})
        await self.close_tasks()
        if self.ws is not None:
            await self.ws.close()
