"""Caller audio for the latency benchmark: scripted English sentences synthesized with piper.

We synthesize the caller ourselves so we know, to the sample, where speech ends and silence begins:
voice-to-voice latency is measured from that point. Each utterance is trimmed to its voiced part and
padded to whole 20 ms chunks, so "the chunk holding the last voiced sample" is unambiguous.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soxr

CHUNK_MS = 20
# Caller sentences are spoken a little slower/faster than the bot voice so they do not sound identical.
CALLER_LENGTH_SCALES = (1.0, 1.1, 0.95)
# A voiced 10 ms window is louder than this (dBFS); piper's trailing breath/silence is well below it.
VOICED_DBFS = -45.0


@dataclass(frozen=True)
class CallerTurn:
    text: str  # what the caller says
    intent_hint: str  # what the flow should recognise (documentation only; shown in the table)


@dataclass(frozen=True)
class Scenario:
    """One scripted call: the caller speaks these turns, each after the bot finished its reply."""

    name: str
    turns: tuple[CallerTurn, ...]


# Sentences the customer-service flow (dialogs/customer_service.en.yaml) answers without a transfer:
# opening hours, order status and returns (order numbers known to the demo CRM), goodbye.
# Several calls of several turns; `build_script` cycles through them for --turns N.
SCENARIOS: tuple[Scenario, ...] = (
    Scenario("hours", (
        CallerTurn("Hello, what are your opening hours?", "opening_hours"),
        CallerTurn("Are you open on Saturday?", "opening_hours"),
        CallerTurn("Thank you, that is all.", "goodbye"),
    )),
    Scenario("order", (
        CallerTurn("Hi, I would like to check the status of my order.", "order_status"),
        CallerTurn("The order number is four eight one five two.", "order_number"),
        CallerTurn("What time do you close today?", "opening_hours"),
        CallerTurn("No thanks, that is everything.", "goodbye"),
    )),
    Scenario("returns", (
        CallerTurn("How can I return a product?", "return_item"),
        CallerTurn("It is order five five five zero one.", "order_number"),
        CallerTurn("Thanks, that is all I needed.", "goodbye"),
    )),
    Scenario("delivery", (
        CallerTurn("Where is my parcel? I am waiting for a delivery.", "order_status"),
        CallerTurn("One two three four five.", "order_number"),
        CallerTurn("Goodbye.", "goodbye"),
    )),
)


def build_script(total_turns: int, max_turns_per_call: int = 4) -> list[Scenario]:
    """Calls whose turns add up to `total_turns`, cycling through SCENARIOS (truncating the last call)."""
    if total_turns < 1:
        raise ValueError("--turns must be at least 1")
    calls: list[Scenario] = []
    left = total_turns
    i = 0
    while left > 0:
        base = SCENARIOS[i % len(SCENARIOS)]
        take = min(left, len(base.turns), max_turns_per_call)
        suffix = f"#{i // len(SCENARIOS) + 1}" if i >= len(SCENARIOS) else ""
        calls.append(Scenario(base.name + suffix, base.turns[:take]))
        left -= take
        i += 1
    return calls


@dataclass(frozen=True)
class Utterance:
    """One caller sentence as PCM, ready to be streamed in 20 ms chunks."""

    text: str
    sample_rate: int
    pcm: bytes  # s16le mono; voiced audio, zero-padded to a whole number of chunks
    last_voiced_chunk: int  # index of the chunk holding the last voiced sample
    voiced_secs: float  # duration from first to last voiced sample

    @property
    def chunks(self) -> list[bytes]:
        n = chunk_bytes(self.sample_rate)
        return [self.pcm[i:i + n] for i in range(0, len(self.pcm), n)]


def chunk_bytes(sample_rate: int) -> int:
    return sample_rate * CHUNK_MS // 1000 * 2


def _voiced_bounds(samples: np.ndarray, sample_rate: int) -> tuple[int, int]:
    """First and one-past-last sample of the voiced region (10 ms windows above VOICED_DBFS)."""
    win = sample_rate // 100
    n = len(samples) // win
    frames = samples[: n * win].reshape(n, win).astype(np.float64)
    rms = np.sqrt(np.mean(frames**2, axis=1)) + 1e-9
    voiced = np.nonzero(20 * np.log10(rms) > VOICED_DBFS)[0]
    if len(voiced) == 0:
        raise ValueError("synthesized caller audio has no voiced frames")
    return int(voiced[0]) * win, (int(voiced[-1]) + 1) * win


def make_utterance(samples_f32: np.ndarray, src_rate: int, text: str, sample_rate: int) -> Utterance:
    """Resample float audio to `sample_rate`, cut it to its voiced part and pad to whole chunks."""
    audio = soxr.resample(samples_f32.astype(np.float32), src_rate, sample_rate) if src_rate != sample_rate \
        else samples_f32.astype(np.float32)
    start, end = _voiced_bounds(audio, sample_rate)
    voiced = audio[start:end]
    per_chunk = sample_rate * CHUNK_MS // 1000
    n_chunks = -(-len(voiced) // per_chunk)
    padded = np.zeros(n_chunks * per_chunk, dtype=np.float32)
    padded[: len(voiced)] = voiced
    pcm = (np.clip(padded, -1.0, 1.0) * 32767).astype("<i2").tobytes()
    return Utterance(text=text, sample_rate=sample_rate, pcm=pcm, last_voiced_chunk=n_chunks - 1,
                     voiced_secs=len(voiced) / sample_rate)


class CallerVoice:
    """Synthesizes caller sentences with the installed piper voice (loaded once)."""

    def __init__(self, voice_path: Path) -> None:
        from piper import PiperVoice  # heavy import: only when the bench runs

        if not voice_path.exists():
            raise FileNotFoundError(f"piper voice {voice_path} is missing; run `voicebot models install`")
        self._voice = PiperVoice.load(voice_path)
        self.native_rate = int(self._voice.config.sample_rate)

    def synthesize(self, text: str, variant: int = 0) -> np.ndarray:
        from piper.config import SynthesisConfig

        cfg = SynthesisConfig(length_scale=CALLER_LENGTH_SCALES[variant % len(CALLER_LENGTH_SCALES)],
                              volume=0.6)  # a caller on a phone is not normalised to full scale
        parts = [c.audio_float_array for c in self._voice.synthesize(text, syn_config=cfg)]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)


def line_noise(n_samples: int, rng: np.random.Generator, dbfs: float = -62.0) -> np.ndarray:
    """A faint noise floor: a real line is never digital silence, and VADs behave differently on zeros."""
    amp = 32768 * 10 ** (dbfs / 20) * np.sqrt(3)  # uniform noise with that RMS
    return rng.uniform(-amp, amp, n_samples).astype(np.int32)


def add_noise(pcm: bytes, rng: np.random.Generator) -> bytes:
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.int32) + line_noise(len(pcm) // 2, rng)
    return np.clip(samples, -32768, 32767).astype("<i2").tobytes()
