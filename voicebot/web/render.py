"""Server-rendered HTML: jinja2 templates under voicebot/web/templates, autoescaped."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from voicebot.appkeys import CURRENT_LOGIN_SESSION, CURRENT_USER, TEMPLATES

TEMPLATE_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"


def _when(ts: Any) -> str:
    try:
        return dt.datetime.fromtimestamp(float(ts), dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    except (TypeError, ValueError):
        return ""


def _num(value: Any, digits: int = 2) -> str:
    try:
        return f"{float(value):.{digits}f}"
    except (TypeError, ValueError):
        return "–"


def _pct(value: Any) -> str:
    return "–" if value is None else f"{100 * float(value):.0f}%"


def make_templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=jinja2.select_autoescape(["html", "svg"]),
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(when=_when, num=_num, pct=_pct)
    return env


def render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    env: jinja2.Environment = request.app[TEMPLATES]
    session = request.get(CURRENT_LOGIN_SESSION)
    context.setdefault("user", request.get(CURRENT_USER))
    context.setdefault("csrf", session.csrf if session else "")
    html = env.get_template(template).render(**context)
    return web.Response(text=html, content_type="text/html", status=status)
