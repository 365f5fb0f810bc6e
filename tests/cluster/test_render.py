"""`voicebot cluster render`: a Kamailio config that Debian's kamailio accepts, workers as a dispatcher set."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from voicebot.cli import main
from voicebot.cluster.render import ClusterConfigError, render
from voicebot.config import ClusterSettings

KAMAILIO = shutil.which("kamailio") or "/usr/sbin/kamailio"
needs_kamailio = pytest.mark.skipif(not Path(KAMAILIO).exists(), reason="Debian's kamailio is not installed")


@needs_kamailio
def test_rendered_config_passes_kamailios_own_check(tmp_path: Path) -> None:
    files = render(ClusterSettings(proxy_port=25999, ping_interval_secs=3,
                                   workers=("10.0.0.11:5060", "10.0.0.12:5060", "[fd00::13]:5070")),
                   tmp_path / "dispatcher.list", advertise="203.0.113.7")
    (tmp_path / "kamailio.cfg").write_text(files.config)
    (tmp_path / "dispatcher.list").write_text(files.dispatcher_list)
    check = subprocess.run([KAMAILIO, "-c", "-f", str(tmp_path / "kamailio.cfg")], capture_output=True, text=True,
                           timeout=30)
    assert check.returncode == 0, check.stderr[-2000:]
    assert 'modparam("dispatcher", "ds_ping_interval", 3)' in files.config
    assert "listen=udp:127.0.0.1:25999 advertise 203.0.113.7:25999" in files.config
    assert files.dispatcher_list.splitlines()[1:] == [
        "1 sip:10.0.0.11:5060 0 0 duid=w1", "1 sip:10.0.0.12:5060 0 0 duid=w2", "1 sip:[fd00::13]:5070 0 0 duid=w3"]


def test_a_bad_worker_address_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(ClusterConfigError, match=r"cluster.workers: 'worker-1' is not host:port"):
        render(ClusterSettings(workers=("worker-1",)), tmp_path / "d.list")
    with pytest.raises(ClusterConfigError, match="at least one worker"):
        render(ClusterSettings(workers=()), tmp_path / "d.list")


def test_render_command_writes_both_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "k"
    assert main(["--config", str(tmp_path / "none.toml"), "cluster", "render", "--out", str(out),
                 "--workers", "127.0.0.1:5071,127.0.0.1:5072,127.0.0.1:5073"]) == 0
    assert (out / "kamailio.cfg").read_text().count("loadmodule") > 5
    assert len((out / "dispatcher.list").read_text().splitlines()) == 4
    assert main(["--config", str(tmp_path / "none.toml"), "cluster", "render", "--out", str(out),
                 "--advertise", "not-an-ip"]) == 2
    assert "not-an-ip" in capsys.readouterr().err
