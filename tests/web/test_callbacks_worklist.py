"""The callback worklist (due / overdue, claim, outcome, notes, filters, live updates) and the agent role, who
sees only their screen-pops, the worklist and their own account."""

from __future__ import annotations

import asyncio
import re
import time

import aiohttp
import pytest
from playwright.async_api import expect

from tests.web.test_browser_ui import _login, browser  # noqa: F401 - browser: the headless Chromium fixture
from tests.web.test_web_security import SAMPLE, unsafe_routes
from voicebot.appkeys import CALL_STORE
from voicebot.store.callbacks import CallbackRequest, CallbackStore

# Routes the agent role may use; everything else answers 403.
AGENT_ROUTES = {
    "/", "/callbacks", "/callbacks/ws", "/callbacks/{callback_id}/claim", "/callbacks/{callback_id}/outcome",
    "/agent/handoff/{handoff_id}", "/api/handoffs/{handoff_id}", "/account", "/account/password", "/account/tokens",
    "/account/tokens/{token_id}/revoke", "/logout", "/api/me", "/api/me/password", "/api/tokens",
    "/api/tokens/{token_id}",
}


def _store(web_server) -> CallbackStore:
    calls = web_server.app[CALL_STORE]
    return CallbackStore(calls.client, calls.keys, calls.buffer, redact=calls.redact)


async def _seed(web_server) -> dict[str, CallbackRequest]:
    now = time.time()
    made = {
        "overdue": CallbackRequest(number="48500100201", topic="complaint", preferred_time="", due=now - 3600),
        "due": CallbackRequest(number="48500100202", topic="payment_problem", preferred_time="", due=now - 60),
        "later": CallbackRequest(number="48500100203", topic="complaint", preferred_time="", due=now + 86400),
        "failed": CallbackRequest(number="48500100204", topic="complaint", preferred_time="", due=now - 7200,
                                  status="failed", attempts=3, last_result="no_answer (487 Request Terminated)"),
    }
    for r in made.values():
        await _store(web_server).add(r)
    return made


def _rows(html: str) -> list[str]:
    return re.findall(r'data-callback="([0-9a-f]+)"', html)


async def test_worklist_shows_due_and_overdue_filters_and_records_claims_outcomes_and_notes(
        web_server, make_client) -> None:
    seeded = await _seed(web_server)
    sup = await make_client("sup")
    async with sup.http.get(sup.url("/callbacks")) as r:
        html = await r.text()
    assert r.status == 200
    assert set(_rows(html)) == {seeded["overdue"].id, seeded["due"].id}  # due now; tomorrow's is not
    assert html.count("<strong>overdue</strong>") == 1 and "48500100201" in html
    async with sup.http.get(sup.url("/callbacks?show=open&topic=complaint")) as r:
        assert set(_rows(await r.text())) == {seeded["overdue"].id, seeded["later"].id}
    async with sup.http.get(sup.url("/callbacks?show=closed")) as r:
        html = await r.text()
    assert _rows(html) == [seeded["failed"].id] and "no_answer (487" in html  # the dialer gave up on it

    agent = await make_client("agent")
    cid = seeded["overdue"].id
    async with agent.http.post(agent.url(f"/callbacks/{cid}/claim"), data={"csrf": agent.csrf}) as r:
        assert r.status == 200  # back on the worklist
    async with sup.http.post(sup.url(f"/callbacks/{cid}/claim"), data={"csrf": sup.csrf}) as r:
        assert r.status == 409 and "already claimed by agent" in await r.text()
    async with agent.http.get(agent.url("/callbacks?mine=1")) as r:
        assert _rows(await r.text()) == [cid]
    async with agent.http.post(agent.url(f"/callbacks/{cid}/outcome"),
                               data={"csrf": agent.csrf, "outcome": "moved_on", "notes": "x"}) as r:
        assert r.status == 422 and "outcome must be one of" in await r.text()
    notes = "Reached her; card 4111 1111 1111 1111 was charged twice, refund promised."
    async with agent.http.post(agent.url(f"/callbacks/{cid}/outcome"),
                               data={"csrf": agent.csrf, "outcome": "reached", "notes": notes}) as r:
        assert r.status == 200
    done = await _store(web_server).get(cid)
    assert done is not None and done.status == "reached" and done.claimed_by == "agent"
    assert "refund promised" in done.notes and "4111" not in done.notes  # PII redacted at rest
    async with sup.http.get(sup.url("/callbacks")) as r:
        assert cid not in _rows(await r.text())  # no longer due
    # "No answer" keeps it open for another try.
    other = seeded["due"].id
    async with sup.http.post(sup.url(f"/callbacks/{other}/outcome"),
                             data={"csrf": sup.csrf, "outcome": "no_answer"}) as r:
        assert r.status == 200
    again = await _store(web_server).get(other)
    assert again is not None and again.status == "open" and again.last_result == "no_answer (sup)"


async def test_worklist_updates_live_when_a_callback_changes(web_server, make_client) -> None:
    seeded = await _seed(web_server)
    agent, sup = await make_client("agent"), await make_client("sup")
    async with agent.http.ws_connect(agent.url("/callbacks/ws"), headers={"Origin": agent.base}) as ws:
        await asyncio.sleep(0.2)  # subscribed before the change
        deadline = time.monotonic() + 20
        while True:  # the relay may still be subscribing to Redis: change until an event arrives
            async with sup.http.post(sup.url(f"/callbacks/{seeded['due'].id}/claim"),
                                     data={"csrf": sup.csrf, "release": "1" if time.monotonic() % 2 else ""}):
                pass
            try:
                msg = await ws.receive_json(timeout=2)
                break
            except TimeoutError:
                assert time.monotonic() < deadline, "no live update"
    assert msg == {"event": "callback", "id": seeded["due"].id, "status": "open"}


async def test_an_agent_sees_only_screen_pops_callbacks_and_their_account(web_server, make_client) -> None:
    agent = await make_client("agent")
    async with agent.http.get(agent.url("/"), allow_redirects=False) as r:
        assert r.status == 302 and r.headers["Location"] == "/callbacks"
    async with agent.http.get(agent.url("/callbacks")) as r:
        html = await r.text()
    assert r.status == 200 and "Live calls" not in html  # no links to pages they cannot open
    async with agent.http.get(agent.url("/agent/handoff/h-unknown")) as r:
        assert r.status == 404  # allowed; there is just no such package
    async with agent.http.get(agent.url("/account")) as r:
        assert r.status == 200
    refused = 0
    for route in web_server.app.router.routes():
        canonical = route.resource.canonical if route.resource else ""
        access = getattr(route.handler, "_voicebot_access", "user")
        if access == "public" or canonical in AGENT_ROUTES or canonical.startswith(("/static", "/twilio/",
                                                                                  "/api/audiosocket/")):
            continue
        if route.method == "HEAD":
            continue
        path = re.sub(r"\{(\w+)(:[^}]*)?\}", lambda m: SAMPLE[m.group(1)], canonical)
        async with agent.http.request(route.method, agent.url(path), json={}, headers=agent.headers(),
                                      allow_redirects=False) as r:
            assert r.status == 403, (route.method, path, r.status)
        refused += 1
    assert refused >= 20  # live calls, call search, transcripts, recordings, KPIs, flows, users, audit, CSAT...
    # The agent's own routes really are theirs: state-changing ones among them still need CSRF.
    assert {p for m, p, _ in unsafe_routes(web_server.app)} >= {f"/callbacks/{SAMPLE['callback_id']}/claim"}


async def test_an_agent_api_token_stays_an_agent(web_server, make_client) -> None:
    agent = await make_client("agent")
    async with agent.http.post(agent.url("/api/tokens"), json={"days": 1, "scope": "read"},
                               headers=agent.headers()) as r:
        assert r.status in (200, 201), await r.text()
        secret = (await r.json())["token"]
    async with aiohttp.ClientSession() as script:
        bearer = {"Authorization": f"Bearer {secret}"}
        async with script.get(agent.url("/api/calls"), headers=bearer) as r:
            assert r.status == 403  # a read token of an agent reads what an agent may, not what a supervisor may
        async with script.get(agent.url("/api/me"), headers=bearer) as r:
            assert (await r.json())["role"] == "agent"
    async with agent.http.post(agent.url("/api/tokens"), json={"days": 1, "scope": "supervisor"},
                               headers=agent.headers()) as r:
        assert r.status == 422


@pytest.mark.slow
async def test_an_agent_works_the_worklist_in_a_browser_and_it_updates_live(browser, web_server, make_client,  # noqa: F811
                                                                            output_dir) -> None:
    seeded = await _seed(web_server)
    page = await _login(browser, str(web_server.make_url("")), "agent")
    await expect(page).to_have_url(re.compile(r"/callbacks$"))  # the agent's start page
    await expect(page.locator("#worklist-status")).to_have_text("live")
    overdue = page.locator(f'tr[data-callback="{seeded["overdue"].id}"]')
    await expect(overdue).to_contain_text("overdue")
    await overdue.locator("button", has_text="Claim").click()
    await expect(overdue).to_contain_text("Release")
    # A supervisor elsewhere claims the other due one: the agent's list shows it without a reload.
    sup = await make_client("sup")
    async with sup.http.post(sup.url(f"/callbacks/{seeded['due'].id}/claim"), data={"csrf": sup.csrf}):
        pass
    await expect(page.locator(f'tr[data-callback="{seeded["due"].id}"]')).to_contain_text("sup")
    await overdue.locator("textarea[name=notes]").fill("Reached, wants a replacement lamp.")
    await overdue.locator("select[name=outcome]").select_option("reached")
    await overdue.locator("button", has_text="Save").click()
    await expect(overdue).to_have_count(0)  # reached: no longer due
    await page.screenshot(path=output_dir / "web-callbacks-worklist.png", full_page=True)
    assert page.errors == []  # type: ignore[attr-defined]
    done = await _store(web_server).get(seeded["overdue"].id)
    assert done is not None and done.status == "reached" and "replacement lamp" in done.notes
