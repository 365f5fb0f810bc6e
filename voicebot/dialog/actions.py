"""Running a flow's actions: declared webhooks (aiohttp client) or named Python actions from a registry
passed in at load time (never an import path taken from YAML)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from voicebot.dialog import templates
from voicebot.dialog.schema import Webhook

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ActionOutcome:
    ok: bool
    status: int | None = None
    data: Any = None
    error: str = ""


# A Python action: gets the template context (slots, results, built-ins), returns an outcome.
ActionFn = Callable[[dict[str, Any]], Awaitable[ActionOutcome]]
ActionRegistry = Mapping[str, ActionFn]


async def run_webhook(http: aiohttp.ClientSession, hook: Webhook, context: dict[str, Any]) -> ActionOutcome:
    """Call the webhook; retry timeouts, connection errors and 5xx; a 4xx is an answer, not a failure."""
    url = templates.render(hook.url, context)
    body = templates.render_json(hook.body, context) if hook.body is not None else None
    last = ActionOutcome(False, error="not attempted")
    for attempt in range(hook.retries + 1):
        try:
            async with http.request(hook.method, url, json=body,
                                    timeout=aiohttp.ClientTimeout(total=hook.timeout)) as resp:
                data = await _json(resp)
                if resp.status < 400:
                    return ActionOutcome(True, resp.status, data)
                last = ActionOutcome(False, resp.status, data, f"HTTP {resp.status}")
                if resp.status < 500:
                    return last
        except TimeoutError:
            last = ActionOutcome(False, error=f"timeout after {hook.timeout}s")
        except aiohttp.ClientError as exc:
            last = ActionOutcome(False, error=f"{type(exc).__name__}: {exc}")
        log.warning("webhook %s %s failed (attempt %d/%d): %s", hook.method, url, attempt + 1,
                    hook.retries + 1, last.error)
        if attempt < hook.retries:
            await asyncio.sleep(0.2 * (attempt + 1))
    return last


async def _json(resp: aiohttp.ClientResponse) -> Any:
    try:
        return await resp.json(content_type=None)
    except (ValueError, aiohttp.ContentTypeError):
        return {"text": (await resp.text())[:500]}
