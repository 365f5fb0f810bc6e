"""Who answered a callback: espeak-ng voices over a noisy 8 kHz line, both languages. A short "Hello?" is a
person; a voicemail greeting that talks on, or a recording beep, is a machine."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.support.sip_helpers import espeak_ulaw, sox_tone_ulaw, ulaw_to_pcm
from voicebot.pipeline.answering_machine import AnsweringMachineDetector

GREETINGS = {
    "en-us": "Hi, you have reached the voicemail of Anna Smith. I cannot take your call right now, "
             "please leave your name and number after the tone and I will call you back.",
    "pl": "Dzień dobry, tu poczta głosowa Anny Kowalskiej. Nie mogę teraz odebrać, proszę zostawić "
          "wiadomość po sygnale, oddzwonię.",
}
HELLOS = {"en-us": ["Hello?", "Yes, hello?"], "pl": ["Halo?", "Tak, słucham?"]}


def _over_the_line(pcm: np.ndarray, seconds_after: float = 4.0) -> bytes:
    """The callee's audio as the bot gets it: line hiss at -50 dBFS throughout, then quiet (the callee waits)."""
    pcm = np.concatenate([pcm, np.zeros(int(seconds_after * 8000), np.int16)])
    hiss = np.random.default_rng(7).normal(0, 32768 * 10 ** (-50 / 20), len(pcm))
    return (pcm + hiss).clip(-32768, 32767).astype(np.int16).tobytes()


def _judge(audio: bytes) -> AnsweringMachineDetector:
    detector = AnsweringMachineDetector()
    for i in range(0, len(audio), 320):  # 20 ms RTP frames
        if detector.feed(audio[i:i + 320]):
            break
    return detector


@pytest.mark.parametrize("voice", ["en-us", "pl"])
def test_a_short_hello_is_a_person_and_a_long_greeting_is_voicemail(voice: str, tmp_path: Path) -> None:
    for hello in HELLOS[voice]:
        heard = _judge(_over_the_line(ulaw_to_pcm(espeak_ulaw(hello, tmp_path, voice))))
        assert heard.verdict == "human", (hello, heard.why)
    greeting = _judge(_over_the_line(ulaw_to_pcm(espeak_ulaw(GREETINGS[voice], tmp_path, voice))))
    assert greeting.verdict == "machine" and "speech" in greeting.why, greeting.why


def test_a_recording_beep_is_voicemail_and_silence_is_a_person_waiting(tmp_path: Path) -> None:
    beep = _judge(_over_the_line(ulaw_to_pcm(sox_tone_ulaw(tmp_path, seconds=0.5, freq=1000))))
    assert beep.verdict == "machine" and "tone" in beep.why
    assert _judge(_over_the_line(np.zeros(0, np.int16))).verdict == "human"
    # No audio at all (a phone that sends no RTP until the person speaks): the caller's patience decides.
    quiet = AnsweringMachineDetector()
    assert quiet.feed(b"") is None and quiet.timed_out() == "human"
