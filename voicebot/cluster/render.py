"""`[cluster]` settings -> a Kamailio config and its dispatcher list (deploy/kamailio/*.j2).

Pure: settings and paths in, file texts out; `voicebot cluster render` writes them, `voicebot cluster up`
and the tests run Kamailio on them.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

import jinja2

from voicebot.config import PROJECT_ROOT, ClusterSettings

TEMPLATE_DIR = PROJECT_ROOT / "deploy" / "kamailio"
DISPATCHER_SET = 1
# A worker that sends no response at all (not even 100 Trying, sent on arrival) in this long is dead to the
# proxy: the INVITE goes to the next one. Long enough for a busy host's event loop, short for a caller.
INVITE_TIMEOUT_MS = 4000


class ClusterConfigError(ValueError):
    """A worker address or proxy setting that Kamailio could not use; the message names the key."""


@dataclass(frozen=True)
class Worker:
    host: str
    port: int

    @property
    def uri(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"sip:{host}:{self.port}"


def parse_worker(text: str) -> Worker:
    """`host:port` (IPv6 as `[addr]:port`) -> Worker; a bad one names cluster.workers."""
    host, sep, port = text.strip().rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ClusterConfigError(f"cluster.workers: {text!r} is not host:port")
    return Worker(host, int(port))


@dataclass(frozen=True)
class KamailioFiles:
    config: str  # kamailio.cfg
    dispatcher_list: str  # dispatcher.list


def render(cluster: ClusterSettings, list_file: Path, *, workers: list[str] | None = None,
           advertise: str = "", debug: int = 2, children: int = 2, mpath: str = "") -> KamailioFiles:
    """`list_file`: where dispatcher.list will be (the config names it); `workers` overrides cluster.workers."""
    parsed = [parse_worker(w) for w in (workers if workers is not None else cluster.workers)]
    if not parsed:
        raise ClusterConfigError("cluster.workers: at least one worker is needed")
    if advertise:
        try:
            ipaddress.ip_address(advertise)
        except ValueError as exc:
            raise ClusterConfigError(f"advertised address {advertise!r} is not an IP address") from exc
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATE_DIR), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True, autoescape=False)
    config = env.get_template("kamailio.cfg.j2").render(
        workers=parsed, listen_host=cluster.proxy_host, proxy_port=cluster.proxy_port, advertise=advertise,
        ping_interval=cluster.ping_interval_secs, invite_timeout_ms=INVITE_TIMEOUT_MS, list_file=str(list_file),
        debug=debug, children=children, mpath=mpath,
    )
    lines = ["# setid destination flags priority attributes (rendered by `voicebot cluster render`)"]
    lines += [f"{DISPATCHER_SET} {w.uri} 0 0 duid=w{i}" for i, w in enumerate(parsed, 1)]
    return KamailioFiles(config=config, dispatcher_list="\n".join(lines) + "\n")
