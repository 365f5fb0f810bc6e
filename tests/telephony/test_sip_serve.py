"""`voicebot serve` (the web app factory) listens for SIP calls once the models are loaded."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from tests.support.sip_helpers import RawPeer
from tests.support.sip_helpers import sip_request as request
from voicebot.app import create_app
from voicebot.appkeys import SIP_LINE
from voicebot.config import Settings

pytestmark = pytest.mark.models


async def test_serve_answers_sip_on_the_configured_port_and_releases_it(settings: Settings) -> None:
    app = create_app(settings)
    runner = web.AppRunner(app)
    await runner.setup()  # runs the cleanup contexts: Redis, models, SIP line
    loop = asyncio.get_running_loop()
    transport, peer = await loop.create_datagram_endpoint(RawPeer, local_addr=("127.0.0.1", 0))
    try:
        port = app[SIP_LINE].port
        assert port > 0  # VOICEBOT_SIP_PORT=0 in the test settings: ephemeral
        resp = await peer.ask(request("OPTIONS", peer.port), ("127.0.0.1", port))
        assert resp is not None and resp.status == 200
    finally:
        await runner.cleanup()
    resp = await peer.ask(request("OPTIONS", peer.port), ("127.0.0.1", port), timeout=0.5)
    transport.close()
    assert resp is None  # the line is closed with the app


async def test_sip_can_be_switched_off(settings: Settings) -> None:
    off = settings.model_copy(update={"sip": settings.sip.model_copy(update={"enabled": False})})
    app = create_app(off)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        assert SIP_LINE not in app
    finally:
        await runner.cleanup()
