"""Settings: `config.toml` + `VOICEBOT_*` environment variables -> one frozen, validated object.

The settings object is built once at start-up and passed down; nothing reads the environment later.
Every key has a default here, so the server runs with no config file at all ("embedded defaults").
An unknown key or a bad value stops the start with a message naming the key and what is allowed.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from datetime import time as dt_time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG_PATH = PROJECT_ROOT / "config.toml"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HttpSettings(_Section):
    host: str = Field("127.0.0.1", description="web UI / API bind address (0.0.0.0 = all interfaces)")
    port: int = Field(8080, ge=0, le=65535, description="web UI / API port (0 = any free port); env VOICEBOT_HTTP_PORT")


class SipSettings(_Section):
    """The SIP/RTP phone line (telephony/sip): who may call, where media flows, where humans answer."""

    enabled: bool = Field(True, description="listen for SIP calls when `voicebot serve` loads the models")
    host: str = Field("127.0.0.1", description="SIP and RTP bind address")
    port: int = Field(5060, ge=0, le=65535, description="SIP port (0 = ephemeral; env VOICEBOT_SIP_PORT)")
    transport: Literal["udp", "tcp", "both"] = Field("udp", description="SIP transports to listen on")
    public_address: str = Field("", description="address written into SDP/Contact; empty = the bind host")
    rtp_port_min: int = Field(20000, ge=1024, le=65535, description="lowest RTP port (even ports are used)")
    rtp_port_max: int = Field(20999, ge=1024, le=65535, description="highest RTP port")
    codecs: tuple[Literal["PCMU", "PCMA"], ...] = Field(("PCMU", "PCMA"), description="G.711 codecs, preferred first")
    dtmf_payload_type: int = Field(101, ge=96, le=127, description="RTP payload type we offer for RFC 4733 DTMF")
    allowed_peers: tuple[str, ...] = Field(
        ("127.0.0.1/8", "::1"),
        description="IP addresses/CIDRs that may call without auth; others must pass digest auth or get 403",
    )
    max_calls: int = Field(32, ge=1, description="concurrent calls; more are refused with 486 Busy Here")
    max_message_bytes: int = Field(8192, ge=1024, le=65535, description="larger SIP requests get 513 Message Too Large")
    max_headers: int = Field(64, ge=10, le=500, description="SIP messages with more headers get 400")
    human_line_uri: str = Field("sip:agents@127.0.0.1:5070", description="where transfers go (REFER or bridge)")
    transfer_timeout_secs: float = Field(
        30.0, gt=0, description="how long the human line may ring before the transfer counts as failed"
    )
    register_uri: str = Field("", description="registrar to REGISTER with (e.g. sip:pbx.example.com); empty = none")
    register_expires_secs: int = Field(600, ge=60, description="registration lifetime we ask for")
    username: str = Field("", description="digest user for REGISTER and for callers outside allowed_peers")
    password: str = Field("", description="digest password (set via env VOICEBOT_SIP_PASSWORD, never commit)")
    realm: str = Field("voicebot", description="digest realm we challenge callers with")


class AudioSocketSettings(_Section):
    enabled: bool = Field(False, description="listen for Asterisk AudioSocket() connections")
    host: str = Field("127.0.0.1", description="bind address for the AudioSocket TCP listener")
    port: int = Field(9092, ge=0, le=65535, description="AudioSocket TCP port (0 = ephemeral)")
    max_calls: int = Field(32, ge=1, description="concurrent AudioSocket calls; more are sent to the agents' queue")
    idle_timeout_secs: float = Field(
        10.0, gt=0, description="end a call when Asterisk sends nothing for this long (it sends audio every 20 ms)"
    )
    outcome_ttl_secs: int = Field(
        3600, ge=60, description="how long the dialplan can read a call's outcome/handoff id (Redis line:{uuid})"
    )
    allowed_peers: tuple[str, ...] = Field(
        ("127.0.0.1/8", "::1"), description="Asterisk hosts (IPs/CIDRs) allowed to connect and use /api/audiosocket/*"
    )


class TwilioSettings(_Section):
    enabled: bool = Field(False, description="serve the /twilio/* webhooks and the /twilio/media websocket "
                          "(needs auth_token: the server refuses to start without one)")
    account_sid: str = Field("", description="REST call updates (transfer, hang-up); env VOICEBOT_TWILIO_ACCOUNT_SID")
    auth_token: str = Field("", description="checks X-Twilio-Signature on every Twilio request and signs stream "
                            "tokens; REST API secret; set env VOICEBOT_TWILIO_AUTH_TOKEN, never commit it")
    api_base_url: str = Field("https://api.twilio.com", description="Twilio REST API root (tests point it elsewhere)")
    # TwiML URL that dials the human line; the handoff id is appended as a query parameter.
    transfer_twiml_url: str = Field(
        "", description="TwiML URL dialing the human line (handoff_id appended); used for transfers if set"
    )
    transfer_target: str = Field(
        "", description="number or sip: URI dialed with <Dial> on transfer when transfer_twiml_url is empty"
    )
    stream_url: str = Field(
        "", description="public wss://.../twilio/media URL for the TwiML <Stream>; empty = from the request's host"
    )
    max_calls: int = Field(32, ge=1, description="concurrent Twilio media streams")
    public_url: str = Field("", description="https:// root at which Twilio reaches this server (e.g. "
                            "'https://bot.example.com'): callbacks to Twilio callers are placed only when this, "
                            "caller_id and the credentials are set (the answered call fetches /twilio/voice, call "
                            "progress goes to /twilio/callback-status)")
    caller_id: str = Field("", description="the Twilio number (E.164) that places callbacks to callers who came "
                           "in over Twilio")

    @model_validator(mode="after")
    def _signed_or_off(self) -> TwilioSettings:
        # Without the token nobody can tell Twilio's requests from anyone else's.
        if self.enabled and not self.auth_token:
            raise ValueError("twilio.auth_token is required when twilio.enabled = true (every Twilio request is "
                             "checked against it): set env VOICEBOT_TWILIO_AUTH_TOKEN, or twilio.enabled = false")
        return self


class RedisSettings(_Section):
    url: str = Field("", description="redis:// or unix:// URL; empty = REDIS_URL if set, else 127.0.0.1:6379 if it "
                     "answers, else an embedded redis-server under embedded_dir")
    prefix: str = Field("vb:", description="prefix of every key, so several deployments can share one Redis")
    embedded_dir: str = Field("var/redis", description="data folder of the embedded redis-server")


class ModelSettings(_Section):
    dir: str = Field("models", description="where `voicebot models install` lays out model files")
    whisper: str = Field("whisper-base", description="faster-whisper model folder under dir (add larger ones with "
                         "`voicebot models add-whisper`)")
    compute_type: Literal["int8", "int8_float32", "float32"] = Field(
        "int8", description="CTranslate2 compute type for whisper on the CPU")
    cpu_threads: int = Field(0, ge=0, description="whisper threads per ASR worker (asr.workers); 0 = the cores "
                             "shared out between the workers (at least 1 each)")


class AsrSettings(_Section):
    beam_size: int = Field(5, ge=1, le=10, description="whisper beam size (1 = greedy, faster, a little less accurate)")
    speculative: bool = Field(True, description="transcribe during short pauses so the text is ready when the "
                              "turn ends")
    workers: int = Field(0, ge=0, le=64, description="whisper transcriptions run at once (one shared model); "
                         "0 = one per CPU core, so concurrent calls' turns use every core")
    admit_queue_delay_ms: int = Field(
        700, ge=0, description="a new call is answered with the busy message and sent to a person (or offered a "
        "callback) while finished turns wait longer than this for speech recognition; 0 = admit every call")
    calls_per_core: int = Field(
        8, ge=0, description="calls one CPU core serves in time (bench/calls.py: 16 calls on 2 cores): a new call "
        "beyond calls_per_core x cores gets the busy message and a person, like an overloaded queue; 0 = no cap. "
        "Arrivals outrun the measured queue delay (a call's first turn comes ~5 s after it is answered), this cap "
        "does not")
    digits_second_look: bool = Field(
        True, description="at a question for a number (a flow ask node of type digits), a turn whose words give "
        "neither the whole number nor anything the dialog understands is read once more with whisper allowed only "
        "digits; that reading is taken only if it has the whole number (bench/number_asr.py)")


class TtsSettings(_Section):
    voices: dict[str, str] = Field(
        default_factory=lambda: {"en": "en_US-joe-medium", "pl": "espeak-ng"},
        description='language -> voice: a piper voice under models/piper/ (add with `voicebot models add-voice`), '
        'or "espeak-ng" (robotic, bundled, every language; "espeak-ng:pl+f3" picks an espeak-ng variant)')
    fallback: Literal["", "espeak-ng"] = Field(
        "espeak-ng", description='"espeak-ng" speaks a language whose voice is missing or not listed in voices; '
        'empty = such a language stops start-up (a missing voice) or hands the call over (an unlisted one)')
    cache_mb: int = Field(32, ge=0, description="memory for bot sentences already synthesized (fixed prompts are "
                          "synthesized once per process, not once per caller); 0 = off")


class LanguageSettings(_Section):
    """Which language a call starts in, and whether the caller's first words may switch it."""

    numbers: dict[str, str] = Field(
        default_factory=dict,
        description='dialled number (SIP request-URI user, Twilio "To") -> language, longest prefix wins, '
        'e.g. { "+4822" = "pl", "+44" = "en" }; other calls start in dialog.default_language')
    detect: bool = Field(True, description="on the caller's first turn with words, whisper's language "
                         "probabilities (restricted to the flow's languages) may switch the call to another "
                         "language's flow and voice; the turn is re-read in that language. Not on calls whose "
                         "language the line chose (numbers, Twilio ?language=, the AudioSocket dialplan)")
    detect_min_probability: float = Field(
        0.55, gt=0.5, le=1, description="share of the flow languages' probability the other language needs to "
        "switch (bench/language_id.py: English espeak-ng turns at 8 kHz gave Polish at most 0.13, + 0.3 margin)")
    switch_sure_probability: dict[str, float] = Field(
        default_factory=lambda: {"en": 0.99},
        description="per language a call may switch to: the share at which whisper's choice is taken as it is; "
        "under it the turn must also read well in that language (switch_min_confidence), else the call stays in "
        "its language. Whisper base names robotic Polish at 8 kHz English at shares up to 0.98 (read at ASR "
        "confidence 0.14-0.39); most English turns get 0.99-1.00 (bench/results/language_switch.md)")
    switch_min_confidence: float = Field(
        0.35, ge=0, le=1, description="ASR confidence the turn read in the new language needs when its share is "
        "under switch_sure_probability (bench/results/language_switch.md: Polish read as English scored 0.14-0.39, "
        "English 0.15-0.90, most above 0.35)")

    @field_validator("numbers")
    @classmethod
    def _known_languages(cls, v: dict[str, str]) -> dict[str, str]:
        bad = {n: lang for n, lang in v.items() if lang not in ("pl", "en")}
        if bad:
            raise ValueError(f"unknown language(s) {bad}; allowed: pl, en")
        return v

    @field_validator("switch_sure_probability")
    @classmethod
    def _shares(cls, v: dict[str, float]) -> dict[str, float]:
        bad = {lang: p for lang, p in v.items() if lang not in ("pl", "en") or not 0.5 < p <= 1}
        if bad:
            raise ValueError(f"{bad}: languages pl or en, each share above 0.5 and at most 1")
        return v

    def for_number(self, dialled: str) -> str | None:
        """The language of calls to `dialled` (longest matching prefix), or None when no entry matches."""
        number = dialled.strip()
        matches = [prefix for prefix in self.numbers if prefix and number.startswith(prefix)]
        return self.numbers[max(matches, key=len)] if matches else None


class TurnSettings(_Section):
    vad_confidence: float = Field(0.7, gt=0, le=1, description="Silero VAD: speech probability that counts as voice")
    vad_start_secs: float = Field(0.15, ge=0, description="voice this long starts a caller turn (and barges in)")
    vad_stop_secs: float = Field(0.2, ge=0, description="silence this long lets smart-turn decide the turn is over")
    smart_turn: bool = Field(True, description="use the smart-turn v3 end-of-turn model (else only the silence cap)")
    max_silence_secs: float = Field(1.2, gt=0, description="longest silence before the turn ends even if smart-turn "
                                    "thinks the caller is not done")
    finished_words_silence_secs: float = Field(
        0.7, ge=0, description="silence that ends a turn whose words already sound whole (the speculative "
        "transcript ends with . ? ! and nothing unfinished), even if smart-turn is unsure; 0 = off; needs "
        "asr.speculative")
    smart_turn_min_probability: float = Field(
        0.5, gt=0, lt=1,
        description="smart-turn's completion probability must exceed this to end a turn before max_silence_secs")
    smart_turn_min_silence_secs: dict[str, float] = Field(
        default_factory=lambda: {"pl": 0.6},
        description="language -> silence smart-turn's 'complete' needs before it ends a turn (languages not listed: "
        "vad_stop_secs). smart-turn heard Polish comma pauses (espeak-ng at 8 kHz, as VAD measures them: 300-620 "
        "ms) as ends of turn (p 0.92-0.97) and split one sentence into two turns (bench/comma_pause.py); a caller "
        "whose language is not known yet gets the "
        "longest of the flow's languages")
    hold_unfinished: bool = Field(
        True, description="a turn whose words sound unfinished (trailing comma, conjunction, filler, only a "
                          "greeting) waits for more speech, up to max_silence_secs after the caller stopped")
    partial_answer_secs: float = Field(
        2.0, gt=0, description="part of the number the bot asked for ('4 8 1' to a five-digit question) waits this "
                               "long after the caller stopped for the rest (callers read numbers in groups, with "
                               "longer breaths than inside a sentence); never less than max_silence_secs")
    unfinished_words: tuple[str, ...] = Field(
        # English and Polish together: "i", "a" and "to" are unfinished endings in both.
        ("and", "but", "or", "so", "because", "i", "um", "uh", "uhm", "er", "erm", "the", "a", "to",
         "with", "my", "ale", "że", "żeby", "bo", "albo", "lub", "czy", "oraz", "więc", "yyy", "eee", "yy",
         "w", "na", "z", "do", "mój", "moja", "moje"),
        description="a transcript ending with one of these words (lower case) is unfinished")
    opener_words: tuple[str, ...] = Field(
        ("hello", "hi", "hey", "good", "morning", "afternoon", "evening", "thanks", "thank", "you", "no", "ok",
         "okay", "yes", "yeah", "right", "well", "sure", "alright", "dzień", "dobry", "witam", "cześć", "halo",
         "hej", "wieczór", "dzięki", "dziękuję", "tak", "dobra", "dobrze", "jasne", "okej"),
        description="a transcript made only of these words (a greeting, 'no thanks', 'yes' before 'please cancel "
                    "it') is unfinished: callers pause after them and go on; said alone, they are answered at "
                    "max_silence_secs")
    sound_words: tuple[str, ...] = Field(
        ("ah", "ahh", "aah", "oh", "ohh", "hmm", "hm", "mm", "mmm", "uh", "um", "uhm", "eh", "er", "erm", "yyy", "yy",
         "eee", "ee"),
        description="a turn whose transcript holds only these (whisper's rendering of breath, hum and line noise) "
                    "has no words: the bot answers it as a noisy line, not as a request")
    goodbye_listen_secs: float = Field(
        1.0, ge=0,
        description="after the goodbye has played, the line listens this long before hanging up: a caller who "
                    "started talking at its very end is heard and answered (their voice reaches the turn detector "
                    "after the line's delay and counts as speech only after vad_start_secs)")

    @field_validator("smart_turn_min_silence_secs")
    @classmethod
    def _silences(cls, v: dict[str, float]) -> dict[str, float]:
        bad = {lang: secs for lang, secs in v.items() if lang not in ("pl", "en") or not 0 <= secs <= 5}
        if bad:
            raise ValueError(f"bad entries {bad}: languages pl, en; seconds 0-5")
        return v


class DialogSettings(_Section):
    flows_dir: str = Field("dialogs", description="folder of flow YAML files (validated before they go live)")
    default_flow: str = Field("customer_service", description="flow id for calls that do not name one")
    default_language: Literal["pl", "en"] = Field("en", description="language of calls that do not name one")
    no_input_secs: float = Field(
        6.0, ge=0, description="silence after the bot's question before it asks again (a flow's settings or a node's "
        "no_input_secs override it); 0 = never")
    crm_url: str = Field("", description="base URL of the CRM the flows' webhooks call; empty = the demo CRM "
                         "(sample orders and appointment slots) in the process of `voicebot serve`/`call`/`simulate` "
                         "(`voicebot serve --demo-crm` serves it at a configured URL)")


_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class HumanLineSettings(_Section):
    """One human line: the team with one skill (`[escalation.lines.<skill>]`), where its callers go, when."""

    target: str = Field("", description="SIP URI a REFER (or the bridge) sends this skill's callers to; "
                        "empty = sip.human_line_uri")
    twilio_target: str = Field("", description="number or sip: URI Twilio dials for this skill; empty = the "
                               "[twilio] transfer settings")
    hours: dict[str, str] | None = Field(
        None, description='weekday (mon..sun) -> "HH:MM-HH:MM" when this line is staffed, in the timezone of '
        '[business_hours]; a missing day is closed; not set = the [business_hours]')
    max_calls: int = Field(0, ge=0, description="callers sent to this line that it may hold at once, counted "
                           "across all workers; more go to the fallback (0 = no limit)")
    call_secs: int = Field(600, ge=10, description="how long a transferred caller counts against max_calls: "
                           "the line's usual handling time (after a REFER the bot no longer sees the call end)")
    fallback: str = Field("general", description="the line tried when this one is closed, full or does not "
                          "answer; empty = a callback")

    @field_validator("hours")
    @classmethod
    def _spans(cls, v: dict[str, str] | None) -> dict[str, str] | None:
        for day, span in (v or {}).items():
            if day not in _WEEKDAYS:
                raise ValueError(f"unknown day {day!r}; allowed: {', '.join(_WEEKDAYS)}")
            parts = span.split("-")
            if len(parts) != 2 or not all(_is_clock(p.strip()) for p in parts):
                raise ValueError(f"{day} = {span!r} is not 'HH:MM-HH:MM'")
        return v


def _is_clock(text: str) -> bool:
    try:
        dt_time.fromisoformat(text)
    except ValueError:
        return False
    return True


class EscalationSettings(_Section):
    """When the bot hands a caller to a human. Every key but `lines` can be overridden per flow (flow
    settings.escalation)."""

    asr_confidence_min: float = Field(
        0.45, ge=0, le=1, description="ASR confidence below this makes a turn the bot could not use (no match) a "
        "low-confidence turn; a turn it understood (slot filled, confident intent) never is (bench/phone.py)")
    nlu_confidence_min: float = Field(
        0.5, ge=0, le=1, description="NLU confidence below this is a low-confidence turn")
    low_confidence_turns: int = Field(2, ge=1, description="consecutive low-confidence turns that trigger a transfer")
    no_match_turns: int = Field(2, ge=1, description="consecutive no-match turns that trigger a transfer")
    no_match_intents: tuple[str, ...] = Field(
        ("fallback", "out_of_scope", "nlu_fallback"),
        description="intents that count as no-match even when the flow did not flag the turn")
    silence_is_no_match: bool = Field(
        False, description="a turn with no words (silence past the no-input timer, or only noise) also counts "
        "toward no_match_turns; false = only the flow's no-input steps (ask again, rephrase, hand over) apply")
    frustration_threshold: float = Field(
        0.7, ge=0, le=1, description="frustration score (0..1) that triggers a transfer")
    frustration_carry: float = Field(
        0.5, ge=0, le=1, description="share of the previous turn's frustration carried into the next turn")
    repeat_turns: int = Field(
        2, ge=0, description="times the caller repeats the same request before a transfer (0 = never)")
    repeat_similarity: float = Field(
        0.6, gt=0, le=1,
        description="share of word stems (of the shorter turn) two turns of one intent share to be the same request")
    explicit_request_transfers: bool = Field(True, description="transfer as soon as the caller asks for a person")
    closing_intents: tuple[str, ...] = Field(
        ("goodbye", "thanks", "deny"),
        description="intents that end the call or close a topic (\"thanks for nothing\", an angry \"no\" to "
                    "\"anything else?\"); said with sarcasm/anger they go to a person instead")
    transfer_intents: dict[str, str] = Field(
        default_factory=lambda: {"complaint": "complaint", "talk_to_human": "explicit_request",
                                 "agent": "explicit_request"},
        description="intent -> transfer reason: intents the dialog recognised that always go to a human")
    signal_weights: dict[str, float] = Field(
        default_factory=lambda: {"repetition": 0.25, "reprompts": 0.1,
                                 "barge_in": 0.15, "loudness": 0.3, "pitch": 0.2, "speech_rate": 0.15},
        description="frustration contribution of the non-lexical signals (lexicon weights live in the lexicon files)")
    prosody_baseline_turns: int = Field(
        2, ge=1, description="first caller turns whose loudness/pitch/rate form this caller's own baseline")
    lexicons_dir: str = Field("dialogs/lexicons", description="frustration lexicons, one YAML file per language")
    handoff_transcript_turns: int = Field(12, ge=1, description="last transcript turns copied into a handoff package")
    handoff_ttl_days: int = Field(30, ge=1, description="how long a handoff package stays in Redis")
    lines: dict[str, HumanLineSettings] = Field(
        default_factory=dict, description="skill -> its human line ([escalation.lines.<skill>]); the line "
        "'general' takes every other caller and, unless listed, is sip.human_line_uri / the [twilio] transfer "
        "with the [business_hours]")
    skills: dict[str, str] = Field(
        default_factory=lambda: {"complaint": "complaints", "payment_problem": "payments",
                                 "technical_fault": "technical"},
        description="transfer reason (a flow's transfer node, an escalation reason) or the caller's intent -> "
                    "skill; the reason is looked up first; a skill with no line, or no entry, goes to general")

    @field_validator("signal_weights")
    @classmethod
    def _known_signals(cls, v: dict[str, float]) -> dict[str, float]:
        known = {"repetition", "reprompts", "barge_in", "loudness", "pitch", "speech_rate"}
        unknown = sorted(set(v) - known)
        if unknown:
            raise ValueError(f"unknown signal(s) {', '.join(unknown)}; allowed: {', '.join(sorted(known))}")
        if any(not 0 <= w <= 1 for w in v.values()):
            raise ValueError("signal weights must be between 0 and 1")
        return v

    @model_validator(mode="after")
    def _known_fallbacks(self) -> EscalationSettings:
        for skill, line in self.lines.items():
            if line.fallback not in ("", "general", *self.lines):
                raise ValueError(f"lines.{skill}.fallback: no line {line.fallback!r}; allowed: general, "
                                 f"{', '.join(self.lines)} or empty (a callback)")
        return self


class BusinessHoursSettings(_Section):
    """When the human line is staffed; outside these hours a transfer becomes a callback request."""

    timezone: str = Field("Europe/Warsaw", description="IANA time zone of the hours below")
    hours: dict[str, str] = Field(
        default_factory=lambda: {d: "08:00-20:00" for d in ("mon", "tue", "wed", "thu", "fri")}
        | {"sat": "09:00-14:00"},
        description='weekday (mon..sun) -> "HH:MM-HH:MM"; a missing day is closed',
    )
    always_open: bool = Field(False, description="the human line is always staffed (ignore hours)")


class CallbackSettings(_Section):
    """Placing booked callbacks (voicebot/lines/callback_dialer.py): one server process dials due requests out."""

    trunk_uri: str = Field("", description="SIP outbound proxy/trunk the callbacks' INVITEs go through, e.g. "
                           "'sip:trunk.example.com:5060' (the callee is sip:NUMBER@ its host); empty = no dialing")
    caller_id: str = Field("voicebot", description="the From user of callback calls (what the customer's phone shows)")
    flow: str = Field("callback", description="flow id the bot runs when the customer answers (dialogs/)")
    ring_timeout_secs: float = Field(30.0, gt=0, le=180, description="ring this long, then cancel (no answer)")
    max_attempts: int = Field(3, ge=1, le=10, description="calls per request before it is marked failed")
    retry_delay_secs: float = Field(900.0, gt=0, description="wait after a busy / unanswered attempt")
    poll_secs: float = Field(15.0, gt=0, le=600, description="how often the dialer looks for due requests")
    max_concurrent: int = Field(4, ge=1, le=100, description="callback calls in progress at once")
    per_half_hour: int = Field(
        0, ge=0, le=1000,
        description="callbacks one half hour can take (the agents who call back); a caller is not offered a half "
                    "hour that already has this many open requests (0 = no limit)")
    detect_voicemail: bool = Field(True, description="listen before speaking: a long greeting or a beep is an "
                                   "answering machine; the bot hangs up (no transfer) and the attempt counts as "
                                   "unsuccessful")
    voicemail_greeting_secs: float = Field(3.5, ge=1.5, le=15, description="this much speech without a pause "
                                           "when the call is answered means an answering machine")
    voicemail_message: bool = Field(False, description="on an answering machine, wait for its beep (or the end "
                                    "of its greeting) and leave the callback flow's messages.voicemail")


class WebSettings(_Section):
    session_ttl_secs: int = Field(8 * 3600, ge=60, description="a web login expires after this many seconds")
    login_attempts_per_minute: int = Field(
        5, ge=1, description="login attempts allowed per minute for one user name from one address (the same "
        "name from another address has its own budget, so nobody can lock a user out)")
    login_attempts_per_address_per_minute: int = Field(
        30, ge=1, description="login attempts allowed per minute from one address, whatever the user names")
    secure_cookies: bool = Field(False, description="mark cookies Secure (set true behind HTTPS)")
    api_token_days: int = Field(30, ge=1, description="days a new API token lives unless it asks for another lifetime")
    api_token_max_days: int = Field(365, ge=1, description="longest lifetime (days) an API token may ask for")
    header_timeout_secs: float = Field(
        10.0, gt=0, le=300, description="a connection that has not sent complete request headers (or sits idle "
        "between requests) this long is closed")
    metrics_allowed: tuple[str, ...] = Field(
        ("127.0.0.1/8", "::1"), description="addresses (IPs/CIDRs) that may read GET /metrics without a token")
    metrics_token: str = Field(
        "", description="bearer token that also opens /metrics (set env VOICEBOT_WEB_METRICS_TOKEN, never commit)")
    first_admin_password_file: str = Field(
        "var/first-admin-password", description="where the first start writes the first admin's one-time "
        "password (mode 0600; never to the log)")


class PrivacySettings(_Section):
    redact_pii: bool = Field(True, description="redact card numbers, PESEL, IBAN, phone numbers and e-mails in "
                             "stored transcripts")
    keep_originals_for_admins: bool = Field(False, description="also keep the unredacted text, readable by admins "
                                            "only")
    caller_profiles: bool = Field(True, description="remember returning callers by number (name from the CRM, "
                                  "last contacts, open case; deleted with the calls at retention and by "
                                  "`voicebot privacy forget`); withheld numbers never get one")
    retention_days: int = Field(90, ge=1, description="calls older than this are deleted")
    record_audio: bool = Field(False, description="record both directions of every call (the greeting then tells "
                               "the caller; a call whose recording cannot start is not announced as recorded)")
    recordings_dir: str = Field("var/recordings", description="where call recordings (Ogg Opus files) are written; "
                                "deleted with their call at retention")


class ClusterSettings(_Section):
    """Several workers behind one SIP proxy (Kamailio): this worker's name, its drain, the proxy's view."""

    worker_id: str = Field("", description="this worker's name in /health, /metrics and logs; empty = host name + "
                           "SIP port; env VOICEBOT_CLUSTER_WORKER_ID")
    drain_timeout_secs: float = Field(
        60.0, ge=0, description="on SIGTERM, how long calls in progress may go on before they are handed to the "
        "human line (reason maintenance); new calls are refused with 503 from the first moment")
    handover_grace_secs: float = Field(
        20.0, ge=0, description="after the drain timeout, how long the hand-overs may take before the process stops")
    proxy_host: str = Field("127.0.0.1", description="address Kamailio listens on (`voicebot cluster render/up`)")
    proxy_port: int = Field(5060, ge=1, le=65535, description="Kamailio's SIP port (UDP and TCP)")
    ping_interval_secs: int = Field(
        2, ge=1, le=60, description="Kamailio's OPTIONS keepalive interval: a dead or draining worker is out of "
        "the dispatcher set after about this long")
    workers: tuple[str, ...] = Field(
        ("127.0.0.1:5071", "127.0.0.1:5072"),
        description="SIP addresses (host:port) of the workers Kamailio dispatches to")


class SurveySettings(_Section):
    """The post-call survey: CSAT 1-5 and NPS 0-10, by voice or keypad, after a call the bot served."""

    enabled: bool = Field(False, description="ask the survey (the flow's settings.survey nodes) before the goodbye "
                          "of a call the bot served")
    share: float = Field(1.0, ge=0, le=1, description="share of served calls that are asked (0.2 = one in five, "
                         "drawn at random per call)")
    ask_again_days: int = Field(90, ge=1, description="a caller who was asked (answered, declined or hung up) is "
                                "not asked again from the same number for this many days (at most "
                                "privacy.retention_days: the number is not kept longer)")


class KpiSettings(_Section):
    """Costs and targets of the KPI page (/supervisor/kpis)."""

    bot_cost_per_minute: float = Field(0.02, ge=0, description="what a minute of the bot costs (any currency; "
                                       "cost per contact uses the same one)")
    agent_cost_per_minute: float = Field(0.5, ge=0, description="what a minute of a human agent costs")
    agent_minutes_per_transfer: float = Field(
        6.0, ge=0, description="a human's average minutes on a call the bot handed over (after a transfer the call "
        "leaves the bot, so this part is not measured)")
    currency: str = Field("PLN", description="shown with cost per contact")
    target_fcr: float = Field(0.8, ge=0, le=1, description="first-contact resolution target (share of calls)")
    target_csat: float = Field(4.5, ge=1, le=5, description="CSAT target (mean of 1-5 answers)")
    target_nps: float = Field(50, ge=-100, le=100, description="NPS target (% promoters - % detractors)")
    target_cost_per_contact: float = Field(1.0, ge=0, description="cost per contact target (at most); 0 = none")


class Settings(_Section):
    http: HttpSettings = HttpSettings()
    sip: SipSettings = SipSettings()
    audiosocket: AudioSocketSettings = AudioSocketSettings()
    twilio: TwilioSettings = TwilioSettings()
    redis: RedisSettings = RedisSettings()
    models: ModelSettings = ModelSettings()
    asr: AsrSettings = AsrSettings()
    tts: TtsSettings = TtsSettings()
    languages: LanguageSettings = LanguageSettings()
    turn: TurnSettings = TurnSettings()
    dialog: DialogSettings = DialogSettings()
    escalation: EscalationSettings = EscalationSettings()
    business_hours: BusinessHoursSettings = BusinessHoursSettings()
    callbacks: CallbackSettings = CallbackSettings()
    web: WebSettings = WebSettings()
    privacy: PrivacySettings = PrivacySettings()
    cluster: ClusterSettings = ClusterSettings()
    survey: SurveySettings = SurveySettings()
    kpis: KpiSettings = KpiSettings()

    def path(self, relative: str) -> Path:
        """Resolve a path setting against the project root (absolute paths pass through)."""
        p = Path(relative)
        return p if p.is_absolute() else PROJECT_ROOT / p


class ConfigError(Exception):
    """The configuration cannot be used; the message names the key and what is allowed."""


def _env_overrides(environ: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """`VOICEBOT_<SECTION>_<KEY>=value` -> {section: {key: value}}; `REDIS_URL` -> redis.url;
    `TWILIO_ACCOUNT_SID` / `TWILIO_AUTH_TOKEN` -> twilio.account_sid / auth_token."""
    sections = sorted(Settings.model_fields, key=len, reverse=True)  # longest first: "business_hours"
    out: dict[str, dict[str, Any]] = {}
    for name, value in environ.items():
        if not name.startswith("VOICEBOT_") or name == "VOICEBOT_CONFIG":
            continue
        rest = name.removeprefix("VOICEBOT_").lower()
        section = next((s for s in sections if rest.startswith(s + "_")), None)
        if section is None:
            raise ConfigError(f"environment variable {name}: unknown section; allowed: {', '.join(sections)}")
        key = rest.removeprefix(section + "_")
        out.setdefault(section, {})[key] = _parse_env_value(value)
    if environ.get("REDIS_URL"):
        out.setdefault("redis", {})["url"] = environ["REDIS_URL"]
    for name, key in (("TWILIO_ACCOUNT_SID", "account_sid"), ("TWILIO_AUTH_TOKEN", "auth_token")):
        if environ.get(name):  # Twilio's own names for its credentials (the VOICEBOT_TWILIO_* ones win)
            out.setdefault("twilio", {}).setdefault(key, environ[name])
    return out


def _parse_env_value(value: str) -> Any:
    """Env values are TOML literals when they parse as one (numbers, booleans, arrays), else plain strings."""
    try:
        return tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        return value


def _merge(base: dict[str, Any], over: dict[str, dict[str, Any]]) -> dict[str, Any]:
    merged = dict(base)
    for section, values in over.items():
        current = merged.get(section, {})
        merged[section] = {**current, **values} if isinstance(current, dict) else values
    return merged


def _describe(err: ValidationError, source: str) -> str:
    lines = [f"invalid configuration ({source}):"]
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"])
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            section = e["loc"][0] if len(e["loc"]) > 1 else None
            allowed = _allowed_keys(section)
            msg = f"unknown key; allowed: {', '.join(allowed)}"
        lines.append(f"  {key}: {msg} (got {e.get('input')!r})")
    return "\n".join(lines)


def _allowed_keys(section: Any) -> list[str]:
    if section is None or section not in Settings.model_fields:
        return list(Settings.model_fields)
    model = Settings.model_fields[section].annotation
    return list(model.model_fields)  # type: ignore[union-attr]


def load_settings(path: Path | str | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read config.toml (if present) and the environment; raise ConfigError naming any bad key."""
    environ = os.environ if environ is None else environ
    if path is None:
        path = environ.get("VOICEBOT_CONFIG") or DEFAULT_CONFIG_PATH
    path = Path(path)
    data: dict[str, Any] = {}
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    try:
        return Settings.model_validate(_merge(data, _env_overrides(environ)))
    except ValidationError as exc:
        raise ConfigError(_describe(exc, f"{path} + VOICEBOT_* environment")) from exc
