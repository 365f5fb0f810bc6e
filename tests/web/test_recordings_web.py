"""Call recordings: a recorded SIP call plays back in a real browser for a supervisor, is refused for anonymous
and agent users, and is gone after retention; the route's refusals, checked without speech models."""

from __future__ import annotations

import time
from pathlib import Path

import aiohttp
import numpy as np
import pytest
import soundfile
from aiohttp.test_utils import TestServer
from playwright.async_api import async_playwright, expect

from tests.web.conftest import PASSWORDS, Client
from voicebot.app import assemble_services, create_app
from voicebot.appkeys import CALL_STORE, USERS
from voicebot.config import Settings
from voicebot.store.calls import CallStore
from voicebot.store.recordings import RecordingIndex
from voicebot.store.retention import delete_old_calls

AGENT_PASSWORD = "agent-pass-123"


def recording_on(settings: Settings, directory: Path) -> Settings:
    privacy = settings.privacy.model_copy(update={"record_audio": True, "recordings_dir": str(directory)})
    return settings.model_copy(update={"privacy": privacy})


async def _serve(settings: Settings) -> TestServer:
    app = create_app(settings, load_models=False)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    users = app[USERS]
    await users.add("sup", PASSWORDS["sup"], "supervisor", replace=True)
    await users.add("admin", PASSWORDS["admin"], "admin", replace=True)
    # An agent: added as a user, then given role "agent" the way the user store keeps roles. Any role other
    # than supervisor or admin (the agent role from issue 14 part 6 included) must be refused.
    await users.add("agent1", AGENT_PASSWORD, "supervisor", replace=True)
    await app[CALL_STORE].client.hset(app[CALL_STORE].keys.user("agent1"), "role", "agent")
    return server


async def _get(server: TestServer, path: str, user: str | None) -> tuple[int, str, bytes]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        c = Client(http, str(server.make_url("")).rstrip("/"))
        if user:
            resp = await c.login(user, AGENT_PASSWORD if user == "agent1" else None)
            assert resp.status == 303
        async with http.get(c.url(path), allow_redirects=False) as r:
            return r.status, r.headers.get("Content-Type", ""), await r.read()


async def test_recording_route_serves_supervisors_and_admins_only(settings: Settings, redis_client,
                                                                  tmp_path: Path) -> None:
    settings = recording_on(settings, tmp_path / "rec")
    server = await _serve(settings)
    store: CallStore = server.app[CALL_STORE]
    try:
        audio = tmp_path / "rec" / "told.ogg"
        audio.parent.mkdir()
        soundfile.write(audio, np.zeros((8000, 2), np.int16), 8000, format="OGG", subtype="OPUS")
        await store.start_call("told")
        await RecordingIndex(store).add("told", audio, seconds=1.0, state="complete")
        await store.start_call("unrecorded")

        for user in ("sup", "admin"):
            status, ctype, body = await _get(server, "/supervisor/calls/told/audio", user)
            assert (status, ctype, body[:4]) == (200, "audio/ogg", b"OggS")
            status, _, page = await _get(server, "/supervisor/calls/told", user)
            assert status == 200 and b'src="/supervisor/calls/told/audio"' in page
        status, _, body = await _get(server, "/supervisor/calls/told/audio", None)
        assert status in (302, 401) and b"OggS" not in body  # anonymous: to the login page
        status, _, body = await _get(server, "/supervisor/calls/told/audio", "agent1")
        assert status == 403 and b"OggS" not in body
        status, _, page = await _get(server, "/supervisor/calls/told", "agent1")
        assert b"/audio" not in page
        assert (await _get(server, "/supervisor/calls/unrecorded/audio", "sup"))[0] == 404
        status, _, page = await _get(server, "/supervisor/calls/unrecorded", "sup")
        assert status == 200 and b"<audio" not in page
        audio.unlink()  # indexed, but the file is gone: nothing to offer
        assert (await _get(server, "/supervisor/calls/told/audio", "sup"))[0] == 404
    finally:
        await server.close()


@pytest.mark.models
@pytest.mark.slow
async def test_recorded_sip_call_plays_for_a_supervisor_and_is_gone_after_retention(
        settings: Settings, redis_client, shared_models, tmp_path: Path, output_dir: Path) -> None:
    from tests.support.sip_helpers import (
        RtpCapture,
        espeak_ulaw,
        finished_call,
        run_sipp,
        voiced_seconds,
        write_pcap,
    )
    from voicebot.lines.sip import SipLine

    greeting_ms = 8000
    settings = recording_on(settings, tmp_path / "recordings")
    server = await _serve(settings)
    store: CallStore = server.app[CALL_STORE]
    services = assemble_services(settings, shared_models, store)
    line = SipLine(settings, services)
    await line.start()
    capture = await RtpCapture.open()
    speech = espeak_ulaw("I would like to check the status of my order.", tmp_path)
    write_pcap(tmp_path / "caller.pcap", speech)
    try:
        result = await run_sipp("caller_speaks", line.port, tmp_path, {
            "capture_port": str(capture.port), "pcap": str(tmp_path / "caller.pcap"),
            "greeting_ms": str(greeting_ms), "listen_ms": "10000"}, timeout=60)
        assert result.returncode == 0, result.stdout + result.log
        call_id = await finished_call(line)
    finally:
        capture.close()
        await line.stop()
        await services.dialog.close()

    try:
        # The caller was told, because it really is recorded.
        turns = await store.turns(call_id)
        assert "This call is recorded." in turns[0].text
        found = await RecordingIndex(store).get(call_id)
        assert found is not None and found.state == "complete", found
        assert found.path.parent == tmp_path / "recordings" and found.path.suffix == ".ogg"
        audio, rate = soundfile.read(found.path, dtype="int16")
        assert rate == 8000 and audio.shape[1] == 2
        caller, bot = audio[:, 0], audio[:, 1]
        greeting_end = int((greeting_ms / 1000 - 1.0) * rate)  # a second of slack around the caller's start
        # Both voices: the bot's greeting on its channel while the caller (silent then) has nothing on theirs;
        # then the caller's sentence on the caller's channel.
        assert voiced_seconds(bot[:greeting_end]) > 2.0
        assert voiced_seconds(caller[:greeting_end]) < 0.2
        assert voiced_seconds(caller) > 1.0
        assert voiced_seconds(bot[greeting_end + len(speech):]) > 0.5, "the bot's answer is not in the recording"

        # A supervisor plays it in the browser.
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                               args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
            try:
                page = await (await browser.new_context(base_url=str(server.make_url("")))).new_page()
                await page.goto("/login")
                await page.fill("input[name=name]", "sup")
                await page.fill("input[name=password]", PASSWORDS["sup"])
                await page.click("button[type=submit]")
                await expect(page.locator(".who")).to_contain_text("sup")
                await page.goto(f"/supervisor/calls/{call_id}")
                player = page.locator("#recording audio")
                await expect(player).to_have_count(1)
                await player.evaluate("a => { a.muted = true; return a.play(); }")
                await page.wait_for_function(
                    "() => document.querySelector('#recording audio').currentTime > 1", timeout=30000)
                duration = await player.evaluate("a => a.duration")
                assert duration > greeting_ms / 1000
                await page.screenshot(path=output_dir / "web-call-recording.png", full_page=True)
            finally:
                await browser.close()

        # Refused for anonymous and agent users.
        assert (await _get(server, f"/supervisor/calls/{call_id}/audio", None))[0] in (302, 401)
        assert (await _get(server, f"/supervisor/calls/{call_id}/audio", "agent1"))[0] == 403

        # Retention (the call is older than retention_days as seen two days later): file and index gone.
        days = settings.privacy.retention_days
        assert await delete_old_calls(store, days, now=time.time() + (days + 1) * 86400,
                                      recordings_dir=tmp_path / "recordings") >= 1
        assert not found.path.exists()
        assert await RecordingIndex(store).get(call_id) is None
        assert (await _get(server, f"/supervisor/calls/{call_id}/audio", "sup"))[0] == 404
    finally:
        await server.close()
