"""REGISTER with a real registrar (sipp) that demands digest authentication."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.support.ports import UDP, free_port
from tests.support.sip_helpers import SIPP_DIR
from voicebot.config import Settings
from voicebot.lines.sip import SipLine
from voicebot.pipeline.services import CallServices


async def register_against_sipp(settings: Settings, tmp: Path, password: str) -> tuple[SipLine, int, str]:
    port = free_port(UDP)
    registrar = await asyncio.create_subprocess_exec(
        "sipp", "-sf", str(SIPP_DIR / "registrar.xml"), "-i", "127.0.0.1", "-p", str(port), "-m", "1",
        "-nostdin", "-timeout", "20s", "-trace_logs", "-log_file", str(tmp / "registrar.log"),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL, cwd=tmp)
    await asyncio.sleep(0.3)  # let sipp bind
    sip = settings.sip.model_copy(update={"register_uri": f"sip:127.0.0.1:{port}", "username": "pbx-voicebot",
                                          "password": password})
    settings = settings.model_copy(update={"sip": sip})
    # Registration answers no call, so the pipeline's services are never used.
    line = SipLine(settings, CallServices(settings=settings, models=None, dialog=None))  # type: ignore[arg-type]
    await line.start()
    rc = await asyncio.wait_for(registrar.wait(), 20)
    log_file = tmp / "registrar.log"
    return line, rc, log_file.read_text(errors="replace") if log_file.exists() else ""


async def test_registers_with_digest_auth(settings: Settings, tmp_path: Path) -> None:
    line, rc, log = await register_against_sipp(settings, tmp_path, "s3cret")
    try:
        assert line.registration is not None
        await asyncio.wait_for(line.registration.registered.wait(), 5)
        assert rc == 0 and line.registration.last_status == 200
        assert f"sip:voicebot@127.0.0.1:{line.port}" in log  # our Contact: calls come here
    finally:
        await line.stop()


async def test_wrong_password_is_reported_not_registered(settings: Settings, tmp_path: Path) -> None:
    line, _, _ = await register_against_sipp(settings, tmp_path, "wrong")
    try:
        assert line.registration is not None
        for _ in range(50):
            if line.registration.last_status == 403:
                break
            await asyncio.sleep(0.1)
        assert line.registration.last_status == 403
        assert not line.registration.registered.is_set()
        assert line.port > 0  # the line still answers direct calls
    finally:
        await line.stop()


@pytest.fixture(autouse=True)
def _sipp_present() -> None:
    import shutil

    if shutil.which("sipp") is None:
        pytest.fail("sipp is missing: apt-get install sip-tester (make system-deps)")
