"""The web UI in a real headless Chromium (Debian's), driven by Playwright, against the in-process app.

Screenshots of every page visited go to test-output/web-*.png.
"""

import datetime as dt
import re
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.support.call_records import record_call
from tests.web.conftest import PASSWORDS, seed_calls
from voicebot.appkeys import CALL_STORE, FLOW_STORE, USERS
from voicebot.config import PROJECT_ROOT
from voicebot.store.calls import TurnRecord
from voicebot.web.flowcheck import seed_flows

pytestmark = pytest.mark.slow
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run"]
EN_FLOW = (PROJECT_ROOT / "dialogs" / "customer_service.en.yaml").read_text(encoding="utf-8")


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        await b.close()


async def _login(browser: Browser, base: str, user: str) -> Page:
    page = await (await browser.new_context(base_url=base, viewport={"width": 1400, "height": 900})).new_page()
    errors: list[str] = []  # uncaught JavaScript errors (CSP violations would show up here too)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
    page.errors = errors  # type: ignore[attr-defined]
    await page.goto("/login")
    await page.fill("input[name=name]", user)
    await page.fill("input[name=password]", PASSWORDS[user])
    await page.click("button[type=submit]")
    await expect(page.locator(".who")).to_contain_text(user)
    return page


async def test_supervisor_finds_a_transferred_call_and_sees_why(browser, web_server, output_dir) -> None:
    store = web_server.app[CALL_STORE]
    await seed_calls(store)
    page = await _login(browser, str(web_server.make_url("")), "sup")

    # live calls update without reload (websocket fed by Redis pub/sub)
    await page.goto("/supervisor")
    await expect(page.locator("#live-status")).to_have_text("live")
    await store.start_call("live-b1", caller_number="+48123123123", language="pl")
    await store.add_turn("live-b1", TurnRecord(role="bot", text="Podaj numer", node="ask_order", frustration=0.4))
    row = page.locator('tr[data-call="live-b1"]')
    await expect(row.locator(".node")).to_have_text("ask_order")
    await expect(row).to_contain_text("+48123123123")
    await page.screenshot(path=output_dir / "web-live-calls.png", full_page=True)
    await store.end_call("live-b1", "contained")
    await expect(row).to_have_count(0)

    # search: transferred calls with reason frustration
    await page.goto("/supervisor/calls")
    await page.select_option("select[name=transferred]", "yes")
    await page.fill("input[name=reason]", "frustration")
    await page.click("#call-filters button[type=submit]")
    results = page.locator("#call-results tbody tr")
    await expect(results).to_have_count(1)
    await expect(results.first).to_contain_text("call-angry")
    await page.screenshot(path=output_dir / "web-call-search.png", full_page=True)

    await results.first.locator("a").click()
    await expect(page.locator("#transfer-reason")).to_have_text("frustration")
    await expect(page.locator("#transfer")).to_contain_text("negative_words 0.45")
    await expect(page.locator("#transcript")).to_contain_text("to jest skandal")
    await expect(page.locator("#handoff")).to_contain_text("caller said")
    await page.screenshot(path=output_dir / "web-call-detail.png", full_page=True)

    await page.goto("/supervisor/kpis")
    await expect(page.locator("#kpi-containment")).to_have_text("60%")  # 2 seeded + the live call above, of 5
    await expect(page.locator("svg.chart")).to_have_count(7)  # 3 volume charts + 4 trends against targets
    await page.screenshot(path=output_dir / "web-kpis.png", full_page=True)

    # the flow editor is for admins only
    resp = await page.goto("/admin/flows/customer_service/en")
    assert resp is not None and resp.status == 403
    await page.screenshot(path=output_dir / "web-supervisor-403.png")
    assert not page.errors, page.errors  # type: ignore[attr-defined]


async def test_admin_breaks_fixes_publishes_and_rolls_back_a_flow(browser, web_server, settings,
                                                                   output_dir) -> None:
    await seed_flows(web_server.app[FLOW_STORE], settings)
    page = await _login(browser, str(web_server.make_url("")), "admin")
    await page.goto("/admin/flows")
    await page.click("text=customer_service >> nth=0")
    await expect(page.locator(".flow-diagram")).to_be_visible()
    await page.screenshot(path=output_dir / "web-flow-editor.png", full_page=True)

    # break it: a transition to a node that does not exist
    text = await page.input_value("#flow-yaml")
    await page.fill("#flow-yaml", text.replace("    next: lookup_order\n", "    next: lookup_ordr\n", 1))
    await page.click("#save")
    bad = page.locator("ol.lines li.bad")
    await expect(bad.first).to_contain_text("lookup_ordr")
    await expect(bad.first.locator(".line-error")).to_be_visible()
    line_no = text[: text.index("    next: lookup_order\n")].count("\n") + 1
    await expect(page.locator(f"#line-{line_no}")).to_have_class("bad")
    await page.screenshot(path=output_dir / "web-flow-error.png", full_page=True)

    # fix it (the admin's broken text is still in the editor), with a visible change, and save
    broken = await page.input_value("#flow-yaml")
    assert "lookup_ordr" in broken
    fixed = broken.replace("lookup_ordr", "lookup_order").replace(
        "Please tell me your five-digit order number.", "What is your order number? It has five digits.")
    await page.fill("#flow-yaml", fixed)
    await page.fill("input[name=note]", "friendlier menu prompt")
    await page.click("#save")
    await expect(page.locator("#flow-message")).to_contain_text("saved as version 2")

    await page.click("#publish-2")
    await expect(page.locator("#flow-message")).to_contain_text("published version 2", timeout=60_000)
    await expect(page.locator("#versions tr.live")).to_contain_text("v2")
    await page.screenshot(path=output_dir / "web-flow-published.png", full_page=True)

    await page.click("#rollback-1")
    await expect(page.locator("#flow-message")).to_contain_text("rolled back to version 1", timeout=60_000)
    await expect(page.locator("#versions tr.live")).to_contain_text("v1")
    await page.goto("/admin/audit")
    await expect(page.locator("#audit")).to_contain_text("flow.rollback")
    await page.screenshot(path=output_dir / "web-audit.png", full_page=True)
    assert not page.errors, page.errors  # type: ignore[attr-defined]


async def test_a_user_replaces_a_given_password_then_issues_and_revokes_a_token(browser, web_server,
                                                                              output_dir) -> None:
    """Issue 16 (findings 3 and 15) as a person sees it: a password someone else set must be changed first;
    API tokens are shown once, listed, and revoked from the account page."""
    base = str(web_server.make_url("")).rstrip("/")
    await web_server.app[USERS].set_password("sup", PASSWORDS["sup"], must_change=True)  # as after a reset
    page = await _login(browser, base, "sup")
    await expect(page).to_have_url(re.compile(r"/account$"))
    await expect(page.locator("p.error")).to_contain_text("Choose a new password")
    await page.click("nav a[href=\"/supervisor/calls\"]")
    await expect(page).to_have_url(re.compile(r"/account$"))  # nothing else until the password is new
    await page.fill("form.password input[name=current]", PASSWORDS["sup"])
    await page.fill("form.password input[name=new]", "my very own passphrase 9")
    await page.fill("form.password input[name=again]", "my very own passphrase 9")
    await page.click("text=Change password")
    await expect(page.locator("p.ok")).to_contain_text("Password changed")

    await page.fill("form.token input[name=label]", "wallboard")
    await page.click("text=New API token")
    token = (await page.locator("#new-token").text_content() or "").strip()
    await expect(page.locator("#tokens")).to_contain_text("wallboard")
    await page.screenshot(path=output_dir / "web-account.png", full_page=True)
    async with aiohttp.ClientSession() as script:
        async with script.get(base + "/api/me", headers={"Authorization": f"Bearer {token}"}) as r:
            assert r.status == 200 and (await r.json())["name"] == "sup"
        await page.click("#tokens >> text=Revoke")
        await expect(page.locator("#tokens")).to_contain_text("No API tokens")
        async with script.get(base + "/api/me", headers={"Authorization": f"Bearer {token}"}) as r:
            assert r.status == 401
    await page.click("nav a[href=\"/supervisor/calls\"]")
    await expect(page).to_have_url(re.compile(r"/supervisor/calls$"))
    assert not page.errors, page.errors  # type: ignore[attr-defined]


async def test_kpi_page_shows_survey_kpis_against_their_targets(browser, web_server, output_dir) -> None:
    store = web_server.app[CALL_STORE]
    now, day = time.time(), 24 * 3600
    # (id, days ago, seconds, outcome, number, csat, nps); calls older than 7 days have a known FCR
    calls = [("o1", 9, 120, "contained", "+48500000001", 5, 10), ("o2", 9, 120, "contained", "+48500000002", 5, 9),
             ("o3", 9, 60, "contained", "+48500000003", 4, 9), ("o4", 9, 60, "transferred", "+48500000004", 3, 5),
             ("o5", 8, 60, "contained", "+48500000004", 5, 10),  # o4's caller again: o4 was not resolved
             ("r1", 0, 120, "contained", "+48500000005", 5, 10), ("r2", 0, 30, "abandoned", "+48500000006", None, None),
             ("r3", 0, 60, "contained", "+48500000007", 5, 10)]
    for call_id, days_ago, secs, outcome, number, csat, nps in calls:
        survey = {"csat": csat, "nps": nps, "survey": "answered"} if csat else {}
        await record_call(store, call_id, now - days_ago * day - 3600, secs, outcome, number,
                          **({"transfer_reason": "complaint"} if outcome == "transferred" else {}), **survey)
    page = await _login(browser, str(web_server.make_url("")), "sup")
    since = dt.datetime.fromtimestamp(now - 10 * day, dt.UTC).strftime("%Y-%m-%d")
    await page.goto(f"/supervisor/kpis?from={since}")
    await expect(page.locator("#kpi-calls")).to_have_text("8")
    await expect(page.locator("#kpi-containment")).to_have_text("75%")  # the abandoned and the transferred call
    await expect(page.locator("#kpi-fcr")).to_have_text("80%")  # o1-o3, o5 of the five with a closed window
    await expect(page.locator("#target-fcr")).to_contain_text("target > 80%: missed")
    await expect(page.locator("#kpi-csat")).to_have_text("4.6")  # 32 / 7
    await expect(page.locator("#target-csat")).to_contain_text("target > 4.5: met")
    await expect(page.locator("#kpi-nps")).to_have_text("+71")  # 6 promoters, 1 detractor of 7
    await expect(page.locator("#target-nps")).to_contain_text("target > +50: met")
    # 630 bot seconds at 0.02/min + one transfer x 6 agent minutes at 0.50/min, over 8 calls
    await expect(page.locator("#kpi-cost")).to_have_text("0.40 PLN")
    await expect(page.locator("#target-cost")).to_contain_text("met")
    trends = page.locator("#kpi-trends svg.trend")
    await expect(trends).to_have_count(4)
    await expect(trends.locator("line.target")).to_have_count(4)
    await expect(page.locator("#kpi-trends")).to_contain_text("NPS per day")
    await page.screenshot(path=output_dir / "web-kpis-targets.png", full_page=True)
    assert not page.errors, page.errors  # type: ignore[attr-defined]
