"""`voicebot call` end to end, as a user runs it: a subprocess on real WAV files, real models, real Redis."""

from __future__ import annotations

import os
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest
import redis.asyncio as aioredis

from voicebot.config import PROJECT_ROOT
from voicebot.lines.wav import write_wav
from voicebot.pipeline.prosody import rms_dbfs
from voicebot.store.callbacks import CallbackStore
from voicebot.store.calls import CallStore


def _voicebot(*args: str, redis_prefix: str, timeout: float = 180,
             redis_url: str | None = None, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "REDIS_URL": redis_url or os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
           "VOICEBOT_REDIS_PREFIX": redis_prefix, **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "voicebot", *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.models
async def test_call_command_answers_a_wav_caller_and_writes_the_bots_speech(
        tmp_path: Path, speak, redis_client: aioredis.Redis, call_store: CallStore, redis_prefix: str) -> None:
    turn = tmp_path / "turn1.wav"
    write_wav(turn, speak("I would like to check the status of my order.", 16000), 16000)  # 16 kHz file
    out = tmp_path / "bot.wav"

    proc = _voicebot("call", str(turn), "--out", str(out), "--fast", redis_prefix=redis_prefix)

    assert proc.returncode == 0, proc.stderr
    caller_lines = [line for line in proc.stdout.splitlines() if line.startswith("caller:")]
    assert len(caller_lines) == 1 and "order" in caller_lines[0].lower()
    assert "timings after caller stopped" in proc.stdout
    with wave.open(str(out)) as wav:
        assert wav.getframerate() == 8000 and wav.getnchannels() == 1  # a phone line's audio
        audio = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
    assert len(audio) / 8000 > 2.0
    assert rms_dbfs(audio.astype(np.float32) / 32768.0) > -30
    call_ids = await call_store.recent_call_ids()
    assert len(call_ids) == 1  # recorded in Redis under this test's prefix
    turns = await call_store.turns(call_ids[0])
    assert [t.role for t in turns][:2] == ["bot", "caller"]


@pytest.mark.models
def test_call_command_without_redis_still_runs_the_call_and_says_so(tmp_path: Path, speak, redis_prefix: str) -> None:
    turn = tmp_path / "turn.wav"
    write_wav(turn, speak("Hello, is anybody there?", 8000), 8000)
    out = tmp_path / "bot.wav"
    proc = _voicebot("call", str(turn), "--out", str(out), "--fast", redis_prefix=redis_prefix,
                     redis_url="redis://127.0.0.1:1/0")  # nothing listens there
    assert proc.returncode == 0, proc.stderr
    assert "without a store" in proc.stderr
    assert "caller:" in proc.stdout and out.exists() and out.stat().st_size > 8000


def test_call_command_rejects_unusable_audio_with_a_clear_message(tmp_path: Path, redis_prefix: str) -> None:
    eight_bit = tmp_path / "8bit.wav"
    with wave.open(str(eight_bit), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(1)
        wav.setframerate(8000)
        wav.writeframes(bytes(8000))
    not_wav = tmp_path / "notes.wav"
    not_wav.write_text("hello")

    for path, message in ((eight_bit, "only 16-bit PCM"), (not_wav, "not a PCM WAV"),
                          (tmp_path / "missing.wav", "no such file")):
        proc = _voicebot("call", str(path), "--out", str(tmp_path / "o.wav"), redis_prefix=redis_prefix, timeout=60)
        assert proc.returncode == 2
        assert message in proc.stderr and str(path) in proc.stderr
        assert not (tmp_path / "o.wav").exists()


@pytest.mark.models
async def test_call_command_rehearses_a_human_line_that_does_not_answer(
        tmp_path: Path, speak, call_store: CallStore, redis_prefix: str) -> None:
    turn = tmp_path / "ask.wav"
    write_wav(turn, speak("I want to talk to a person.", 8000), 8000)
    proc = _voicebot("call", str(turn), "--out", str(tmp_path / "bot.wav"), "--fast", "--caller", "+48600100900",
                     "--transfer-fails", "agents queue full", redis_prefix=redis_prefix,
                     env_extra={"VOICEBOT_BUSINESS_HOURS_ALWAYS_OPEN": "true"})

    assert proc.returncode == 0, proc.stderr
    assert "outcome: callback, bot hung up" in proc.stdout, proc.stdout
    assert "call you back as soon as possible" in proc.stdout  # the printed transcript
    callback_id = proc.stdout.split("transfer failed (agents queue full); callback request: ")[1].split()[0]
    request = await CallbackStore(call_store.client, call_store.keys).get(callback_id)
    assert request is not None and request.number == "+48600100900"


@pytest.mark.models
def test_call_command_looks_up_an_order_in_the_demo_crm_and_exits_cleanly(tmp_path: Path, speak,
                                                                         redis_prefix: str) -> None:
    # No dialog.crm_url configured (the default): the flows' webhooks reach the demo CRM in the same process.
    ask, number, yes = tmp_path / "ask.wav", tmp_path / "number.wav", tmp_path / "yes.wav"
    write_wav(ask, speak("I would like to check the status of my order.", 8000), 8000)
    write_wav(number, speak("four eight one five two", 8000), 8000)
    write_wav(yes, speak("Yes, that's right.", 8000), 8000)  # to "Did you say order 4 8 1 5 2?" if it is asked
    proc = _voicebot("call", str(ask), str(number), str(yes), "--out", str(tmp_path / "bot.wav"), "--fast",
                     redis_prefix=redis_prefix, env_extra={"VOICEBOT_DIALOG_CRM_URL": ""})

    assert proc.returncode == 0, proc.stderr
    assert "coffee grinder" in proc.stdout, proc.stdout  # the demo CRM's order 48152 was found
    assert "can't reach our system" not in proc.stdout
    assert "Unclosed client session" not in proc.stderr  # the engine's CRM client is closed at exit
    assert "Linking" not in proc.stderr  # pipecat's DEBUG frame wiring stays quiet without -v
