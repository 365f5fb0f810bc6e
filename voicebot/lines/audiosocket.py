"""Asterisk AudioSocket server: every TCP connection is one call, seen by the pipeline as a `CallMedia`.

Asterisk connects when the dialplan runs `AudioSocket(uuid,host:port)`, sends the UUID frame, then 20 ms
audio frames (and DTMF) until someone hangs up. We answer with audio frames paced in real time.

Handing over: AudioSocket cannot set channel variables, so the line records the outcome (transfer +
handoff id, or hang-up) in Redis (leg_outcome.py) and closes the leg with a hangup frame; the dialplan
then continues, asks `GET /api/audiosocket/{uuid}/next` whether to queue the caller, and fetches the
handoff id for the agent (telephony/README.md). Any failure on our side ends the leg WITHOUT a hang-up
record, which the dialplan treats as "queue to the agents": a broken bot never drops a caller.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from telephony import audiosocket_frames as af
from voicebot.dialog.types import CallInfo
from voicebot.lines.leg_outcome import LegOutcome, LegOutcomes
from voicebot.lines.switch_access import peer_allowed
from voicebot.pipeline.media import (
    AudioIn,
    CallMedia,
    DtmfIn,
    HangupIn,
    MediaEvent,
    TransferResult,
    events_until_hangup,
)

log = logging.getLogger(__name__)

SAMPLE_RATE = 8000
FRAME_BYTES = SAMPLE_RATE * 2 * 20 // 1000  # 20 ms of s16le
FRAME_SECS = 0.02

CallRunner = Callable[[CallMedia, CallInfo], Awaitable[object]]


class AudioSocketLine:
    """One AudioSocket connection after its UUID frame: a `CallMedia`."""

    sample_rate = SAMPLE_RATE

    def __init__(
        self,
        call_uuid: str,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        outcomes: LegOutcomes,
        idle_timeout: float = 10.0,
    ) -> None:
        self.call_uuid = call_uuid
        self._reader = reader
        self._writer = writer
        self._outcomes = outcomes
        self._idle_timeout = idle_timeout
        self._decoder = af.FrameDecoder()
        self._events: asyncio.Queue[MediaEvent] = asyncio.Queue()
        self._out = bytearray()
        self._wake = asyncio.Event()
        self._played = asyncio.Event()
        self._played.set()
        self._closed = False
        self.protocol_errors: list[str] = []
        self._tasks = [asyncio.create_task(self._read_loop()), asyncio.create_task(self._send_loop())]

    # -- CallMedia ---------------------------------------------------------------------------------
    def events(self) -> AsyncIterator[MediaEvent]:
        return events_until_hangup(self._events)

    async def play(self, pcm: bytes) -> None:
        if self._closed or not pcm:
            return
        self._out += pcm
        self._played.clear()
        self._wake.set()

    async def clear(self) -> None:
        self._out.clear()
        self._played.set()

    async def wait_played(self) -> None:
        await self._played.wait()

    async def transfer(self, handoff_id: str, target: str | None = None) -> TransferResult:
        stored = await self._outcomes.record(self.call_uuid, LegOutcome(
            "transfer", handoff_id=handoff_id, channel="audiosocket", detail=target or "agents queue"))
        await self._close(send_hangup=True)
        where = "redis" if stored else "this process only (redis unavailable)"
        kept = f"handoff id {handoff_id} in {where}" if handoff_id else "no handoff id"
        return TransferResult(ok=True, detail=f"AudioSocket leg closed for the dialplan's queue; {kept}")

    async def hangup(self) -> None:
        await self._outcomes.record(self.call_uuid, LegOutcome("hangup", channel="audiosocket", detail="bot ended"))
        await self._close(send_hangup=True)

    # -- internals ---------------------------------------------------------------------------------
    async def _read_loop(self) -> None:
        reason = "caller hung up"
        try:
            while True:
                try:
                    data = await asyncio.wait_for(self._reader.read(4096), self._idle_timeout)
                except TimeoutError:
                    # Asterisk sends audio every 20 ms while the call lives; silence means a dead link.
                    reason = f"no data from Asterisk for {self._idle_timeout:.0f} s"
                    break
                if not data:
                    break
                frames = self._decoder.feed(data)
                if self._handle(frames):
                    break
        except ValueError as exc:
            # No way to resync a TCP byte stream after a bad header: end this leg, queue the caller.
            reason = f"protocol error: {exc}"
            self.protocol_errors.append(str(exc))
            log.warning("audiosocket %s: %s; handing the caller to the agents", self.call_uuid, exc)
        except (ConnectionError, OSError) as exc:
            reason = f"connection lost: {exc}"
        await self._events.put(HangupIn(reason))
        await self._close(send_hangup=False)

    def _handle(self, frames: list[af.Frame]) -> bool:
        """Queue frames as media events; True when the stream is over."""
        for frame in frames:
            if frame.kind is af.Kind.AUDIO:
                self._events.put_nowait(AudioIn(frame.payload))
            elif frame.kind is af.Kind.DTMF:
                self._events.put_nowait(DtmfIn(frame.digit))
            elif frame.kind is af.Kind.HANGUP:
                return True
            elif frame.kind is af.Kind.ERROR:
                log.warning("audiosocket %s: Asterisk reported error %s", self.call_uuid, frame.payload.hex())
                return True
            # A second UUID frame carries nothing new; ignore it.
        return False

    async def _send_loop(self) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time()
        try:
            while not self._closed:
                if not self._out:
                    self._played.set()
                    self._wake.clear()
                    await self._wake.wait()
                    due = loop.time()
                    continue
                chunk = bytes(self._out[:FRAME_BYTES]).ljust(FRAME_BYTES, b"\0")
                del self._out[:FRAME_BYTES]
                self._writer.write(af.audio_frame(chunk))
                await self._writer.drain()
                # Absolute schedule so the pace does not drift with scheduling delays.
                due = max(due + FRAME_SECS, loop.time() - 0.1)
                await asyncio.sleep(due - loop.time())
        except (ConnectionError, OSError):
            self._out.clear()
        self._played.set()

    async def _close(self, send_hangup: bool) -> None:
        if self._closed:
            return
        self._closed = True
        self._out.clear()
        self._played.set()
        self._wake.set()
        with contextlib.suppress(ConnectionError, OSError, RuntimeError):
            if send_hangup:
                self._writer.write(af.hangup_frame())
                await self._writer.drain()
            self._writer.close()
            await self._writer.wait_closed()

    async def aclose(self) -> None:
        await self._close(send_hangup=False)
        current = asyncio.current_task()
        for task in self._tasks:
            if task is not current:
                task.cancel()
        for task in self._tasks:
            if task is not current:
                with contextlib.suppress(asyncio.CancelledError):
                    await task


class AudioSocketServer:
    """TCP listener; one `run_call` per connection."""

    def __init__(
        self, host: str, port: int, run_call: CallRunner, outcomes: LegOutcomes, *,
        language: str = "en", flow_id: str = "customer_service", uuid_timeout: float = 5.0,
        idle_timeout: float = 10.0, max_calls: int = 32,
        allowed_peers: tuple[str, ...] = ("127.0.0.1/8", "::1"), draining: Callable[[], bool] = lambda: False,
    ) -> None:
        self.host, self.port = host, port
        self._run_call = run_call
        self.outcomes = outcomes
        self._language, self._flow_id = language, flow_id
        self._uuid_timeout, self._idle_timeout = uuid_timeout, idle_timeout
        self._max_calls = max_calls
        self._allowed_peers = allowed_peers
        self._draining = draining  # the worker's drain (voicebot/drain.py): no new calls while it runs
        self._server: asyncio.Server | None = None
        self._calls: set[asyncio.Task] = set()
        self.rejected = 0  # connections dropped before a call started (bad first frame, over capacity)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._on_connect, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("audiosocket: listening on %s:%d", self.host, self.port)

    async def close(self) -> None:
        if self._server:
            self._server.close()
        for task in list(self._calls):
            task.cancel()
        await asyncio.gather(*self._calls, return_exceptions=True)
        if self._server:
            await self._server.wait_closed()

    @property
    def active_calls(self) -> int:
        return len(self._calls)

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._calls.add(task)
        try:
            await self._serve(reader, writer)
        finally:
            self._calls.discard(task)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        if not peer_allowed(peer[0] if peer else None, self._allowed_peers):
            self.rejected += 1
            log.warning("audiosocket: refusing a connection from %s (not in audiosocket.allowed_peers)", peer)
            await _abort(writer)
            return
        try:
            call_uuid = await asyncio.wait_for(self._read_uuid(reader), self._uuid_timeout)
        except (ValueError, TimeoutError, asyncio.IncompleteReadError, ConnectionError, OSError) as exc:
            self.rejected += 1
            log.warning("audiosocket: dropping connection from %s: no valid UUID frame (%s)", peer, exc)
            await _abort(writer)
            return
        if self._draining():
            # A clear refusal, as SIP's 503: hung up at once with the outcome "transfer", so the dialplan's
            # /next sends the caller to the agents' queue instead of leaving them with silence.
            self.rejected += 1
            log.warning("audiosocket: %s refused: this worker is draining", call_uuid)
            await self.outcomes.record(call_uuid, LegOutcome("transfer", channel="audiosocket",
                                                             detail="refused: the worker is draining"))
            await _abort(writer, af.hangup_frame())
            return
        if len(self._calls) > self._max_calls:
            # No outcome recorded: the dialplan queues the caller to a human.
            self.rejected += 1
            log.warning("audiosocket: %s rejected, %d calls already running", call_uuid, self._max_calls)
            await _abort(writer, af.hangup_frame())
            return
        line = AudioSocketLine(call_uuid, reader, writer, self.outcomes, self._idle_timeout)
        announced = await self.outcomes.announcement(call_uuid)
        info = CallInfo(call_id=call_uuid, caller_number=announced.caller_number,
                        language=announced.language or self._language, flow_id=self._flow_id, channel="audiosocket",
                        language_fixed=bool(announced.language))
        try:
            await self._run_call(line, info)
        except asyncio.CancelledError:
            raise
        except Exception:
            # The pipeline should never raise; if it does, the leg closes with no outcome recorded and
            # the dialplan puts the caller in the agents' queue.
            log.exception("audiosocket %s: the call failed; handing the caller to the agents", call_uuid)
        finally:
            await line.aclose()

    @staticmethod
    async def _read_uuid(reader: asyncio.StreamReader) -> str:
        kind, length = af.parse_header(await reader.readexactly(af.HEADER_SIZE))
        if kind is not af.Kind.UUID:
            raise ValueError(f"first frame is {kind.name}, expected UUID")
        return af.parse_frame(kind, await reader.readexactly(length)).call_uuid


async def _abort(writer: asyncio.StreamWriter, last: bytes = b"") -> None:
    with contextlib.suppress(ConnectionError, OSError, RuntimeError):
        if last:
            writer.write(last)
            await writer.drain()
        writer.close()
        await writer.wait_closed()
