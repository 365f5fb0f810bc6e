"""The call recorder: two sides on one timeline as the caller heard them, a real Ogg Opus file, a Redis index
entry, and a recording that fails without taking the call with it."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import numpy as np
import soundfile

from voicebot.pipeline.recorder import BOT, CALLER, CallRecorder, Timeline
from voicebot.store.calls import CallStore
from voicebot.store.recordings import RecordingIndex

RATE = 8000


def tone(seconds: float, freq: float, level: float = 8000) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (np.sin(2 * np.pi * freq * t) * level).astype(np.int16)


def test_bot_audio_queued_ahead_is_cut_where_the_caller_barged_in() -> None:
    tl = Timeline(resync=2000)
    tl.bot(tone(1.0, 400), now=0)
    tl.bot(tone(1.0, 400), now=100)  # queued behind the first second, not on top of it
    assert tl.bot_end == 2 * RATE
    tl.clear_bot(now=RATE // 2)  # barge-in half a second in: the rest was never heard
    out = tl.take(3 * RATE)
    assert np.abs(out[: RATE // 2, BOT]).max() > 4000
    assert not out[RATE // 2:, BOT].any()
    assert not out[:, CALLER].any()


def test_caller_packets_follow_each_other_and_jump_ahead_after_a_quiet_line() -> None:
    tl = Timeline(resync=2000)
    for i in range(10):  # 20 ms packets, a little jitter in when they arrive: laid end to end
        tl.caller(tone(0.02, 300), now=(i + 1) * 160 + (40 if i % 2 else -40))
    assert tl.caller_end == 1600
    tl.caller(tone(0.02, 300), now=RATE * 2)  # no packets for ~2 s (the line sent nothing)
    assert tl.caller_end == RATE * 2
    out = tl.take(RATE * 2)
    assert np.abs(out[:1600, CALLER]).min() >= 0 and np.abs(out[:1600, CALLER]).max() > 4000
    assert not out[1600: RATE * 2 - 160, CALLER].any()
    assert np.abs(out[RATE * 2 - 160:, CALLER]).max() > 4000


def test_audio_already_in_the_file_is_not_rewritten() -> None:
    tl = Timeline(resync=RATE * 10)
    tl.bot(tone(0.5, 400), now=0)
    first = tl.take(RATE // 4)
    assert len(first) == RATE // 4 and tl.written == RATE // 4
    tl.clear_bot(now=0)  # a clear reaching back before what was written only cuts what is still pending
    rest = tl.take(RATE // 2)
    assert len(rest) == RATE // 4 and not rest[:, BOT].any()


async def test_recording_holds_both_sides_and_is_indexed(call_store: CallStore, tmp_path: Path) -> None:
    index = RecordingIndex(call_store)
    await call_store.start_call("rec-1", caller_number="48500100200")
    recorder = await CallRecorder.start(tmp_path / "recordings", "rec-1", RATE, index)
    # caller speaks for a second in 20 ms packets as a line delivers them, then the bot answers
    for chunk in np.split(tone(1.0, 300), 50):
        recorder.caller(chunk.tobytes())
        await asyncio.sleep(0.02)
    recorder.bot(tone(1.0, 700).tobytes())
    # a line plays it in real time: the call ends once it has been heard
    await asyncio.sleep(max(recorder._timeline.bot_end - recorder._now(), 0) / RATE + 0.05)
    await recorder.close()

    found = await index.get("rec-1")
    assert found is not None and found.state == "complete" and found.content_type == "audio/ogg"
    assert found.path == recorder.path and found.path.parent == tmp_path / "recordings"
    audio, rate = soundfile.read(found.path, dtype="int16")
    assert rate == RATE and audio.shape[1] == 2
    assert found.seconds >= 1.9

    def energy(channel: int, freq: float) -> float:
        spectrum = np.abs(np.fft.rfft(audio[:, channel].astype(float)))
        hz = np.fft.rfftfreq(len(audio), 1 / RATE)
        return float(spectrum[np.abs(hz - freq) < 20].sum())

    assert energy(CALLER, 300) > 10 * energy(CALLER, 700)  # each side on its own channel
    assert energy(BOT, 700) > 10 * energy(BOT, 300)


async def test_a_failing_disk_stops_the_recording_not_the_call(call_store: CallStore) -> None:
    index = RecordingIndex(call_store)
    # /dev/full: every write fails with "no space left", as a full disk would
    sound_file = soundfile.SoundFile("/dev/full", "w", samplerate=RATE, channels=2, format="OGG", subtype="OPUS")
    recorder = CallRecorder(Path("/dev/full"), RATE, sound_file, index, "rec-full")
    recorder.caller((np.random.default_rng(1).normal(0, 3000, RATE * 3)).astype(np.int16).tobytes())
    await recorder.close()  # does not raise
    assert not recorder.recording
    recorder.caller(tone(0.1, 300).tobytes())  # later audio is ignored, not an error
    found = await index.get("rec-full")
    assert found is not None and found.state == "failed" and found.error


async def test_retention_removes_recordings_whose_index_entry_never_came(call_store: CallStore,
                                                                          tmp_path: Path) -> None:
    """A process that died mid-call left a file and no `recording:` entry: retention still deletes it by age."""
    from voicebot.store.retention import delete_old_calls

    old, recent = tmp_path / "old-call.ogg", tmp_path / "recent-call.ogg"
    for f in (old, recent):
        soundfile.write(f, tone(0.5, 300), RATE, format="OGG", subtype="OPUS")
    ten_days_ago = time.time() - 10 * 86400
    os.utime(old, (ten_days_ago, ten_days_ago))
    await delete_old_calls(call_store, 7, recordings_dir=tmp_path)
    assert not old.exists() and recent.exists()
