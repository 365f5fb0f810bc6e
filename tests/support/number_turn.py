"""A caller answering the bot's order-number question through `run_call` (real models, 8 kHz, espeak-ng voice):
shared by tests/pipeline/test_slot_end_of_turn.py, test_comma_pauses.py, bench/number_turn.py and comma_pause.py."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.pipeline.recording import RecordingEngine
from voicebot.app import crm_settings
from voicebot.config import Settings
from voicebot.dialog.loader import load_engine
from voicebot.dialog.types import BotReply, CallerSaid, CallInfo
from voicebot.lines.wav import FileMedia, speech_end_offset
from voicebot.pipeline.call import run_call
from voicebot.pipeline.models import SharedModels
from voicebot.pipeline.services import CallServices
from voicebot.store.calls import CallStore

RATE = 8000
ORDER_QUESTION = "Where is my order?"
ORDER_NUMBER = "The order number is four eight one seven two."  # ends on the fifth digit


def espeak(text: str, tmp: Path, speed: int = 150, voice: str = "en-us") -> bytes:
    """espeak-ng at 8 kHz s16le, trimmed to its last sound (silence is added by the caller)."""
    wav, raw = tmp / "say.wav", tmp / "say.raw"
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(wav), text], check=True)
    subprocess.run(["sox", str(wav), "-r", str(RATE), "-c", "1", "-b", "16", "-e", "signed-integer", "-t", "raw",
                    str(raw)], check=True)
    pcm = raw.read_bytes()
    return pcm[: speech_end_offset(pcm, RATE)]


async def call(settings: Settings, models: SharedModels, store: CallStore | None, turns: list[bytes], call_id: str,
               language: str = "en", replies: list[BotReply] | None = None,
               ) -> tuple[list[CallerSaid], list[dict[str, float]], FileMedia]:
    """One call saying `turns` in real time: what the dialog heard, the pipeline's turn timings, the line.
    `language`: the line's (the caller's first words may still switch it). `replies`: gets the bot's answers."""
    media = FileMedia(turns, RATE, linger_s=0.5)
    timings: list[dict[str, float]] = []
    async with crm_settings(settings) as settings:  # the bot looks the order up: a CRM must answer
        recorder = RecordingEngine(load_engine(settings))
        try:
            await run_call(media, CallInfo(call_id=call_id, language=language),
                           CallServices(settings=settings, models=models, dialog=recorder, store=store),
                           on_turn=timings.append)
        finally:
            await recorder.engine.close()  # its CRM client
    if replies is not None:
        replies.extend(recorder.replies)
    return [e for e in recorder.events if isinstance(e, CallerSaid)], timings, media


def caller_side_end_of_turn_ms(media: FileMedia, timings: list[dict[str, float]], turn: int) -> float:
    """When the turn ended, in ms after the caller's last sound as the caller sent it: the caller's own
    speech-end -> first-bot-audio time, less the pipeline's end-of-turn -> first-audio interval."""
    t = timings[turn]
    return media.record.latencies_ms[turn] - (t["first_audio_ms"] - t["end_of_turn_ms"])
