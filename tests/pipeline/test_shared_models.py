"""Loading the speech models: clear errors for missing voices, espeak-ng fallback, /health and /metrics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from aiohttp.test_utils import TestClient, TestServer

from voicebot.app import create_app
from voicebot.config import Settings, load_settings
from voicebot.models.catalog import ModelMissing
from voicebot.pipeline.models import SharedModels
from voicebot.pipeline.voices import EspeakVoice

pytestmark = pytest.mark.models


def _settings(tmp_path: Path, **env: str) -> Settings:
    return load_settings(tmp_path / "none.toml", {"VOICEBOT_HTTP_PORT": "0", **env})


def test_a_configured_voice_that_is_not_installed_stops_start_up_naming_it(tmp_path: Path, models_dir: Path) -> None:
    settings = _settings(tmp_path, VOICEBOT_TTS_VOICES='{ en = "en_US-joe-medium", pl = "pl_PL-gosia-medium" }',
                         VOICEBOT_TTS_FALLBACK='""')
    with pytest.raises(ModelMissing) as err:
        SharedModels.load(settings)
    assert "pl_PL-gosia-medium" in str(err.value) and "add-voice" in str(err.value)


async def test_espeak_fallback_speaks_a_language_without_a_piper_voice(tmp_path: Path, models_dir: Path) -> None:
    settings = _settings(tmp_path, VOICEBOT_TTS_VOICES='{ en = "en_US-joe-medium", pl = "pl_PL-gosia-medium" }',
                         VOICEBOT_TTS_FALLBACK="espeak-ng")
    models = SharedModels.load(settings)
    try:
        assert isinstance(models.tts.voice("pl"), EspeakVoice)
        pieces = [p async for p in models.tts.stream("Dzień dobry. W czym mogę pomóc?", "pl", 8000)]
    finally:
        models.close()
    assert len(pieces) == 2  # streamed sentence by sentence
    audio = np.frombuffer(b"".join(pieces), dtype=np.int16)
    assert len(audio) / 8000 > 1.0 and np.abs(audio).max() > 1000


async def test_the_shipped_settings_speak_polish_with_the_bundled_espeak_ng(tmp_path: Path, models_dir: Path) -> None:
    # config.toml as shipped, no Polish piper voice: the espeakng-loader wheel speaks, no binary needed.
    settings = load_settings(Path(__file__).parents[2] / "config.toml", {"VOICEBOT_HTTP_PORT": "0"})
    models = SharedModels.load(settings)
    try:
        voice = models.tts.voice("pl")
        pcm = await models.tts.synthesize("Dzień dobry. W czym mogę pomóc?", "pl", 8000)
    finally:
        models.close()
    assert isinstance(voice, EspeakVoice) and voice.engine.startswith("libespeak-ng")
    audio = np.frombuffer(pcm, dtype=np.int16)
    assert len(audio) / 8000 > 1.0 and np.abs(audio).max() > 1000


def test_models_list_says_which_voice_each_language_uses(models_dir: Path, capsys: pytest.CaptureFixture) -> None:
    from voicebot.cli import main

    assert main(["models", "list"]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[2:]}
    assert "piper en_US-joe-medium" in rows["en"]
    assert "espeak-ng (pl; robotic) via libespeak-ng" in rows["pl"]


async def test_health_and_metrics_describe_the_loaded_models(settings: Settings, models_dir: Path) -> None:
    async with TestClient(TestServer(create_app(settings))) as client:
        health = await (await client.get("/health")).json()
        metrics = await (await client.get("/metrics")).text()
    assert health["models"]["whisper"] == "whisper-base"
    assert health["models"]["voices"] == {"en": "en_US-joe-medium", "pl": "espeak-ng:pl"}
    assert "voicebot_asr_transcriptions_total 0" in metrics
    assert "voicebot_models_load_seconds" in metrics and "voicebot_asr_queued 0" in metrics
    assert 'voicebot_turn_latency_seconds_bucket{le="1.0"} 0.0' in metrics  # histograms, empty before any call
    assert "voicebot_asr_turn_wait_seconds_count 0.0" in metrics
