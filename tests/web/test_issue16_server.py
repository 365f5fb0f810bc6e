"""Issue 16, the web server itself: /metrics access, errors that keep the security headers, half-sent requests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.web.conftest import Client, SeedCall, seed_calls
from voicebot.app import create_app
from voicebot.appkeys import FLOW_STORE, USERS
from voicebot.config import PROJECT_ROOT, Settings
from voicebot.web.security import SECURITY_HEADERS

METRICS_TOKEN = "metrics-secret-for-the-test"


def with_web(settings: Settings, **web_settings) -> Settings:
    return settings.model_copy(update={"web": settings.web.model_copy(update=web_settings)})


@pytest.fixture
async def server(settings: Settings, redis_client) -> AsyncIterator[TestServer]:
    """Metrics for 127.0.0.1 only (or the token); a 1 s header timeout; a route that crashes."""
    app = create_app(with_web(settings, metrics_allowed=("127.0.0.1/32",), metrics_token=METRICS_TOKEN,
                              header_timeout_secs=1.0), load_models=False)

    async def crash(request: web.Request) -> web.Response:
        raise RuntimeError("a bug in some handler")

    app.router.add_get("/api/crash", crash)
    srv = TestServer(app, host="127.0.0.1")
    await srv.start_server()
    yield srv
    await srv.close()


def base(server: TestServer) -> str:
    return str(server.make_url("")).rstrip("/")


# -- finding 12: /metrics is not public -------------------------------------------------------------------

async def test_metrics_only_for_allowed_addresses_or_the_token(server) -> None:
    outside = aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=("127.0.0.2", 0)))
    try:
        async with outside.get(base(server) + "/metrics") as r:
            assert r.status == 403 and "voicebot_process_rss_bytes" not in await r.text()
            assert r.headers["X-Content-Type-Options"] == "nosniff"
        async with outside.get(base(server) + "/metrics", headers={"Authorization": "Bearer wrong"}) as r:
            assert r.status == 403
        async with outside.get(base(server) + "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}) as r:
            assert r.status == 200 and "voicebot_process_rss_bytes" in await r.text()
        async with outside.get(base(server) + "/health") as r:
            assert r.status == 200  # the load balancer's check stays open
    finally:
        await outside.close()
    async with aiohttp.ClientSession() as local, local.get(base(server) + "/metrics") as r:
        assert r.status == 200 and "voicebot_process_rss_bytes" in await r.text()


# -- finding 13: errors keep the security headers --------------------------------------------------------

async def test_huge_version_number_is_a_404_with_security_headers(web_server, make_client) -> None:
    text = (PROJECT_ROOT / "dialogs" / "customer_service.en.yaml").read_text()
    await web_server.app[FLOW_STORE].save("customer_service", "en", text, author="test")  # Redis has the list
    sup = await make_client("sup")
    for version in ("99999999999999999999999999", str(2**63), "0"):
        async with sup.http.get(sup.url(f"/api/flows/customer_service/en/versions/{version}")) as r:
            assert r.status == 404, (version, r.status)
            assert "no version" in (await r.json())["error"]
            for name, value in SECURITY_HEADERS.items():
                assert r.headers.get(name) == value, (version, name)


async def test_a_crash_answers_500_with_security_headers_and_no_traceback(server, settings, caplog) -> None:
    await server.app[USERS].add("sup", "supervisor-pass-123", "supervisor")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        client = Client(http, base(server))
        assert (await client.login("sup", "supervisor-pass-123")).status == 303
        async with http.get(client.url("/api/crash")) as r:
            body = await r.text()
            assert r.status == 500 and (await r.json())["error"].startswith("internal error")
            assert "RuntimeError" not in body and "Traceback" not in body
            for name, value in SECURITY_HEADERS.items():
                assert r.headers.get(name) == value, name
    assert "a bug in some handler" in caplog.text  # the details go to the log


# -- finding 14: half-sent requests are not held open ----------------------------------------------------

async def test_half_sent_requests_are_closed_after_the_header_timeout(server) -> None:
    host, port = "127.0.0.1", server.port

    async def half_sent(request_start: bytes, drip: bool) -> float:
        reader, writer = await asyncio.open_connection(host, port)
        started = time.monotonic()
        try:
            if drip:  # slowloris: a header byte now and then, never the blank line
                for byte in request_start:
                    writer.write(bytes([byte]))
                    await writer.drain()
                    if await _closed_within(reader, 0.2):
                        return time.monotonic() - started
                raise AssertionError("the server waited through the whole dripped request line")
            writer.write(request_start)
            await writer.drain()
            assert await _closed_within(reader, 6.0), "half-sent request still open after 6 s"
            return time.monotonic() - started
        finally:
            writer.close()

    partial = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
    held = await asyncio.gather(*(half_sent(partial, drip=False) for _ in range(50)),
                                half_sent(b"", drip=False), half_sent(partial + b"a" * 200, drip=True))
    assert max(held) < 6.0, held  # 1 s timeout; generous for a loaded machine
    # a whole request is still answered
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 200")


async def _closed_within(reader: asyncio.StreamReader, seconds: float) -> bool:
    try:
        data = await asyncio.wait_for(reader.read(1024), seconds)
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True
    return data == b"" or data.startswith(b"HTTP/1.1 408")


# -- output encoding (checked by the report, kept by this test) ----------------------------------------------

async def test_what_a_caller_said_is_shown_as_text_never_as_markup(web_server, make_client, call_store) -> None:
    said = '<img src=x onerror=alert(1)> "quoted" </td><script>alert(2)</script>'
    await seed_calls(call_store, [SeedCall("call-xss", "+48500100200", "en", 60, 30, "contained", caller_text=said)])
    sup = await make_client("sup")
    async with sup.http.get(sup.url("/supervisor/calls/call-xss")) as r:
        page = await r.text()
    assert r.status == 200 and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<img src=x" not in page and "<script>alert" not in page
    async with sup.http.get(sup.url("/supervisor/calls"), params={"q": '"><script>alert(3)</script>'}) as r:
        page = await r.text()  # the search box shows the query back
    assert r.status == 200 and "<script>alert(3)" not in page and "&lt;script&gt;alert(3)" in page
