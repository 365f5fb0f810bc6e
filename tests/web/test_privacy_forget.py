"""The admin's "forget a caller" page: deletes the number's calls and profile, is audited, admins only."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from tests.web.conftest import seed_calls
from tests.web.test_browser_ui import _login, browser  # noqa: F401 - the browser fixture
from voicebot.appkeys import CALL_STORE
from voicebot.store.callers import CallerStore


async def test_admin_forgets_a_caller_and_the_audit_trail_says_so(web_server, make_client) -> None:
    store = web_server.app[CALL_STORE]
    await seed_calls(store)
    callers = CallerStore(store.client, store.keys)
    await callers.record_call("+48500100200", call_id="call-repeat", outcome="contained", language="en", name="John")

    admin = await make_client("admin")
    async with admin.http.get(admin.url("/admin/privacy")) as r:
        assert r.status == 200
        csrf = re.search(r'name="csrf" value="([^"]+)"', await r.text()).group(1)  # type: ignore[union-attr]
    async with admin.http.post(admin.url("/admin/privacy/forget"), data={"number": "anonymous", "csrf": csrf}) as r:
        assert r.status == 422 and "phone number (digits" in await r.text()
    async with admin.http.post(admin.url("/admin/privacy/forget"),
                               data={"number": "+48 500 100 200", "csrf": csrf}) as r:
        assert r.status == 200
        said = " ".join((await r.text()).split())
        assert "Forgot +48 500 100 200: 1 profile, 2 call(s), 0 handoff package(s), 0 callback(s)." in said

    assert await callers.get("+48500100200") is None
    assert await store.get_call("call-ok-1") is None and await store.get_call("call-repeat") is None
    assert await store.get_call("call-angry") is not None  # another caller's call stays
    async with admin.http.get(admin.url("/calls?q=48500100200")) as r:
        assert "call-ok-1" not in await r.text()
    async with admin.http.get(admin.url("/admin/audit")) as r:
        page = await r.text()
        assert "privacy.forget" in page and "48500100200" in page and "2 calls" in page


async def test_supervisor_cannot_forget_callers(web_server, make_client) -> None:
    sup = await make_client("sup")
    async with sup.http.get(sup.url("/admin/privacy")) as r:
        assert r.status == 403
    async with sup.http.post(sup.url("/admin/privacy/forget"), data={"number": "+48500100200", "csrf": sup.csrf}) as r:
        assert r.status == 403


@pytest.mark.slow
async def test_admin_forgets_a_caller_in_the_browser(browser, web_server, output_dir) -> None:  # noqa: F811
    """Headless Chromium: the nav's Privacy page, the form, the result, and the audit trail's entry."""
    store = web_server.app[CALL_STORE]
    await seed_calls(store)
    page = await _login(browser, str(web_server.make_url("")), "admin")
    await page.click("nav >> text=Privacy")
    await page.fill("input[name=number]", "+48 600 700 800")
    await page.click("#forget button[type=submit]")
    await expect(page.locator("#forgotten")).to_contain_text("Forgot +48 600 700 800: 0 profile, 1 call(s)")
    await page.screenshot(path=str(output_dir / "web-privacy-forget.png"), full_page=True)
    assert await store.get_call("call-angry") is None
    await page.goto("/admin/audit")
    await expect(page.locator("#audit tbody tr").first).to_contain_text("privacy.forget")
    assert page.errors == []  # type: ignore[attr-defined]
