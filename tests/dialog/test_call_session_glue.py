"""The dialog engine behind `CallSession` (the glue every phone line uses), with the real Redis store."""

from __future__ import annotations

import shutil

from voicebot.call_session import CallSession
from voicebot.dialog.types import CallerDtmf, CallerSaid, CallInfo


async def test_transcript_records_intents_nodes_and_transfer(engine_factory, call_store, crm) -> None:
    engine = engine_factory(crm.url)
    info = CallInfo(call_id="glue-1", caller_number="+48600100200", language="pl")
    session = CallSession(info, engine.new_session(info), call_store)
    await session.begin()
    await session.on_event(CallerSaid("gdzie jest moja paczka", asr_confidence=0.9))
    await session.on_event(CallerDtmf("48152"))
    reply = await session.on_event(CallerSaid("proszę przełączyć do konsultanta"))
    await session.finish()
    assert reply.action == "transfer"
    turns = await call_store.turns("glue-1")
    bot = [t for t in turns if t.role == "bot"]
    assert [t.node for t in bot] == ["menu", "ask_order", "anything_else", "handoff"]
    assert [t.intent for t in bot[1:]] == ["order_status", None, "talk_to_human"]
    assert turns[3].text == "[DTMF 48152]" and "młynek do kawy" in bot[2].text
    record = await call_store.get_call("glue-1")
    assert record["outcome"] == "transferred" and record["transfer_reason"] == "explicit_request"
    await engine.close()


async def test_broken_language_file_falls_back_to_the_other_language(engine_factory, tmp_path) -> None:
    from voicebot.config import PROJECT_ROOT

    src = PROJECT_ROOT / "dialogs"
    (tmp_path / "customer_service.pl.yaml").write_text((src / "customer_service.pl.yaml").read_text("utf-8"), "utf-8")
    (tmp_path / "customer_service.en.yaml").write_text("id: customer_service\nlanguage: en\n", "utf-8")
    shutil.copytree(src / "faq", tmp_path / "faq")
    engine = engine_factory(flows_dir=str(tmp_path))  # the broken English file is logged and skipped
    session = engine.new_session(CallInfo("fallback", language="en"))
    assert "Dzień dobry" in (await session.start()).text
