"""Flow editing through the API/pages: validation with lines, versions, diff, publish gated by the flow's
tests, rollback, audit, and publication reaching another server process's flow registry."""

import asyncio
from pathlib import Path

import pytest

from voicebot.app import create_app
from voicebot.appkeys import FLOW_REGISTRY, FLOW_STORE
from voicebot.config import PROJECT_ROOT
from voicebot.jobs.flow_sync import apply_live_flows
from voicebot.web.flowcheck import read_flow_files, seed_flows

EN_FLOW = (PROJECT_ROOT / "dialogs" / "customer_service.en.yaml").read_text(encoding="utf-8")
BROKEN = EN_FLOW.replace("    next: lookup_order\n", "    next: lookup_ordr\n", 1)
BROKEN_LINE = EN_FLOW[: EN_FLOW.index("    next: lookup_order\n")].count("\n") + 1
RENAMED = EN_FLOW.replace("Please tell me your five-digit order number.",
                          "What is your order number? It has five digits.")
# Valid YAML and a valid flow, but the "opening hours" test conversation expects "Saturday" in the answer.
FAILS_TESTS = EN_FLOW.replace("and on Saturday from 9 am to 2 pm", "and at weekends until 2 pm")
BASE = "/api/flows/customer_service/en"



@pytest.fixture
async def admin(web_server, make_client, settings):
    files = read_flow_files(settings.path(settings.dialog.flows_dir))  # each flow in dialogs/, en + pl
    assert len(files) >= 2 and await seed_flows(web_server.app[FLOW_STORE], settings) == len(files)
    return await make_client("admin")


async def test_broken_flow_is_refused_with_the_line(admin) -> None:
    assert RENAMED != EN_FLOW and BROKEN != EN_FLOW and FAILS_TESTS != EN_FLOW
    async with admin.http.post(admin.url(f"{BASE}/versions"), json={"yaml": BROKEN}, headers=admin.headers()) as r:
        assert r.status == 422
        body = await r.json()
    assert any(p["line"] == BROKEN_LINE and "lookup_ordr" in p["message"] for p in body["problems"]), body
    async with admin.http.post(admin.url(f"{BASE}/versions"), json={"yaml": "a: [b"}, headers=admin.headers()) as r:
        assert r.status == 422 and (await r.json())["problems"][0]["line"] == 1
    async with admin.http.get(admin.url(f"{BASE}/versions")) as r:
        assert len((await r.json())["versions"]) == 1  # nothing was saved
    # the editor page keeps the admin's text and puts the message next to the line
    async with admin.http.post(admin.url("/admin/flows/customer_service/en"),
                               data={"yaml": BROKEN, "csrf": admin.csrf}) as r:
        html = await r.text()
        assert r.status == 422
    assert f'id="line-{BROKEN_LINE}"' in html and "lookup_ordr" in html
    line_html = html[html.index(f'id="line-{BROKEN_LINE}"'):]
    line_html = line_html[: line_html.index("</li>")]
    assert "line-error" in line_html


async def test_flow_from_another_flow_id_is_refused(admin) -> None:
    other = EN_FLOW.replace("id: customer_service", "id: billing", 1)
    async with admin.http.post(admin.url(f"{BASE}/versions"), json={"yaml": other}, headers=admin.headers()) as r:
        assert r.status == 422 and "customer_service" in (await r.json())["problems"][0]["message"]


async def test_publish_runs_the_flow_tests_then_rollback(admin, redis_client, redis_prefix) -> None:
    async with admin.http.post(admin.url(f"{BASE}/versions"), json={"yaml": RENAMED, "note": "wording"},
                               headers=admin.headers()) as r:
        assert r.status == 201 and (await r.json())["version"] == 2
    async with admin.http.post(admin.url(f"{BASE}/publish"), json={"version": 2}, headers=admin.headers()) as r:
        assert r.status == 200, await r.text()
    async with admin.http.post(admin.url(f"{BASE}/versions"), json={"yaml": FAILS_TESTS},
                               headers=admin.headers()) as r:
        assert r.status == 201  # valid flow: saved as a draft
    async with admin.http.post(admin.url(f"{BASE}/publish"), json={"version": 3}, headers=admin.headers()) as r:
        assert r.status == 409
        assert "opening hours" in (await r.json())["error"]
    async with admin.http.get(admin.url(f"{BASE}/versions")) as r:
        assert (await r.json())["live"] == 2  # the refused version did not go live
    async with admin.http.post(admin.url(f"{BASE}/rollback"), json={"version": 1}, headers=admin.headers()) as r:
        assert r.status == 200
    async with admin.http.get(admin.url(f"{BASE}/versions")) as r:
        assert (await r.json())["live"] == 1
    async with admin.http.get(admin.url("/api/audit")) as r:
        actions = [(e["who"], e["action"]) for e in (await r.json())["entries"]]
    for action in ("flow.save", "flow.publish", "flow.publish_refused", "flow.rollback"):
        assert ("admin", action) in actions
    async with admin.http.get(admin.url("/admin/flows/customer_service/en/diff?from=1&to=2")) as r:
        html = await r.text()
    assert '<span class="del">-      - &#34;Please tell me your five-digit order number.&#34;' in html
    assert '<span class="add">+      - &#34;What is your order number? It has five digits.&#34;' in html


async def test_unknown_versions_and_flows(admin) -> None:
    async with admin.http.post(admin.url(f"{BASE}/publish"), json={"version": 99}, headers=admin.headers()) as r:
        assert r.status == 404
    async with admin.http.post(admin.url(f"{BASE}/publish"), json={"version": "1"}, headers=admin.headers()) as r:
        assert r.status == 400 and (await r.json())["error"].startswith("version:")  # "1" is not a number
    async with admin.http.post(admin.url(f"{BASE}/publish"), data="not json",
                               headers={**admin.headers(), "Content-Type": "application/json"}) as r:
        assert r.status == 400 and "JSON" in (await r.json())["error"]
    async with admin.http.get(admin.url("/admin/flows/nope/en")) as r:
        assert r.status == 404
    async with admin.http.get(admin.url("/api/flows/BAD!/en/versions")) as r:
        assert r.status == 400 and (await r.json())["error"].startswith("flow_id:")


async def test_publication_reaches_another_process_without_touching_live_calls(admin, web_server, settings,
                                                                              tmp_path: Path) -> None:
    """A second app on the same Redis stands in for a second server process with its own flow registry."""
    from aiohttp.test_utils import TestServer

    from voicebot.dialog.registry import FlowRegistry

    registry = FlowRegistry(PROJECT_ROOT / "dialogs", settings.business_hours)
    assert not registry.reload()
    running_call_flow = registry.get("customer_service", "en")  # what a call in progress holds
    other = create_app(settings, load_models=False)
    other[FLOW_REGISTRY] = registry
    server = TestServer(other, host="127.0.0.1")
    await server.start_server()
    try:
        async with admin.http.post(admin.url(f"{BASE}/versions"), json={"yaml": RENAMED},
                                   headers=admin.headers()) as r:
            assert r.status == 201
        async with admin.http.post(admin.url(f"{BASE}/publish"), json={"version": 2},
                                   headers=admin.headers()) as r:
            assert r.status == 200
        for _ in range(100):
            if registry.get("customer_service", "en").text == RENAMED:
                break
            await asyncio.sleep(0.1)
        assert registry.get("customer_service", "en").text == RENAMED
        assert running_call_flow.text == EN_FLOW  # the call that was running keeps its version
    finally:
        await server.close()
    # a process starting later loads the files, then Redis's live versions on top
    fresh = FlowRegistry(PROJECT_ROOT / "dialogs", settings.business_hours)
    assert not fresh.reload() and fresh.get("customer_service", "en").text == EN_FLOW
    assert await apply_live_flows(web_server.app[FLOW_STORE], fresh) == len(read_flow_files(PROJECT_ROOT / "dialogs"))
    assert fresh.get("customer_service", "en").text == RENAMED


def alias_bomb(levels: int) -> str:
    """A few hundred bytes of YAML that expand to 9**levels values ("billion laughs")."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


async def test_an_alias_bomb_is_refused_and_the_server_stays_responsive(admin) -> None:
    bomb = alias_bomb(7)  # 4.8 million values once expanded
    assert len(bomb) < 400
    health: list[float] = []
    stop = asyncio.Event()

    async def poll_health() -> None:
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            t0 = loop.time()
            async with admin.http.get(admin.url("/health")) as r:
                assert r.status in (200, 503)
            health.append(loop.time() - t0)
            await asyncio.sleep(0.02)

    poller = asyncio.create_task(poll_health())
    await asyncio.sleep(0.1)
    async with admin.http.post(admin.url(f"{BASE}/versions"), json={"yaml": bomb}, headers=admin.headers()) as r:
        status, body = r.status, await r.json()
    await asyncio.sleep(0.1)
    stop.set()
    await poller
    assert status == 422, body
    assert any("aliases" in p["message"] for p in body["problems"]), body
    assert max(health) < 1.0, f"/health took {max(health):.2f} s while the flow was checked"
