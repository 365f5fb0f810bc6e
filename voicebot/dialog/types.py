"""The seam between the audio pipeline and the dialog engine: plain dataclasses, no I/O.

The pipeline turns audio into `CallerSaid` / `CallerDtmf` events, hands them to a per-call
`DialogSession` and speaks the `BotReply` it gets back. The same session runs under
`voicebot simulate` with typed text, so flows are testable without audio.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from voicebot.dialog.schema import AskNode, LanguageOffer

BotAction = Literal["continue", "transfer", "callback", "end", "hangup"]


@dataclass(frozen=True)
class CallInfo:
    """Who is calling, known before the first word."""

    call_id: str
    caller_number: str = ""
    language: str = "en"
    flow_id: str = "customer_service"
    channel: str = "local"  # local | sip | audiosocket | twilio | web
    # A callback we placed (voicebot/lines/callback_dialer.py): what the customer had called about, and the
    # handoff package of that call, which the agent gets again when this call is transferred.
    topic: str = ""
    handoff_id: str = ""
    # The call's audio is being recorded (the recording notice says so); None where no audio is involved
    # (typed text, flow tests): then privacy.record_audio decides what the notice says.
    recorded: bool | None = None
    # The line chose `language` (the dialled number, the webhook's or dialplan's language): the caller's first
    # words do not switch it, and whisper skips language detection.
    language_fixed: bool = False


@dataclass(frozen=True)
class Prosody:
    """Acoustic features of one caller turn, used by the frustration score."""

    rms_db: float  # loudness of voiced frames, dBFS
    pitch_hz: float  # median F0 of voiced frames, 0 when unvoiced
    speech_rate: float  # words per second of voiced time
    duration_s: float


@dataclass(frozen=True)
class CallerSaid:
    text: str
    language: str | None = None
    asr_confidence: float | None = None  # 0..1; None for typed text
    prosody: Prosody | None = None
    barge_in: bool = False  # the caller spoke over the bot
    alternatives: tuple[str, ...] = ()  # the ASR's other likely transcripts, best first


@dataclass(frozen=True)
class CallerDtmf:
    digits: str
    barge_in: bool = False  # pressed over the bot; after the goodbye: the line stayed up for the keys


@dataclass(frozen=True)
class CallerNoInput:
    """The caller gave the bot nothing to work with: silence past the no-input timer, or a turn of noise."""

    noise: bool = False  # True: sound but no words (a noisy line); False: silence
    waited_s: float = 0.0  # how long the bot waited (silence)


CallerEvent = CallerSaid | CallerDtmf | CallerNoInput


@dataclass
class BotReply:
    """What the bot does after one caller event (or at the start of the call)."""

    text: str
    action: BotAction = "continue"
    reason: str | None = None  # why a transfer/callback/end happened
    intent: str | None = None
    confidence: float | None = None  # NLU confidence of `intent`, 0..1
    slots: dict[str, Any] = field(default_factory=dict)
    node: str | None = None
    language: str = "en"
    frustration: float = 0.0
    signals: dict[str, float] = field(default_factory=dict)  # escalation signal -> contribution
    handoff_id: str | None = None  # set once the handoff package is stored
    skill: str | None = None  # human line (skill) a transfer goes to / a callback is for; set by the routing
    transfer_target: str | None = None  # where the line sends this caller (the skill's line); None = its default
    asr_hints: str = ""  # words the caller is likely to say next (the flow node's hints), for the ASR
    # Silence after this reply before the bot asks again (the node's or flow's no_input_secs); None = the
    # line's default ([dialog] no_input_secs).
    no_input_secs: float | None = None
    # The question the caller is answering next (its slot type/length), if any: the pipeline ends the
    # caller's turn as soon as the words so far fill it (see voicebot.pipeline.stt).
    expects: AskNode | None = None
    # Whether words heard at that question mean something else to the dialog (a request it recognises, a yes or
    # no, "I don't have it"): the pipeline's digits-only second look is only for turns that mean nothing.
    # None: the dialog gives no opinion.
    understands: Callable[[str], bool] | None = None
    # Said after `text`, each in its own language's voice ("To continue in English, press 9."): the greeting's
    # keypad choice of the call's language (see LanguageOffer); the caller's first words or keys end the offer.
    language_offers: tuple[LanguageOffer, ...] = ()

    @property
    def spoken(self) -> str:
        """Everything the caller hears of this reply, as the transcript shows it."""
        return " ".join([self.text, *(offer.say for offer in self.language_offers)]).strip()


class DialogSession(Protocol):
    """One call's conversation state. Not shared between calls."""

    async def start(self) -> BotReply:
        """The greeting."""
        ...

    async def handle(self, event: CallerEvent) -> BotReply: ...

    def snapshot(self) -> dict[str, Any]:
        """Flow id/version, node, intent history and slots: what a human agent needs on handoff."""
        ...


class DialogEngine(Protocol):
    """Loaded flows + NLU, shared by all calls in a process."""

    def new_session(self, call: CallInfo) -> DialogSession: ...

    def voicemail_message(self, flow_id: str, language: str) -> str:
        """What an outbound call leaves on an answering machine (the flow's `messages.voicemail`; "" = none)."""
        ...
