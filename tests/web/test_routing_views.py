"""The line a caller was routed to, as supervisors and agents see it: the call page names the line, the agent's
screen-pop names it with the lines passed over. (The routing itself: tests/escalation/test_skill_routing.py.)"""

from voicebot.appkeys import CALL_STORE
from voicebot.store.calls import CallStore
from voicebot.store.handoffs import HandoffStore


async def test_call_page_and_screen_pop_show_the_line(web_server, make_client) -> None:
    store: CallStore = web_server.app[CALL_STORE]
    await store.start_call("call-routed", caller_number="+48600700900", language="en", flow_id="customer_service",
                           channel="sip")
    await HandoffStore(store.client, store.keys).save({
        "handoff_id": "h-call-routed", "call_id": "call-routed", "reason": "complaint", "action": "transfer",
        "skill": "general", "routing": "complaints: closed"})
    await store.end_call("call-routed", "transferred", transfer_reason="complaint", handoff_id="h-call-routed",
                         skill="general")
    sup = await make_client("sup")
    async with sup.http.get(sup.url("/supervisor/calls/call-routed")) as r:
        html = await r.text()
    assert r.status == 200 and '<strong id="transfer-skill">general</strong>' in html
    async with sup.http.get(sup.url("/agent/handoff/h-call-routed")) as r:
        html = await r.text()
    assert r.status == 200 and '<dd id="handoff-skill">general (complaints: closed)</dd>' in html
