"""A served process must not grow with the number of calls it has served (bench/soak.py measures it from
outside): once a SIP call has ended, nothing of it stays alive — not its SIP/RTP objects, nor its pipeline.

Counts live objects, not RSS: RSS moves with the allocator and the machine; a call that stays referenced is
exactly the leak, and the count is the same on any machine.
"""

from __future__ import annotations

import asyncio
import gc
import time
import weakref
from pathlib import Path
from typing import Any

import pytest

from tests.support.sip_helpers import RtpCapture, espeak_ulaw, run_sipp, write_pcap
from tests.telephony.conftest import line_services
from voicebot.config import Settings
from voicebot.lines.sip import SipLine, SipLineCall
from voicebot.store.calls import CallStore

pytestmark = [pytest.mark.models, pytest.mark.slow]

CALLS = 3


async def test_ended_sip_calls_leave_nothing_of_theirs_alive(
        line_settings: Settings, call_store: CallStore, sip_models: Any, tmp_path: Path) -> None:
    line = SipLine(line_settings, line_services(line_settings, call_store, sip_models))
    calls: list[weakref.ref[Any]] = []  # each answered call and its RTP session, weakly
    answered = line.ua.on_call

    def tracked(call: SipLineCall) -> None:
        calls.extend((weakref.ref(call), weakref.ref(call.rtp)))
        answered(call)

    line.ua.on_call = tracked
    await line.start()
    capture = await RtpCapture.open()
    write_pcap(tmp_path / "caller.pcap", espeak_ulaw("What are your opening hours?", tmp_path))
    try:
        result = await run_sipp("caller_speaks", line.port, tmp_path, {
            "capture_port": str(capture.port), "pcap": str(tmp_path / "caller.pcap"),
            "greeting_ms": "8000", "listen_ms": "5000"}, calls=CALLS, rate=2, timeout=90)
        deadline = time.monotonic() + 30
        while len(line.finished) < CALLS and time.monotonic() < deadline:  # noqa: ASYNC110 - ends after BYE
            await asyncio.sleep(0.1)
        assert result.returncode == 0, result.stdout + result.log
        assert len(line.finished) == CALLS, "the bot did not finish every call"
        assert len(calls) == 2 * CALLS
        alive = calls
        deadline = time.monotonic() + 5  # an RTP clock thread holds its session until it notices the stop
        while alive and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            gc.collect()
            alive = [c for c in calls if c() is not None]
        # The line still serves (it is not stopped) and still knows how each call ended ...
        assert [f.end_reason for _, f in line.finished] == ["caller hung up"] * CALLS
        # ... but holds none of the ended calls, their RTP sessions or pipelines any more.
        assert not alive, f"still alive after the calls ended: {[type(c()).__name__ for c in alive]}"
        ours = {f"call-{info.call_id}" for info, _ in line.finished}  # voicebot.pipeline.call names them so
        pipelines = [o for o in gc.get_objects() if type(o).__name__ == "PipelineWorker" and o.name in ours]
        assert not pipelines, f"{len(pipelines)} of these calls' pipelines still alive"
    finally:
        capture.close()
        await line.stop()
