"""Call audio is offered only when recording is enabled AND the caller was told."""

import wave
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestServer

from tests.web.conftest import PASSWORDS, Client
from voicebot.app import create_app
from voicebot.appkeys import CALL_STORE, USERS
from voicebot.config import load_settings


def _wav(path: Path) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\0\0" * 800)
    return path


async def _serve(settings):
    app = create_app(settings, load_models=False)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    await app[USERS].add("sup", PASSWORDS["sup"], "supervisor", replace=True)
    store = app[CALL_STORE]
    return server, store


async def _audio_state(server, call_id: str) -> tuple[bool, int]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        c = Client(http, str(server.make_url("")).rstrip("/"))
        assert (await c.login("sup")).status == 303
        async with http.get(c.url(f"/supervisor/calls/{call_id}")) as r:
            page = await r.text()
        async with http.get(c.url(f"/supervisor/calls/{call_id}/audio")) as r:
            return "<audio" in page, r.status


async def test_recording_needs_setting_and_caller_notice(redis_client, redis_prefix, tmp_path: Path) -> None:
    wav = _wav(tmp_path / "call.wav")
    env = {"REDIS_URL": "redis://127.0.0.1:6379/0", "VOICEBOT_REDIS_PREFIX": redis_prefix}
    recording_on = load_settings(tmp_path / "none.toml", {**env, "VOICEBOT_PRIVACY_RECORD_AUDIO": "true"})
    server, store = await _serve(recording_on)
    try:
        await store.start_call("told", recording_path=str(wav), recording_announced="1")
        await store.start_call("not-told", recording_path=str(wav), recording_announced="0")
        assert await _audio_state(server, "told") == (True, 200)
        assert await _audio_state(server, "not-told") == (False, 404)
    finally:
        await server.close()
    recording_off = load_settings(tmp_path / "none.toml", env)
    server, store = await _serve(recording_off)
    try:
        assert await _audio_state(server, "told") == (False, 404)
    finally:
        await server.close()
