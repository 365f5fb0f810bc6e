"""The admin softphone in headless Chromium: a WAV file is the microphone (Chromium's fake capture device),
real whisper/piper models and the live flows answer; asking for a person transfers the call."""

import wave
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import async_playwright, expect

from tests.support.env import always_staffed
from tests.web.conftest import PASSWORDS
from voicebot.app import create_app
from voicebot.appkeys import CALL_STORE, MODELS, USERS
from voicebot.pipeline.pcm import resample

pytestmark = [pytest.mark.models, pytest.mark.slow]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
        "--autoplay-policy=no-user-gesture-required"]


def _caller_wav(models, path: Path, text: str) -> Path:
    """The caller's sentence in the installed piper voice, with 1 s of silence before and 3 s after
    (Chromium loops the file; the pause ends the caller's turn)."""
    voice = models.tts.voice("en")
    speech = b"".join(resample(a, voice.sample_rate, 16000) for a in voice.sentences(text))
    pcm = bytes(32000) + speech + bytes(96000)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(np.frombuffer(pcm, dtype=np.int16).tobytes())
    return path


@pytest.fixture
async def model_server(settings, redis_client, shared_models) -> AsyncIterator[TestServer]:
    app = create_app(always_staffed(settings), load_models=False)  # asking for a person transfers
    app[MODELS] = shared_models  # loaded once per test session, as once per process in `voicebot serve`
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    await app[USERS].add("admin", PASSWORDS["admin"], "admin")
    yield server
    await server.close()


async def test_talk_to_the_bot_from_the_browser(model_server, tmp_path: Path, output_dir) -> None:
    app = model_server.app
    wav = _caller_wav(app[MODELS], tmp_path / "caller.wav", "I want to talk to a person.")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                           args=[*ARGS, f"--use-file-for-fake-audio-capture={wav}"])
        try:
            ctx = await browser.new_context(base_url=str(model_server.make_url("")))
            await ctx.grant_permissions(["microphone"])
            page = await ctx.new_page()
            await page.goto("/login")
            await page.fill("input[name=name]", "admin")
            await page.fill("input[name=password]", PASSWORDS["admin"])
            await page.click("button[type=submit]")
            await page.goto("/admin/softphone")
            await page.click("#phone-start")
            await expect(page.locator("#phone-status")).to_contain_text("in call", timeout=60_000)
            transcript = page.locator("#phone-transcript tbody")
            await expect(transcript.locator("tr.bot").first).to_contain_text("Nordic Home", timeout=60_000)
            await expect(transcript.locator("tr.caller").first).to_contain_text("person", timeout=120_000)
            await expect(page.locator("#phone-status")).to_contain_text("transferred", timeout=120_000)
            await page.screenshot(path=output_dir / "web-softphone.png", full_page=True)
            call_id = (await page.locator("#phone-call").text_content() or "").removeprefix("call ").strip()
        finally:
            await browser.close()
    call = await app[CALL_STORE].get_call(call_id)
    assert call is not None and call["channel"] == "web" and call["caller_number"] == "web:admin"
