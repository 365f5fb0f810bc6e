"""A real `voicebot serve` process for the AudioSocket / Twilio / malformed-input tests, plus caller speech.

The server runs as a subprocess exactly as deployed (models loaded once in it, real Redis, AudioSocket
listener, Twilio endpoints), with the Twilio REST root pointed at `FakeTwilioApi` — a local aiohttp
server standing in for api.twilio.com, the one third party we cannot run.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import numpy as np
import soxr
from aiohttp import web
from piper import PiperVoice

from tests.support.ports import free_port
from voicebot.config import PROJECT_ROOT
from voicebot.store.calls import CallStore

TWILIO_SID = "ACtest0000000000000000000000000000"
TWILIO_TOKEN = "test-token-not-a-secret"


def _rtp_range(size: int = 40) -> tuple[int, int]:
    """An even-aligned block of UDP ports nobody is using right now (other tests run in parallel)."""
    rng = random.Random()
    for _ in range(50):
        low = rng.randrange(30000, 60000 - size, 2)
        try:
            socks = []
            for port in range(low, low + size):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(s)
                s.bind(("127.0.0.1", port))
            return low, low + size - 1
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free RTP port block")


def synth_8k(voice: PiperVoice, text: str) -> bytes:
    """Caller speech: piper at its native rate, resampled to the phone line's 8 kHz s16le."""
    chunks = list(voice.synthesize(text))
    audio = np.concatenate([c.audio_int16_array for c in chunks])
    rate = chunks[0].sample_rate
    out = soxr.resample(audio.astype(np.float32) / 32768, rate, 8000)
    return (np.clip(out, -1, 1) * 32767).astype(np.int16).tobytes()


@dataclass
class FakeTwilioApi:
    """Records `POST /2010-04-01/Accounts/{sid}/Calls/{call}.json` as Twilio's REST API answers it.

    Runs on its own event loop in a thread so one instance can serve a whole test module.
    """

    updates: list[dict] = field(default_factory=list)
    # Call SIDs whose updates Twilio refuses (the call cannot be redirected), as the real API does with 21220.
    refuse: set[str] = field(default_factory=set)
    refused: list[dict] = field(default_factory=list)
    port: int = 0
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _runner: web.AppRunner | None = None

    def start(self) -> str:
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        async def serve() -> None:
            app = web.Application()
            app.router.add_post("/2010-04-01/Accounts/{sid}/Calls/{call}.json", self._update)
            self._runner = web.AppRunner(app)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            await site.start()
            self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            ready.set()

        def run() -> None:
            assert self._loop is not None
            self._loop.run_until_complete(serve())
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="fake-twilio", daemon=True)
        self._thread.start()
        ready.wait(10)
        return f"http://127.0.0.1:{self.port}"

    async def _update(self, request: web.Request) -> web.Response:
        auth = aiohttp.BasicAuth.decode(request.headers.get("Authorization", ""))
        if (auth.login, auth.password) != (TWILIO_SID, TWILIO_TOKEN) or request.match_info["sid"] != TWILIO_SID:
            return web.json_response({"code": 20003, "message": "Authenticate"}, status=401)
        form = dict(await request.post())
        if request.match_info["call"] in self.refuse:
            self.refused.append({"call_sid": request.match_info["call"], **form})
            return web.json_response({"code": 21220, "message": "Call is not in-progress. Cannot redirect."},
                                     status=400)
        self.updates.append({"call_sid": request.match_info["call"], **form})
        return web.json_response({"sid": request.match_info["call"], "status": "in-progress"})

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


@dataclass
class ServeProcess:
    """`python -m voicebot serve` with AudioSocket and SIP on, the Twilio REST root at `twilio_api`."""

    redis_url: str
    prefix: str
    twilio_api: str
    log_path: Path
    http_port: int = field(default_factory=free_port)
    audiosocket_port: int = field(default_factory=free_port)
    sip_port: int = field(default_factory=lambda: free_port(socket.SOCK_DGRAM))
    rtp_ports: tuple[int, int] = field(default_factory=lambda: _rtp_range())
    proc: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self, timeout: float = 180.0) -> None:
        env = {
            **os.environ,
            "VOICEBOT_CONFIG": str(self.log_path.with_suffix(".none.toml")),  # embedded defaults
            "REDIS_URL": self.redis_url,
            "VOICEBOT_REDIS_PREFIX": self.prefix,
            "VOICEBOT_HTTP_PORT": str(self.http_port),
            "VOICEBOT_SIP_ENABLED": "true",
            "VOICEBOT_SIP_PORT": str(self.sip_port),
            "VOICEBOT_SIP_RTP_PORT_MIN": str(self.rtp_ports[0]),
            "VOICEBOT_SIP_RTP_PORT_MAX": str(self.rtp_ports[1]),
            "VOICEBOT_AUDIOSOCKET_ENABLED": "true",
            "VOICEBOT_AUDIOSOCKET_PORT": str(self.audiosocket_port),
            "VOICEBOT_TWILIO_ENABLED": "true",
            "VOICEBOT_TWILIO_ACCOUNT_SID": TWILIO_SID,
            "VOICEBOT_TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
            "VOICEBOT_TWILIO_API_BASE_URL": self.twilio_api,
            "VOICEBOT_TWILIO_TRANSFER_TARGET": "sip:agents@pbx.example.com",
            "VOICEBOT_BUSINESS_HOURS_ALWAYS_OPEN": "true",
            # One server serves every test's calls, mostly from the same numbers: without this each call after the
            # first would be a returning caller (tests/telephony/test_sip_returning_caller.py covers that).
            "VOICEBOT_PRIVACY_CALLER_PROFILES": "false",
            "VOICEBOT_LANGUAGES_NUMBERS": '{ "+4822" = "pl" }',  # a Warsaw number is a Polish line
        }
        self.log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "voicebot", "serve"], cwd=PROJECT_ROOT, env=env,
            stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"voicebot serve exited {self.proc.returncode}:\n{self.log_text()[-3000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.http_port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"voicebot serve did not start within {timeout} s:\n{self.log_text()[-3000:]}")

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()


async def ended_call_record(store: CallStore, call_id: str, timeout: float = 10) -> dict[str, str]:
    """The call record once the pipeline has finished the call (it ends just after the line closes)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = await store.get_call(call_id)
        if record and record.get("ended_at"):
            return record
        await asyncio.sleep(0.1)
    raise AssertionError(f"call {call_id} never ended in the store: {await store.get_call(call_id)}")
