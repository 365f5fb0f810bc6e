"""Flow versions: a broken file never replaces a working flow, and a live call keeps its version."""

from __future__ import annotations

import shutil
from pathlib import Path

from voicebot.config import PROJECT_ROOT

EN = PROJECT_ROOT / "dialogs" / "customer_service.en.yaml"


async def test_reload_keeps_old_version_on_error_and_live_call_keeps_its_version(tmp_path: Path,
                                                                                engine_factory) -> None:
    from voicebot.dialog.types import CallerSaid, CallInfo

    path = tmp_path / "customer_service.en.yaml"
    shutil.copy(EN, path)
    shutil.copytree(EN.parent / "faq", tmp_path / "faq")
    engine = engine_factory(flows_dir=str(tmp_path))
    registry = engine.registry
    live = engine.new_session(CallInfo("v1-call", language="en"))
    await live.start()

    # A broken edit: reported with file:line, and version 1 stays live.
    text = EN.read_text(encoding="utf-8")
    path.write_text(text.replace("next: lookup_order", "next: lookup_ordr", 1), encoding="utf-8")
    errors = registry.reload()
    assert [e.rule for e in errors] == ["unknown_target"] and str(path) in str(errors[0])
    assert registry.get("customer_service", "en").version == 1

    # A good edit becomes version 2 for new calls; the call in progress stays on version 1.
    path.write_text(text.replace("How can I help you today?", "What brings you here today?"), encoding="utf-8")
    assert registry.reload() == []
    assert [v.version for v in registry.versions("customer_service", "en")] == [1, 2]
    new = engine.new_session(CallInfo("v2-call", language="en"))
    assert "What brings you here today?" in (await new.start()).text
    assert new.snapshot()["flow_version"] == 2
    reply = await live.handle(CallerSaid("can you repeat that"))
    assert reply.text == "How can I help you today?" and live.snapshot()["flow_version"] == 1

    # Reloading unchanged files does not create versions.
    assert registry.reload() == [] and len(registry.versions("customer_service", "en")) == 2
    await engine.close()


def test_missing_language_falls_back_to_default(engine_factory, tmp_path: Path) -> None:
    shutil.copy(EN, tmp_path / EN.name)
    shutil.copytree(EN.parent / "faq", tmp_path / "faq")
    engine = engine_factory(flows_dir=str(tmp_path))
    from voicebot.dialog.types import CallInfo

    session = engine.new_session(CallInfo("de-call", language="de"))
    assert session.snapshot()["language"] == "en"
