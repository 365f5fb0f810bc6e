"""Kamailio + N `voicebot serve` workers on this machine, as processes (no Docker): `voicebot cluster up`,
`make cluster` and tests/cluster/ use it.

Kamailio runs from the Debian package with a private config and run dir (nothing under /etc or /run is
touched); every worker gets its own SIP, HTTP and RTP ports on loopback and shares the one Redis.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from voicebot.cluster.render import render
from voicebot.config import PROJECT_ROOT, ClusterSettings

RTP_PORTS_PER_WORKER = 200  # 100 calls' worth of even ports each; ranges never overlap


class ClusterStartError(RuntimeError):
    """A process of the cluster did not come up; the message carries the end of its log."""


def _tail(path: Path, chars: int = 3000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else "(no log)"


@dataclass
class WorkerProcess:
    index: int
    sip_port: int
    http_port: int
    rtp_ports: tuple[int, int]
    log_path: Path
    env: dict[str, str]
    proc: subprocess.Popen | None = None

    @property
    def worker_id(self) -> str:
        return self.env["VOICEBOT_CLUSTER_WORKER_ID"]

    @property
    def sip_address(self) -> str:
        return f"127.0.0.1:{self.sip_port}"

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "voicebot", "serve"], cwd=PROJECT_ROOT, env=self.env,
                                     stdout=log, stderr=subprocess.STDOUT)
        log.close()

    def wait_ready(self, timeout: float) -> None:
        """Ready = the HTTP port answers (it opens after the models and the SIP line are up)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise ClusterStartError(f"worker {self.worker_id} exited:\n{_tail(self.log_path)}")
            try:
                with socket.create_connection(("127.0.0.1", self.http_port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.3)
        raise ClusterStartError(f"worker {self.worker_id} not ready in {timeout:.0f} s:\n{_tail(self.log_path)}")

    def signal(self, sig: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)

    def wait(self, timeout: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


@dataclass
class LocalCluster:
    cluster: ClusterSettings
    run_dir: Path
    workers: int = 2
    base_port: int = 25060  # Kamailio here; workers at base+1.., HTTP at base+100+i
    rtp_base: int = 30000
    worker_env: dict[str, str] = field(default_factory=dict)  # extra VOICEBOT_* for every worker
    kamailio: subprocess.Popen | None = None
    members: list[WorkerProcess] = field(default_factory=list)

    @property
    def proxy_port(self) -> int:
        return self.base_port

    def _plan(self) -> None:
        self.members = []
        for i in range(1, self.workers + 1):
            sip, http = self.base_port + i, self.base_port + 100 + i
            low = self.rtp_base + (i - 1) * RTP_PORTS_PER_WORKER
            rtp = (low, low + RTP_PORTS_PER_WORKER - 1)
            env = {
                **os.environ,
                "VOICEBOT_CLUSTER_WORKER_ID": f"worker-{i}",
                "VOICEBOT_SIP_ENABLED": "true",
                "VOICEBOT_SIP_HOST": "127.0.0.1",
                "VOICEBOT_SIP_PORT": str(sip),
                "VOICEBOT_SIP_RTP_PORT_MIN": str(rtp[0]),
                "VOICEBOT_SIP_RTP_PORT_MAX": str(rtp[1]),
                "VOICEBOT_HTTP_PORT": str(http),
                **self.worker_env,
            }
            self.members.append(WorkerProcess(i, sip, http, rtp, self.run_dir / f"worker-{i}.log", env))

    def start_kamailio(self) -> None:
        binary = shutil.which("kamailio") or "/usr/sbin/kamailio"
        if not Path(binary).exists():
            raise ClusterStartError("kamailio is not installed (Debian: apt-get install kamailio)")
        settings = self.cluster.model_copy(update={"proxy_host": "127.0.0.1", "proxy_port": self.proxy_port,
                                                   "workers": tuple(w.sip_address for w in self.members)})
        files = render(settings, self.run_dir / "dispatcher.list")
        (self.run_dir / "kamailio.cfg").write_text(files.config)
        (self.run_dir / "dispatcher.list").write_text(files.dispatcher_list)
        log = (self.run_dir / "kamailio.log").open("ab")
        # -DD: stay in the foreground (we own the process); -E: log to stderr; private pid file and run dir.
        self.kamailio = subprocess.Popen(
            [binary, "-DD", "-E", "-f", str(self.run_dir / "kamailio.cfg"), "-P", str(self.run_dir / "kamailio.pid"),
             "-Y", str(self.run_dir), "-m", "64", "-M", "8"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.kamailio.poll() is not None:
                raise ClusterStartError(f"kamailio exited:\n{_tail(self.run_dir / 'kamailio.log')}")
            if _udp_in_use(self.proxy_port):
                return
            time.sleep(0.2)
        raise ClusterStartError(f"kamailio did not start:\n{_tail(self.run_dir / 'kamailio.log')}")

    def start(self, timeout: float = 300.0) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._plan()
        for w in self.members:
            w.start()
        for w in self.members:
            w.wait_ready(timeout)
        self.start_kamailio()

    def stop(self) -> None:
        for w in self.members:
            w.signal(signal.SIGINT)  # not SIGTERM: a drain would wait for calls the stop is meant to end
        for w in self.members:
            if w.proc is not None:
                try:
                    w.proc.wait(20)
                except subprocess.TimeoutExpired:
                    w.proc.kill()
                    w.proc.wait(5)
        if self.kamailio is not None and self.kamailio.poll() is None:
            os.killpg(self.kamailio.pid, signal.SIGTERM)  # its own session: Kamailio's children go too
            try:
                self.kamailio.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.kamailio.pid, signal.SIGKILL)
                self.kamailio.wait(5)


def _udp_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False
