"""`voicebot cluster render|up`: Kamailio in front of several `voicebot serve` workers.

`render` writes kamailio.cfg + dispatcher.list from config.toml's [cluster] section (for a real host or the
compose file); `up` starts Kamailio and N workers on this machine until Ctrl-C (`make cluster`).
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

from voicebot.cluster.local import ClusterStartError, LocalCluster
from voicebot.cluster.render import ClusterConfigError, render
from voicebot.config import Settings


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("cluster", help="Kamailio in front of several voicebot workers")
    cmds = p.add_subparsers(dest="cluster_command", required=True, metavar="SUBCOMMAND")
    r = cmds.add_parser("render", help="write kamailio.cfg and dispatcher.list from [cluster]")
    r.add_argument("--out", default="var/kamailio", help="folder for the two files (default: var/kamailio)")
    r.add_argument("--workers", help="comma-separated host:port list (default: cluster.workers)")
    r.add_argument("--advertise", default="", help="public IP Kamailio writes into Via/Record-Route (NAT)")
    r.set_defaults(func=_render)
    u = cmds.add_parser("up", help="start Kamailio and N workers locally (Debian's kamailio, no Docker)")
    u.add_argument("--workers", type=int, default=2, help="how many workers (default 2)")
    u.add_argument("--port", type=int, default=0, help="Kamailio's SIP port (default: cluster.proxy_port)")
    u.add_argument("--run-dir", default="var/cluster", help="logs, rendered config, pid file")
    u.set_defaults(func=_up)


def _render(args: argparse.Namespace, settings: Settings) -> int:
    out = settings.path(args.out)
    workers = [w for w in args.workers.split(",") if w.strip()] if args.workers else None
    try:
        files = render(settings.cluster, out / "dispatcher.list", workers=workers, advertise=args.advertise)
    except ClusterConfigError as exc:
        print(f"voicebot cluster render: {exc}", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    (out / "kamailio.cfg").write_text(files.config)
    (out / "dispatcher.list").write_text(files.dispatcher_list)
    print(f"wrote {out / 'kamailio.cfg'} and {out / 'dispatcher.list'}")
    return 0


def _up(args: argparse.Namespace, settings: Settings) -> int:
    if args.workers < 1:
        print("voicebot cluster up: --workers must be at least 1", file=sys.stderr)
        return 2
    cluster = LocalCluster(settings.cluster, Path(settings.path(args.run_dir)), workers=args.workers,
                           base_port=args.port or settings.cluster.proxy_port)
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    try:
        print(f"starting {args.workers} worker(s) (loading models) and Kamailio; logs in {cluster.run_dir}",
              flush=True)
        cluster.start()
        print(f"Kamailio: sip:voicebot@127.0.0.1:{cluster.proxy_port} (UDP/TCP)", flush=True)
        for w in cluster.members:
            print(f"  {w.worker_id}: SIP {w.sip_address}, http://127.0.0.1:{w.http_port}/health, "
                  f"RTP {w.rtp_ports[0]}-{w.rtp_ports[1]}", flush=True)
        print("Ctrl-C stops all; `kill -TERM <worker pid>` drains one worker", flush=True)
        while not stop["now"]:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    except ClusterStartError as exc:
        print(f"voicebot cluster up: {exc}", file=sys.stderr)
        return 1
    finally:
        cluster.stop()
    return 0
