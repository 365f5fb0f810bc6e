"""`voicebot serve`: the long-running process hosting phone lines, the web UI and the API."""

from __future__ import annotations

import argparse

from aiohttp import web

from voicebot.config import Settings


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="serve phone lines, the web UI and the API")
    p.add_argument("--host", help="HTTP bind address (default: http.host)")
    p.add_argument("--port", type=int, help="HTTP port (default: http.port / VOICEBOT_HTTP_PORT)")
    p.add_argument("--no-models", action="store_true", help="do not load speech models (web/API only)")
    p.add_argument("--demo-crm", action="store_true",
                   help="also serve the demo CRM on dialog.crm_url's port (sample orders and appointment slots)")
    p.set_defaults(func=_serve)


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from voicebot.app import create_app

    http = settings.http.model_copy(
        update={k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    )
    settings = settings.model_copy(update={"http": http})
    app = create_app(settings, load_models=not args.no_models, bootstrap=True, demo_crm=args.demo_crm)
    print(f"voicebot: serving http://{http.host}:{http.port}/ (health: /health)", flush=True)
    web.run_app(app, host=http.host, port=http.port, print=None)
    return 0
