"""Our own pipecat frames between the per-call processors, and the per-turn latency clock they carry."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from pipecat.frames.frames import DataFrame, SystemFrame

from voicebot.dialog.schema import AskNode
from voicebot.dialog.types import BotReply, CallerEvent


@dataclass
class TurnClock:
    """Monotonic time stamps of one caller turn; each stage stamps its own field.

    `timings()` gives milliseconds after the caller's last voiced audio (what the caller perceives as the bot's
    reaction time), plus when that was in the call. `first_audio` is the voice-to-voice latency.
    """

    call_start: float
    speech_start: float
    speech_end: float  # the last audio chunk VAD marked as voiced
    end_of_turn: float = 0.0
    asr_done: float = 0.0
    reply_ready: float = 0.0
    first_audio: float = 0.0
    asr_compute_ms: float = 0.0
    speculative_hit: bool = False
    # Where the wait between speech_end and end_of_turn went (stamps; 0 = did not happen this turn): VAD
    # confirmed the stop, smart-turn's verdict (its own run time in smart_turn_run_ms), the speculative
    # transcription the turn used started / finished. `end_reason` says what ended the turn.
    vad_stop: float = 0.0
    smart_turn_done: float = 0.0
    smart_turn_run_ms: float = 0.0
    speculation_start: float = 0.0
    speculation_done: float = 0.0
    end_reason: str = ""

    @staticmethod
    def now() -> float:
        return time.monotonic()

    def timings(self) -> dict[str, float]:
        out = {
            "speech_end_at_ms": round((self.speech_end - self.call_start) * 1000, 1),
            "caller_speech_ms": round((self.speech_end - self.speech_start) * 1000, 1),
        }
        for name in ("vad_stop", "smart_turn_done", "speculation_start", "speculation_done", "end_of_turn", "asr_done",
                     "reply_ready", "first_audio"):
            stamp = getattr(self, name)
            if stamp:
                out[f"{name}_ms"] = round((stamp - self.speech_end) * 1000, 1)
        if self.smart_turn_run_ms:
            out["smart_turn_run_ms"] = round(self.smart_turn_run_ms, 1)
        if self.asr_compute_ms:
            out["asr_compute_ms"] = round(self.asr_compute_ms, 1)
            out["asr_speculative"] = 1.0 if self.speculative_hit else 0.0
        return out


@dataclass
class SpeechPausedFrame(SystemFrame):
    """The caller paused briefly: a chance to transcribe early (the text may be final if the turn ends now)."""

    audio: np.ndarray  # float32, 16 kHz, the whole utterance so far
    voiced_chunks: int  # how many voiced chunks it holds; the turn reuses the text only if this is unchanged


@dataclass
class VoiceOnsetFrame(SystemFrame):
    """Sent downstream by the TurnDetector between turns: voice began (`started`) but is not yet long enough to be a
    turn (vad_start_secs), or it stopped short of one (a click, a cough: `started` False).

    The Transcriber holds a turn not yet answered while the caller may be going on: the text of a sentence's first
    part is often ready only after the caller has resumed, and a turn starts only vad_start_secs later.
    """

    started: bool


@dataclass
class WordsSoundFinishedFrame(SystemFrame):
    """Sent upstream by the Transcriber: the speculative text of the turn so far sounds like a whole sentence.

    The TurnDetector may then end the turn at a shorter silence than its cap, if the caller has not spoken since
    (`voiced_chunks` unchanged). `fills_slot`: the words already answer the question the bot asked (five
    digits of a five-digit number, a yes or no): the turn ends at once.
    """

    voiced_chunks: int
    fills_slot: bool = False


@dataclass
class CallLanguageFrame(SystemFrame):
    """Sent upstream by the Transcriber: the language the call's caller turns are now read in (the call's first
    words decided it). The TurnDetector then applies that language's turn.smart_turn_min_silence_secs."""

    language: str


@dataclass
class CallerTurnFrame(SystemFrame):
    """End of a caller turn (decided by smart-turn or the silence cap)."""

    audio: np.ndarray  # float32, 16 kHz, pre-roll + speech + trailing silence
    voiced: np.ndarray  # float32, 16 kHz, only the chunks VAD marked as speech (for prosody)
    voiced_chunks: int
    clock: TurnClock
    barge_in: bool
    speech_s: float  # caller speech duration in audio time, first to last voiced chunk


@dataclass
class CallerEventFrame(DataFrame):
    """A caller event for the dialog: never dropped by an interruption (it is the caller's words)."""

    event: CallerEvent
    clock: TurnClock | None = None
    interruptible: bool = field(default=False, init=False)


@dataclass
class SystemFaultFrame(DataFrame):
    """A component (asr, tts) failed: the dialog hands the caller to a human with reason system_fault."""

    component: str
    detail: str = ""
    interruptible: bool = field(default=False, init=False)


@dataclass
class MaintenanceFrame(DataFrame):
    """The worker is shutting down (voicebot/drain.py) and the call is still running: the dialog hands the
    caller to a human with reason maintenance, context included."""

    interruptible: bool = field(default=False, init=False)


@dataclass
class TransferFailedFrame(DataFrame):
    """Sent upstream by the line's sink: the human line did not take the caller (`detail` says why).

    The dialog answers with a callback offer (`CallSession.transfer_failed`), spoken before the hang-up.
    """

    detail: str
    interruptible: bool = field(default=False, init=False)


@dataclass
class GoodbyeTalkedOverFrame(DataFrame):
    """Sent upstream by the line's sink instead of hanging up: the caller spoke over the bot's goodbye (or was
    still talking when it ended). The call stays up and the dialog answers what they said."""

    interruptible: bool = field(default=False, init=False)


@dataclass
class SpokeAfterGoodbyeFrame(SystemFrame):
    """Sent downstream by the dialog: the caller spoke after the bot decided to say goodbye (possibly before its
    audio started, which the sink alone cannot tell from earlier speech). The sink keeps the line up."""


@dataclass
class ListeningFrame(SystemFrame):
    """Sent upstream by the DialogResponder with each reply: what the bot listens for next, for the Transcriber.

    `hints`: words the caller is likely to say (the node's vocabulary), whisper's context for the next turns.
    `expects`: the question with a definite answer the caller is answering (five digits, yes/no, a date), or
    None: the speculative words are checked against it to end the turn as soon as the answer is complete.
    `understands`: whether words mean something else to the dialog at that question (see BotReply).
    `language`: the language the bot now speaks; the caller's next turns are read in it (the caller may have
    chosen it on the keypad).
    """

    hints: str
    expects: AskNode | None = None
    understands: Callable[[str], bool] | None = None
    language: str = ""


@dataclass
class BotReplyFrame(DataFrame):
    """Text to speak; dropped when the caller barges in."""

    reply: BotReply
    clock: TurnClock | None = None


@dataclass
class BotActionFrame(DataFrame):
    """End of a reply: what the line does once its audio has played (continue, transfer, hang up).

    Not interruptible: a caller talking over "I am connecting you" must still be connected.
    """

    reply: BotReply
    interruptible: bool = field(default=False, init=False)


@dataclass
class KeyPressFrame(SystemFrame):
    """One DTMF key from the line (0-9 * # A-D; pipecat's KeypadEntry has no A-D)."""

    digit: str
