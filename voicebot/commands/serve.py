"""`voicebot serve`: the long-running process hosting phone lines, the web UI and the API."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

from voicebot.config import Settings
from voicebot.drain import Drain, worker_id
from voicebot.lifecycle import serve_until_signal
from voicebot.native_memory import limit_arenas


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="serve phone lines, the web UI and the API")
    p.add_argument("--host", help="HTTP bind address (default: http.host)")
    p.add_argument("--port", type=int, help="HTTP port (default: http.port / VOICEBOT_HTTP_PORT)")
    p.add_argument("--no-models", action="store_true", help="do not load speech models (web/API only)")
    p.add_argument("--demo-crm", action="store_true",
                   help="also serve the demo CRM on dialog.crm_url's port (sample orders and appointment slots)")
    p.set_defaults(func=_serve)


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    limit_arenas()  # before the model and call threads start (voicebot/native_memory.py)
    from voicebot.app import create_app

    http = settings.http.model_copy(
        update={k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    )
    settings = settings.model_copy(update={"http": http})
    drain = Drain(worker_id(settings))  # SIGTERM: finish the calls first (voicebot/drain.py)
    app = create_app(settings, load_models=not args.no_models, bootstrap=True, demo_crm=args.demo_crm,
                     drain=drain)
    print(f"voicebot: serving http://{http.host}:{http.port}/ (health: /health)", flush=True)
    code = asyncio.run(serve_until_signal(app, http.host, http.port, drain, settings.cluster))
    # Lines are closed and Redis writes flushed by now. Leave without running the native model libraries'
    # static destructors: with a model thread still finishing a job they abort the process ("terminate called
    # without an active exception"), and a drained worker must exit 0 for its supervisor.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
