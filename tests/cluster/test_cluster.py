"""Kamailio (Debian's package) in front of two real `voicebot serve` workers, real sipp callers, real Redis.

One cluster for the module (each worker loads the speech models once); the tests run in file order and
each leaves the cluster with two live workers:

1. twelve calls through Kamailio spread over both workers and complete;
2. a worker killed with SIGKILL: after the keepalive interval every new call succeeds on the other one;
   the killed worker is started again and rejoins with the same config;
3. a worker sent SIGTERM mid-call: the call is handed to the human line with reason `maintenance`, the
   worker answers 503 meanwhile, Kamailio sends it nothing new, and it exits 0.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import shutil
import signal
import socket
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from tests.support.env import TEST_REDIS_URL
from tests.support.sip_helpers import SIPP_DIR, RawPeer, SippResult, run_sipp
from tests.support.sip_helpers import sip_request as request
from voicebot.cluster.local import LocalCluster, WorkerProcess
from voicebot.config import ClusterSettings
from voicebot.store.calls import CallStore
from voicebot.store.keys import Keys

pytestmark = [pytest.mark.models, pytest.mark.slow,
              pytest.mark.skipif(shutil.which("kamailio") is None and not Path("/usr/sbin/kamailio").exists(),
                                 reason="Debian's kamailio is not installed (make test installs it)")]

PING_S = 2
DRAIN_TIMEOUT_S = 3


def _all_free(wanted: list[tuple[int, int]]) -> bool:
    """Whether every (port, socket kind) can be bound now (other tests run in parallel)."""
    socks: list[socket.socket] = []
    try:
        for port, kind in wanted:
            s = socket.socket(socket.AF_INET, kind)
            socks.append(s)
            s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        for s in socks:
            s.close()


def _free_block(size: int, low: int, high: int, kind: int) -> int:
    for _ in range(50):
        base = random.randrange(low, high - size, 2)
        if _all_free([(p, kind) for p in range(base, base + size)]):
            return base
    raise RuntimeError("no free port block")


def _free_base(workers: int) -> int:
    """A base port where Kamailio (UDP+TCP base), the workers' SIP (UDP base+i) and HTTP (TCP base+100+i) fit."""
    for _ in range(50):
        base = _free_block(workers + 1, 40000, 50000, socket.SOCK_DGRAM)
        if _all_free([(base, socket.SOCK_STREAM)] + [(base + 100 + i, socket.SOCK_STREAM)
                                                    for i in range(1, workers + 1)]):
            return base
    raise RuntimeError("no free port block")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    prefix = f"test:cluster{random.randrange(1 << 30):x}:"
    run_dir = tmp_path_factory.mktemp("cluster")
    c = LocalCluster(
        ClusterSettings(ping_interval_secs=PING_S), run_dir, workers=2,
        base_port=_free_base(2), rtp_base=_free_block(400, 50000, 60000, socket.SOCK_DGRAM),
        worker_env={"REDIS_URL": TEST_REDIS_URL, "VOICEBOT_REDIS_PREFIX": prefix,
                    "VOICEBOT_CONFIG": str(run_dir / "none.toml"),  # embedded defaults
                    "VOICEBOT_WEB_FIRST_ADMIN_PASSWORD_FILE": str(run_dir / "first-admin-password"),
                    "VOICEBOT_BUSINESS_HOURS_ALWAYS_OPEN": "true",
                    "VOICEBOT_CLUSTER_DRAIN_TIMEOUT_SECS": str(DRAIN_TIMEOUT_S),
                    "VOICEBOT_CLUSTER_HANDOVER_GRACE_SECS": "40"},
    )
    c.prefix = prefix  # type: ignore[attr-defined]
    c.start()
    try:
        yield c
    finally:
        c.stop()


@pytest.fixture
async def store(cluster: LocalCluster) -> AsyncIterator[CallStore]:
    client = aioredis.from_url(TEST_REDIS_URL, decode_responses=True)
    yield CallStore(client, Keys(cluster.prefix))  # type: ignore[attr-defined]
    await client.aclose()


def workers_of(result: SippResult) -> list[str]:
    """The worker (host:port from the 200 OK's Contact) that answered each call, in order."""
    return re.findall(r"WORKER=(\S+)", result.log)


def kamailio_log(cluster: LocalCluster) -> str:
    return (cluster.run_dir / "kamailio.log").read_text(errors="replace")


def subdir(tmp: Path, name: str) -> Path:
    (tmp / name).mkdir(parents=True, exist_ok=True)
    return tmp / name


async def calls(cluster: LocalCluster, tmp: Path, n: int, hold_ms: int = 1500, rate: float = 1) -> SippResult:
    return await run_sipp("short_call", cluster.proxy_port, tmp, {"hold_ms": str(hold_ms)},
                          calls=n, rate=rate, timeout=60, extra=["-l", "2"])


def assert_all_succeeded(result: SippResult, n: int) -> None:
    assert result.returncode == 0, f"sipp: {result.stdout}\n{result.log[-2000:]}"
    assert len(workers_of(result)) == n, result.log


async def wait_until(check, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


async def test_calls_through_kamailio_spread_over_both_workers_and_complete(cluster: LocalCluster,
                                                                            tmp_path: Path) -> None:
    result = await calls(cluster, tmp_path, 12, rate=2)
    assert_all_succeeded(result, 12)
    answered = workers_of(result)
    assert set(answered) == {w.sip_address for w in cluster.members}, answered
    # Record-routing: the BYEs went through Kamailio to the worker that answered (each worker saw its calls end).
    for w in cluster.members:
        def all_ended(w: WorkerProcess = w) -> bool:  # the pipeline winds down just after the BYE
            return w.log_path.read_text(errors="replace").count(" ended: ") >= answered.count(w.sip_address)

        await wait_until(all_ended, 15, f"{w.worker_id}'s calls to end")


async def test_a_killed_worker_is_out_after_the_keepalive_and_calls_go_to_the_other(
        cluster: LocalCluster, tmp_path: Path) -> None:
    victim, survivor = cluster.members
    victim.signal(signal.SIGKILL)
    victim.wait(10)
    await asyncio.sleep(PING_S * 2 + 1)  # a keepalive or two unanswered: Kamailio marks it inactive
    result = await calls(cluster, subdir(tmp_path, "after-kill"), 3)
    assert_all_succeeded(result, 3)
    assert set(workers_of(result)) == {survivor.sip_address}

    # The same worker, started again with the same config, rejoins once Kamailio's keepalive sees it.
    victim.start()
    await asyncio.to_thread(victim.wait_ready, 300)
    await asyncio.sleep(PING_S * 2 + 1)
    result = await calls(cluster, subdir(tmp_path, "rejoined"), 2)
    assert_all_succeeded(result, 2)
    assert set(workers_of(result)) == {victim.sip_address, survivor.sip_address}


async def test_a_worker_sent_sigterm_hands_its_call_over_and_gets_nothing_new(
        cluster: LocalCluster, store: CallStore, tmp_path: Path) -> None:
    long_dir = subdir(tmp_path, "long")
    long_call = asyncio.create_task(run_sipp("handed_over", cluster.proxy_port, long_dir, {},
                                             timeout=90))
    by_port = {w.sip_address: w for w in cluster.members}
    draining: WorkerProcess | None = None

    def answered() -> bool:
        nonlocal draining
        text = long_dir / "sipp_logs.log"
        found = re.search(r"WORKER=(\S+)", text.read_text(errors="replace")) if text.exists() else None
        draining = by_port.get(found.group(1)) if found else None
        return draining is not None

    await wait_until(answered, 30, "the long call to be answered")
    assert draining is not None
    other = next(w for w in cluster.members if w is not draining)
    await asyncio.sleep(2)  # the bot is greeting the caller
    draining.signal(signal.SIGTERM)

    # Draining: the worker refuses OPTIONS (and INVITEs) with 503 + Retry-After...
    loop = asyncio.get_running_loop()
    transport, peer = await loop.create_datagram_endpoint(RawPeer, local_addr=("127.0.0.1", 0))
    try:
        await asyncio.sleep(0.3)
        resp = await peer.ask(request("OPTIONS", peer.port), ("127.0.0.1", draining.sip_port))
        assert resp is not None and resp.status == 503 and resp.get("Retry-After")
    finally:
        transport.close()
    # ...and new calls through Kamailio all reach the other worker and complete.
    result = await calls(cluster, subdir(tmp_path, "during-drain"), 2)
    assert_all_succeeded(result, 2)
    assert set(workers_of(result)) == {other.sip_address}

    # The call in progress outlived the drain timeout: handed to the human line with its context.
    long = await long_call
    assert long.returncode == 0, f"sipp: {long.stdout}\n{long.log[-2000:]}"
    handoff_id = re.search(r"HANDOFF=(\w+)", long.log).group(1)  # type: ignore[union-attr]
    package = json.loads(await store.client.get(store.keys.handoff(handoff_id)))
    assert package["reason"] == "maintenance"
    assert "shutting down" in package["explanation"]
    record = await store.get_call(package["call_id"])
    assert record is not None and record["outcome"] == "transferred" and record["transfer_reason"] == "maintenance"
    assert record.get("ended_at")  # the record was flushed to Redis before the worker left

    assert await asyncio.to_thread(draining.wait, 60) == 0  # drained, then a clean exit
    log = draining.log_path.read_text(errors="replace")
    assert "drain: worker" in log and "handing them to the human line" in log


async def test_a_rolling_restart_of_every_worker_under_load_fails_no_call(cluster: LocalCluster,
                                                                          tmp_path: Path) -> None:
    """4 concurrent sipp callers (short calls, one after another) while each worker in turn is sent SIGTERM,
    drains, exits 0 and is started again: sipp counts 0 failed calls."""
    out = subdir(tmp_path, "load")
    sipp = await asyncio.create_subprocess_exec(
        "sipp", "-sf", str(SIPP_DIR / "short_call.xml"), f"127.0.0.1:{cluster.proxy_port}", "-i", "127.0.0.1",
        "-p", str(_free_block(1, 20000, 30000, socket.SOCK_DGRAM)), "-mp",
        str(_free_block(2, 30000, 40000, socket.SOCK_DGRAM)), "-key", "hold_ms", "1500", "-r", "1", "-l", "4",
        "-m", "100000", "-nostdin", "-timeout", "600s", "-trace_stat", "-stf", str(out / "stats.csv"),
        "-fd", "1", "-trace_logs", "-log_file", str(out / "sipp_logs.log"),
        "-trace_err", "-error_file", str(out / "sipp_errors.log"),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=out)
    try:
        await asyncio.sleep(5)
        for worker in cluster.members:
            worker.signal(signal.SIGTERM)
            assert await asyncio.to_thread(worker.wait, 60) == 0
            worker.start()
            await asyncio.to_thread(worker.wait_ready, 300)
            await asyncio.sleep(PING_S * 2 + 1)  # Kamailio's keepalive sees it again
        await asyncio.sleep(5)
    finally:
        sipp.send_signal(signal.SIGUSR1)  # sipp's soft exit: no new calls, the running ones finish
        stdout, _ = await asyncio.wait_for(sipp.communicate(), 60)
    screen = stdout.decode(errors="replace")
    succeeded = int(re.search(r"Successful call\s*\|\s*\d+\s*\|\s*(\d+)", screen).group(1))  # type: ignore[union-attr]
    failed = int(re.search(r"Failed call\s*\|\s*\d+\s*\|\s*(\d+)", screen).group(1))  # type: ignore[union-attr]
    errors = out / "sipp_errors.log"  # why a call failed, if one did: sipp's screen only counts them
    assert failed == 0, screen[-3000:] + (errors.read_text(errors="replace")[-3000:] if errors.exists() else "")
    assert succeeded >= 20, screen[-3000:]
    assert {m.group(1) for m in re.finditer(r"WORKER=(\S+)", (out / "sipp_logs.log").read_text())} == {
        w.sip_address for w in cluster.members}
