"""Schemathesis generates requests from GET /api/openapi.json and sends them, logged in as admin with the
CSRF header, to the real app on a real port: no request may produce a server error (5xx), and every answer
fits the document's schema."""

import asyncio
import re
import threading
from collections import Counter
from collections.abc import Iterator

import pytest
import requests
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.web.conftest import PASSWORDS, seed_calls
from voicebot.app import create_app
from voicebot.appkeys import CALL_STORE, USERS
from voicebot.config import Settings

pytestmark = pytest.mark.slow
MAX_EXAMPLES = 15  # per operation; ~20 operations


class ServerThread:
    """The app on its own event loop in a thread, so schemathesis's blocking client can call it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.url = ""
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._start())
        self.ready.set()
        self.loop.run_forever()

    async def _start(self) -> None:
        app = create_app(self.settings, load_models=False)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        await app[USERS].add("admin", PASSWORDS["admin"], "admin")
        await seed_calls(app[CALL_STORE])

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture
def server(settings: Settings, redis_client) -> Iterator[ServerThread]:
    srv = ServerThread(settings)
    srv.thread.start()
    assert srv.ready.wait(20), "server did not start"
    yield srv
    srv.stop()


def admin_session(base: str) -> requests.Session:
    s = requests.Session()
    token = re.search(r'name="csrf" value="([^"]+)"', s.get(f"{base}/login", timeout=10).text)
    assert token
    r = s.post(f"{base}/login", data={"name": "admin", "password": PASSWORDS["admin"], "csrf": token.group(1)},
               allow_redirects=False, timeout=10)
    assert r.status_code == 303
    s.headers["X-CSRF-Token"] = s.get(f"{base}/api/me", timeout=10).json()["csrf"]
    return s


def test_no_server_errors_anywhere_in_the_api(server: ServerThread) -> None:
    session = admin_session(server.url)
    schema = schemathesis.openapi.from_url(f"{server.url}/api/openapi.json")
    # Use our logged-in session: generated junk credentials would only test the 401 path.
    schema.config.generation.update(with_security_parameters=False)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 18
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    for op in operations:
        @given(case=op.as_strategy())
        @hsettings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
                   suppress_health_check=list(HealthCheck))
        def run(case) -> None:
            response = case.call(base_url=server.url, session=session, timeout=30)
            statuses[response.status_code] += 1
            # Answers must fit the generated document too; schemathesis refuses the OpenAPI 3.1 tuple schema
            # (prefixItems) of /api/kpis' calls_per_hour, so that one is checked in tests/web/test_openapi.py.
            fits = [] if case.operation.path == "/api/kpis" else [response_schema_conformance]
            case.validate_response(response, checks=[not_a_server_error, *fits])

        try:
            run()
        except Exception as exc:  # collect all operations' failures, not only the first
            failures.append(f"{op.method.upper()} {op.path}: {exc}")
    assert not failures, "\n\n".join(failures)
    # it really was logged in and reached handlers: successes and input errors, not just 401/403
    assert statuses[200] >= 20 and statuses[422] > 0 and statuses[401] == 0, statuses
    print("responses by status:", dict(statuses))
    # the fuzzing did not break the session (e.g. by deleting the admin)
    assert session.get(f"{server.url}/api/me", timeout=10).json()["name"] == "admin"
