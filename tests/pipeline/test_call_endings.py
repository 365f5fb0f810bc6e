"""How a call ends when the human line cannot take the caller, through `run_call` with real whisper/piper/VAD,
the real dialog engine and real Redis, on the in-process 8 kHz file caller:

- outside business hours the dialog books a callback: the bot says when to expect it, then hangs up
  (no transfer into a queue nobody answers);
- during business hours a transfer the line reports as failed becomes a callback booking, spoken, then hung up;
- a caller who starts talking as the goodbye ends is not hung up on: the bot listens on and answers.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from tests.support.env import always_staffed
from tests.support.sip_helpers import espeak_ulaw, ulaw_to_pcm
from voicebot.callback_offer import CallbackOffer
from voicebot.config import Settings
from voicebot.dialog import core
from voicebot.dialog.loader import fixed_clock, load_engine
from voicebot.dialog.types import CallInfo
from voicebot.escalation.handoff import handoff_writer
from voicebot.lines.wav import CallerTurn, FileMedia
from voicebot.pipeline.call import run_call
from voicebot.pipeline.models import SharedModels
from voicebot.pipeline.services import CallServices
from voicebot.store.calls import CallStore

pytestmark = pytest.mark.models
RATE = 8000
WARSAW = ZoneInfo("Europe/Warsaw")
SUNDAY_NIGHT = datetime(2026, 11, 29, 22, 0, tzinfo=WARSAW)  # the human line opens Monday 8:00


def seconds(pcm: bytes | bytearray) -> float:
    return len(pcm) / 2 / RATE


async def spoken_seconds(models: SharedModels, text: str) -> float:
    return seconds(await models.tts.synthesize(text, "en", RATE))


def call_services(settings: Settings, models: SharedModels, store: CallStore, clock: datetime | None) -> CallServices:
    callbacks = CallbackOffer.for_store(settings, store)
    engine = load_engine(settings, callbacks=callbacks.store, clock=fixed_clock(clock) if clock else None)
    return CallServices(settings=settings, models=models, dialog=engine, store=store,
                        write_handoff=handoff_writer(settings), callbacks=callbacks)


async def test_after_hours_the_bot_promises_a_callback_says_when_and_hangs_up(
        settings: Settings, shared_models: SharedModels, call_store: CallStore, speak) -> None:
    # A person, please; yes, call me on this number; the first time offered (keys, as on the phone).
    media = FileMedia([speak("I want to talk to a person.", RATE), CallerTurn(dtmf="1"), CallerTurn(dtmf="1")],
                      RATE, fast=True)
    info = CallInfo(call_id="after-hours", caller_number="+48600100200")
    session = await run_call(media, info, call_services(settings, shared_models, call_store, SUNDAY_NIGHT))

    last = session.replies[-1]
    assert last.action == "callback" and "Monday, 30 November at 8 am" in last.text, last.text
    assert media.record.hung_up and not media.record.transfers and not media.record.refused_transfers
    # The whole promise was played before the hang-up.
    said = [await spoken_seconds(shared_models, r.text) for r in session.replies]
    assert seconds(media.record.bot_audio) > 0.95 * sum(said)
    record = await call_store.get_call("after-hours")
    assert record is not None and record["outcome"] == "callback"
    [request] = await CallbackOffer.for_store(settings, call_store).store.due()
    assert request.number == "+48600100200" and request.preferred_time == "2026-11-30T08:00:00+01:00"


async def test_a_transfer_the_human_line_refuses_becomes_a_spoken_callback_booking(
        settings: Settings, shared_models: SharedModels, call_store: CallStore, speak) -> None:
    settings = always_staffed(settings)
    media = FileMedia([speak("I want to talk to a person.", RATE)], RATE, fast=True,
                      transfer_fails="human line did not answer within 20 s")
    info = CallInfo(call_id="no-agent", caller_number="+48600100500")
    session = await run_call(media, info, call_services(settings, shared_models, call_store, None))

    transfer, callback = session.replies[-2:]
    assert transfer.action == "transfer" and callback.action == "callback"
    assert "as soon as possible" in callback.text
    assert transfer.handoff_id and media.record.refused_transfers == [transfer.handoff_id]
    assert media.record.hung_up
    assert not media.record.transfers
    # The caller heard "connecting you", then the callback booking, in full.
    heard = sum([await spoken_seconds(shared_models, r.text) for r in session.replies])
    assert seconds(media.record.bot_audio) > 0.95 * heard
    record = await call_store.get_call("no-agent")
    assert record is not None and record["outcome"] == "callback"
    assert record["transfer_failure"] == "human line did not answer within 20 s"
    request = await CallbackOffer.for_store(settings, call_store).store.get(record["callback_id"])
    assert request is not None and request.number == "+48600100500" and request.topic == "talk_to_human"
    # The package the calling-back agent opens says what happened and points at the request.
    package = json.loads(await call_store.client.get(call_store.keys.handoff(callback.handoff_id or "")))
    assert package["action"] == "callback" and package["callback_id"] == request.id
    assert "did not take the call (human line did not answer within 20 s)" in package["explanation"]
    bot_turns = [t for t in await call_store.turns("no-agent") if t.role == "bot"]
    assert bot_turns[-1].text == callback.text and bot_turns[-1].action == "callback"


def espeak_voice_first(text: str, tmp: Path) -> bytes:
    """A caller's sentence by espeak-ng at 8 kHz (s16le), from its first audible sample: no lead-in silence."""
    pcm = ulaw_to_pcm(espeak_ulaw(text, tmp))
    return pcm[int(np.argmax(np.abs(pcm) > 1000)):].tobytes()


async def test_a_caller_who_starts_talking_as_the_goodbye_ends_is_answered_not_hung_up_on(
        settings: Settings, shared_models: SharedModels, call_store: CallStore, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The caller's voice starts 0.1 s before the goodbye's last sample: the turn detector can only call it speech
    # after vad_start_secs of it, when the goodbye has already played. The line must wait for it, not hang up.
    # (Only the line's part is under test: the goodbye is obeyed whatever whisper's score, and so is the new request
    # talked over it; a request heard with a low score is asked about first by design (core.SWITCH_ASR_MIN,
    # tests/dialog), and how low whisper scores a talked-over sentence depends on where the line cut it: CI saw
    # "Sorry, I didn't catch that" for 0.4 s of timing.)
    monkeypatch.setattr(core, "GOODBYE_ASR_MIN", 0.0)
    monkeypatch.setattr(core, "SWITCH_ASR_MIN", 0.0)
    goodbye = "Thank you for calling Nordic Home. Goodbye!"  # dialogs/customer_service.en.yaml messages.goodbye
    goodbye_s = await spoken_seconds(shared_models, goodbye)
    (tmp_path / "b").mkdir()
    # The goodbye turn in piper's clear voice (whisper heard espeak's as another request once in CI): only the
    # talk-over, by espeak-ng, is under test. Words that are a goodbye however whisper splits or punctuates them
    # ("... I need goodbye" came back as "... I need to buy").
    media = FileMedia([
        CallerTurn(await shared_models.tts.synthesize("Thank you, that's all.", "en", RATE)),
        CallerTurn(espeak_voice_first("Wait, I would like to check where my order is.", tmp_path / "b"),
                   barge_in_after_s=goodbye_s - 0.1),
    ], RATE)
    session = await run_call(media, CallInfo(call_id="talked-over-goodbye", caller_number="+48600100700"),
                             call_services(settings, shared_models, call_store, None))

    heard = [t.text for t in await call_store.turns("talked-over-goodbye") if t.role == "caller"]
    said = "\n".join(f"{r.text} ({r.action}, {r.node})" for r in session.replies) + f"\ncaller: {heard}"
    ended = [i for i, r in enumerate(session.replies) if r.action == "end"]
    assert ended and session.replies[ended[0]].text == goodbye, said
    assert not media.record.hung_up, said  # the caller, not the bot, ended the call
    # ...and was answered. What the answer is depends on whisper's reading of the talked-over words, which moves with
    # where the line cut them: CI heard "Wait, I would like to check. where my orger is." (hold_on 0.51, "Sure, take
    # your time") once under load; the dialog's reading of such words is tested in tests/dialog.
    answers = session.replies[ended[0] + 1:]
    assert answers and answers[0].action == "continue" and answers[0].text.strip(), said


async def test_a_caller_pressing_0_during_the_goodbye_reaches_a_person(
        settings: Settings, shared_models: SharedModels, call_store: CallStore,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # "Press 0 at any time to reach a person": also while the bot says goodbye (the key was ignored: the bot hung up).
    monkeypatch.setattr(core, "GOODBYE_ASR_MIN", 0.0)
    goodbye = "Thank you for calling Nordic Home. Goodbye!"  # dialogs/customer_service.en.yaml messages.goodbye
    goodbye_s = await spoken_seconds(shared_models, goodbye)
    media = FileMedia([
        CallerTurn(await shared_models.tts.synthesize("Thank you, that's all.", "en", RATE)),
        CallerTurn(dtmf="0", barge_in_after_s=goodbye_s / 2),
    ], RATE)
    session = await run_call(media, CallInfo(call_id="keys-over-goodbye", caller_number="+48600100701"),
                             call_services(always_staffed(settings), shared_models, call_store, None))
    said = "\n".join(f"{r.text} ({r.action}, {r.node}, {r.reason})" for r in session.replies)
    ended = [i for i, r in enumerate(session.replies) if r.action == "end"]
    assert ended and session.replies[ended[0]].text == goodbye, said
    after = session.replies[ended[0] + 1:]
    assert after and after[-1].action == "transfer" and after[-1].reason == "explicit_request", said
    assert (await call_store.get_call("keys-over-goodbye"))["outcome"] == "transferred", said
