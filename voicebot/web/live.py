"""One background task per process relays Redis pub/sub to browsers and in-process listeners.

`ch:calls` events go to every open supervisor websocket, `ch:callbacks` events to every open callback
worklist; `ch:flows` events go to flow listeners (the flow registry reloads the published version). A
websocket that cannot keep up is dropped rather than letting its queue grow without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis
from aiohttp import WSMsgType, web

from voicebot.store.keys import Keys

log = logging.getLogger(__name__)
WS_HEARTBEAT_S = 20.0

FlowListener = Callable[[dict[str, Any]], Awaitable[None]]
QUEUE_MAX = 500


class LiveHub:
    def __init__(self, client: aioredis.Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys
        self.call_queues: set[asyncio.Queue[dict[str, Any]]] = set()
        self.callback_queues: set[asyncio.Queue[dict[str, Any]]] = set()
        self.flow_listeners: list[FlowListener] = []
        self.ready = asyncio.Event()
        # Set on shutdown. The loops check it because a cancel() landing inside redis-py can be swallowed.
        self.stopping = asyncio.Event()

    def subscribe_calls(self) -> asyncio.Queue[dict[str, Any]]:
        q: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_MAX)
        self.call_queues.add(q)
        return q

    def unsubscribe_calls(self, q: asyncio.Queue[dict[str, Any]]) -> None:
        self.call_queues.discard(q)

    def on_flow_published(self, listener: FlowListener) -> None:
        self.flow_listeners.append(listener)

    async def run(self) -> None:
        """Relay until stopped; reconnect after a Redis outage."""
        while not self.stopping.is_set():
            try:
                await self._relay()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis went away: supervisors miss events, calls go on
                log.warning("live relay: %s; retrying in 1 s", exc)
                self.ready.clear()
                await asyncio.sleep(1)

    async def _relay(self) -> None:
        pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self.keys.channel_calls, self.keys.channel_flows, self.keys.channel_callbacks)
            self.ready.set()
            while not self.stopping.is_set():
                msg = await pubsub.get_message(timeout=1.0)
                if msg is None:
                    continue
                try:
                    event = json.loads(msg["data"])
                except (TypeError, ValueError):
                    continue
                if msg["channel"] == self.keys.channel_flows:
                    await self._to_flow_listeners(event)
                elif msg["channel"] == self.keys.channel_callbacks:
                    self._to_websockets(event, self.callback_queues)
                else:
                    self._to_websockets(event, self.call_queues)
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()

    def _to_websockets(self, event: dict[str, Any], queues: set[asyncio.Queue[dict[str, Any]]]) -> None:
        for q in list(queues):
            try:
                q.put_nowait(event)
            except asyncio.QueueFull:
                queues.discard(q)  # its websocket sees it is gone and closes
                log.warning("live relay: a browser's websocket is too slow; dropped")

    async def _to_flow_listeners(self, event: dict[str, Any]) -> None:
        for listener in self.flow_listeners:
            try:
                await listener(event)
            except Exception:
                log.exception("flow listener failed for %s", event)


async def relay_to_browser(request: web.Request, queues: set[asyncio.Queue[dict[str, Any]]],
                           first: dict[str, Any] | None = None) -> web.WebSocketResponse:
    """A websocket fed with the events put in a new queue of `queues` (after `first`), until the browser
    goes away or its queue is dropped as too slow."""
    ws = web.WebSocketResponse(heartbeat=WS_HEARTBEAT_S)
    await ws.prepare(request)
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_MAX)
    queues.add(queue)

    async def reader() -> None:  # notices the browser going away
        async for msg in ws:
            if msg.type in (WSMsgType.CLOSE, WSMsgType.ERROR):
                break

    reading = asyncio.create_task(reader())
    try:
        if first is not None:
            await ws.send_json(first)
        while not ws.closed and not reading.done():
            try:
                event = await asyncio.wait_for(queue.get(), timeout=5.0)
            except TimeoutError:
                if queue not in queues:  # dropped as too slow
                    break
                continue
            await ws.send_json(event)
    finally:
        queues.discard(queue)
        reading.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reading
        await ws.close()
    return ws


async def hub_ctx(app: web.Application, hub: LiveHub) -> AsyncIterator[None]:
    task = asyncio.create_task(hub.run())
    try:
        yield
    finally:
        hub.stopping.set()
        try:
            await asyncio.wait_for(task, 5)
        except TimeoutError:
            log.warning("live relay did not stop in time")
