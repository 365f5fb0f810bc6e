"""docker-compose.yml and the Dockerfiles, checked against the config without a Docker engine: the RTP
range a worker is told to use is the range its container exposes, calls are allowed from the proxy's
address, secrets come from the environment, the images run unprivileged with a health check."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import yaml

from voicebot.config import PROJECT_ROOT, load_settings

COMPOSE = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def _env(service: str) -> dict[str, str]:
    return {k: str(v) for k, v in SERVICES[service]["environment"].items()}


def _worker_settings(tmp_path: Path):  # type: ignore[no-untyped-def]
    """The settings a worker container starts with: config.toml + the compose environment (secrets unset)."""
    env = {k: v for k, v in _env("voicebot").items() if not v.startswith("${")}
    return load_settings(PROJECT_ROOT / "config.toml", env)


def _port_range(spec: str) -> tuple[int, int, str]:
    m = re.fullmatch(r"(\d+)(?:-(\d+))?(?:/(udp|tcp))?", spec)
    assert m, spec
    low = int(m.group(1))
    return low, int(m.group(2) or low), m.group(3) or "tcp"


def test_worker_rtp_range_is_the_range_its_container_exposes(tmp_path: Path) -> None:
    sip = _worker_settings(tmp_path).sip
    exposed = [_port_range(p) for p in SERVICES["voicebot"]["expose"]]
    assert (sip.rtp_port_min, sip.rtp_port_max, "udp") in exposed
    assert (sip.port, sip.port, "udp") in exposed
    assert sip.rtp_port_min % 2 == 0 and sip.rtp_port_max - sip.rtp_port_min >= 2 * sip.max_calls
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    assert f"EXPOSE 8080 {sip.port}/udp {sip.rtp_port_min}-{sip.rtp_port_max}/udp" in dockerfile
    assert f"VOICEBOT_SIP_RTP_PORT_MIN={sip.rtp_port_min} VOICEBOT_SIP_RTP_PORT_MAX={sip.rtp_port_max}" in dockerfile


def test_workers_take_calls_from_the_proxy_and_listen_where_it_sends_them(tmp_path: Path) -> None:
    settings = _worker_settings(tmp_path)
    proxy_ip = ipaddress.ip_address(SERVICES["kamailio"]["networks"]["calls"]["ipv4_address"])
    subnet = ipaddress.ip_network(COMPOSE["networks"]["calls"]["ipam"]["config"][0]["subnet"])
    assert proxy_ip in subnet
    assert any(proxy_ip in ipaddress.ip_network(p, strict=False) for p in settings.sip.allowed_peers)
    assert settings.sip.host == "0.0.0.0" and settings.http.host == "0.0.0.0"
    assert int(_env("kamailio")["VOICEBOT_WORKER_SIP_PORT"]) == settings.sip.port
    # Kamailio is the only published SIP port; a worker publishes only its web UI (one host port per replica).
    assert SERVICES["voicebot"]["ports"] == [f"8080-8089:{settings.http.port}"]
    published = {_port_range(p.split(":", 1)[1]) for p in SERVICES["kamailio"]["ports"]}
    proxy_port = int(_env("kamailio")["VOICEBOT_CLUSTER_PROXY_PORT"])
    assert published == {(proxy_port, proxy_port, "udp"), (proxy_port, proxy_port, "tcp")}


def test_a_worker_gets_time_to_drain_before_docker_kills_it(tmp_path: Path) -> None:
    cluster = _worker_settings(tmp_path).cluster
    grace = SERVICES["voicebot"]["stop_grace_period"]
    assert grace.endswith("s") and int(grace[:-1]) > cluster.drain_timeout_secs + cluster.handover_grace_secs


def test_secrets_and_addresses_come_from_the_environment() -> None:
    env = _env("voicebot")
    for key in ("VOICEBOT_SIP_PASSWORD", "VOICEBOT_TWILIO_AUTH_TOKEN", "VOICEBOT_SIP_PUBLIC_ADDRESS"):
        assert re.fullmatch(r"\$\{" + key + r":-\}", env[key]), key
    assert _env("kamailio")["VOICEBOT_PUBLIC_ADDRESS"] == "${VOICEBOT_PUBLIC_ADDRESS:-}"


def test_images_run_unprivileged_with_a_health_check() -> None:
    for path in (PROJECT_ROOT / "Dockerfile", PROJECT_ROOT / "deploy" / "kamailio" / "Dockerfile"):
        text = path.read_text()
        users = re.findall(r"^USER (\S+)", text, re.M)
        assert users and users[-1] not in ("root", "0"), path
        assert re.search(r"^HEALTHCHECK ", text, re.M), path
