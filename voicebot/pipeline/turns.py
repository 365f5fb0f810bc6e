"""Caller audio -> caller turns: Silero VAD says who is speaking, smart-turn v3 says when a turn is over.

Also detects barge-in (the caller starts speaking while the bot's audio is playing) and, after a short
pause, hands the utterance so far to the transcriber so the text is often ready when the turn ends.
smart-turn hears only audio: the Transcriber gets a second opinion from the words and holds a turn that
sounds unfinished ("Hello," ...) until the caller goes on or `max_silence_secs` passes (see stt.py). The
opinion also works the other way: when the speculative text already sounds like a whole sentence, a shorter
silence (`finished_words_silence_secs`) ends the turn even while smart-turn is unsure, which it often is after
numbers ("The order number is 48152.") and short closings ("Goodbye.").
smart-turn hears a comma pause in Polish espeak-ng speech as an end ("Mam pytanie, ... gdzie jest moja paczka"):
its "complete" ends a turn only once the silence reaches the call language's `smart_turn_min_silence_secs`
(bench/comma_pause.py measures the pauses); a caller who goes on within it stays in the same turn.
When the bot asked a question with a definite answer (five digits, yes/no, a date) and the speculative words
already give it, the turn ends at once: the caller has said all there is to say. Digits said slowly ("four
eight ... one") do not fill the slot at the pause, so that turn still waits.
Between turns, voice that has begun but is not yet a turn (VoiceOnsetFrame) tells the Transcriber the caller may be
going on: a turn whose text is not answered yet then waits for the rest.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping

from pipecat.audio.turn.base_turn_analyzer import BaseTurnAnalyzer, EndOfTurnState
from pipecat.audio.vad.vad_analyzer import VADAnalyzer, VADState
from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    Frame,
    InputAudioRawFrame,
    InterruptionFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from voicebot.pipeline.frames import (
    CallerTurnFrame,
    CallLanguageFrame,
    SpeechPausedFrame,
    TurnClock,
    VoiceOnsetFrame,
    WordsSoundFinishedFrame,
)
from voicebot.pipeline.pcm import StreamResampler, to_float

RATE = 16000  # VAD, smart-turn and whisper all work at 16 kHz
PREROLL_S = 1.0  # audio kept from before VAD confirms speech (it needs ~0.5 s on soft onsets): first words reach ASR
MAX_TURN_S = 45.0  # a caller who never pauses still gets an answer (and memory stays bounded)
PAUSE_S = 0.1  # silence after which we transcribe speculatively, before the turn is known to be over


class TurnDetector(FrameProcessor):
    def __init__(self, vad: VADAnalyzer, turn_analyzer: BaseTurnAnalyzer | None, *, input_rate: int,
                 max_silence_s: float, call_start: float, speculative: bool = True,
                 finished_words_silence_s: float = 0.0, min_silence_s: Mapping[str, float] | None = None,
                 languages: tuple[str, ...] = ()) -> None:
        super().__init__(name="turns")
        self._vad = vad
        self._turn = turn_analyzer
        self._resampler = StreamResampler(input_rate, RATE) if input_rate != RATE else None
        self._max_silence_s = max_silence_s
        self._finished_words_silence_s = finished_words_silence_s or max_silence_s
        self._call_start = call_start
        # Silence smart-turn's "complete" needs, per language. `languages`: those the caller may speak; until the
        # Transcriber names the call's language (CallLanguageFrame), the longest of theirs applies.
        self._min_silence_by_language = dict(min_silence_s or {})
        self._min_complete_silence_s = max((self._min_silence_by_language.get(lang, 0.0) for lang in languages),
                                           default=0.0)
        self._speculative = speculative
        self._bot_speaking = False
        self._preroll: deque[bytes] = deque()
        self._preroll_s = 0.0
        self._onset = False  # voice began between turns, not yet a turn (told downstream as VoiceOnsetFrame)
        self._reset()

    def _reset(self) -> None:
        self._in_turn = False
        self._chunks: list[bytes] = []
        self._voiced: list[bytes] = []
        self._silence_s = 0.0
        self._turn_audio_s = 0.0  # audio time since VAD confirmed speech (wall time is meaningless in fast mode)
        self._speech_audio_s = 0.0  # ... up to the last voiced chunk
        self._speech_start = 0.0
        self._last_voice = 0.0
        self._barge_in = False
        self._paused_sent = False
        self._vad_quiet = False
        self._words_finished = False  # the Transcriber heard a whole sentence in the speech so far
        self._smart_turn_complete = False  # smart-turn's verdict at this pause (it may wait for more silence)
        self._vad_stop_at = 0.0  # stage stamps of this turn's last pause, for its TurnClock
        self._smart_turn_at = 0.0
        self._smart_turn_run_ms = 0.0

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, InputAudioRawFrame):
            await self._on_audio(frame.audio)
            return  # caller audio stops here; downstream only needs turns
        if isinstance(frame, WordsSoundFinishedFrame):
            # Only about this turn's speech as it is now: a newer word makes the opinion stale.
            self._words_finished = self._in_turn and frame.voiced_chunks == len(self._voiced)
            if self._words_finished and frame.fills_slot:
                await self._end_turn("slot")  # "four eight one five two" to a five-digit question: nothing to wait for
            return
        if isinstance(frame, CallLanguageFrame):
            self._min_complete_silence_s = self._min_silence_by_language.get(frame.language, 0.0)
            return
        if isinstance(frame, BotStartedSpeakingFrame):
            self._bot_speaking = True
        elif isinstance(frame, BotStoppedSpeakingFrame):
            self._bot_speaking = False
        await self.push_frame(frame, direction)

    async def _on_audio(self, pcm: bytes) -> None:
        if self._resampler is not None:
            pcm = self._resampler.resample_chunk(pcm)
        if not pcm:
            return
        now = TurnClock.now()
        seconds = len(pcm) / (2 * RATE)
        state = await self._vad.analyze_audio(pcm)
        voiced = state in (VADState.STARTING, VADState.SPEAKING)
        end_state = self._turn.append_audio(pcm, voiced) if self._turn else EndOfTurnState.INCOMPLETE
        if not self._in_turn:
            if state != VADState.SPEAKING:
                if (state == VADState.STARTING) != self._onset:
                    self._onset = not self._onset
                    await self.push_frame(VoiceOnsetFrame(self._onset))
                self._keep_preroll(pcm, seconds)
                return
            await self._start_turn(now)
        self._chunks.append(pcm)
        self._turn_audio_s += seconds
        if voiced:
            self._speech_audio_s = self._turn_audio_s
            self._voiced.append(pcm)
            self._last_voice = now
            self._silence_s = 0.0
            self._paused_sent = False
            self._vad_quiet = False
            self._words_finished = False
            self._smart_turn_complete = False
            self._vad_stop_at = self._smart_turn_at = self._smart_turn_run_ms = 0.0
            await self._end_if_too_long()
            return
        self._silence_s += seconds
        if self._speculative and not self._paused_sent and self._silence_s >= PAUSE_S:
            # A short pause: start transcribing now, so the text is often ready when the turn is declared over.
            self._paused_sent = True
            await self.push_frame(SpeechPausedFrame(audio=to_float(b"".join(self._chunks)),
                                                    voiced_chunks=len(self._voiced)))
        if state == VADState.QUIET and not self._vad_quiet and self._turn is not None:
            # VAD confirmed a stop (vad_stop_secs): ask smart-turn whether the caller is done. Asking at shorter
            # pauses was faster but cut callers off mid-sentence at the gaps between words.
            self._vad_quiet = True
            self._vad_stop_at = now
            if end_state != EndOfTurnState.COMPLETE:
                verdict, _ = await self._turn.analyze_end_of_turn()
                self._smart_turn_complete = verdict == EndOfTurnState.COMPLETE
                self._smart_turn_at = TurnClock.now()
                self._smart_turn_run_ms = (self._smart_turn_at - now) * 1000
        cap = self._finished_words_silence_s if self._words_finished else self._max_silence_s
        # COMPLETE from append_audio: smart-turn's own silence cap (max_silence_s), over whatever it thinks.
        if end_state == EndOfTurnState.COMPLETE or (
                self._smart_turn_complete and self._silence_s >= self._min_complete_silence_s):
            await self._end_turn("smart_turn")
        elif self._silence_s >= min(cap, self._max_silence_s):
            await self._end_turn("words" if self._words_finished else "cap")

    async def _end_if_too_long(self) -> bool:
        if self._turn_audio_s < MAX_TURN_S:
            return False
        await self._end_turn("too_long")
        return True

    def _keep_preroll(self, pcm: bytes, seconds: float) -> None:
        self._preroll.append(pcm)
        self._preroll_s += seconds
        while self._preroll_s > PREROLL_S and len(self._preroll) > 1:
            self._preroll_s -= len(self._preroll.popleft()) / (2 * RATE)

    async def _start_turn(self, now: float) -> None:
        self._in_turn = True
        self._onset = False  # UserStartedSpeakingFrame supersedes it
        self._speech_start = now
        self._chunks = list(self._preroll)
        self._preroll.clear()
        self._preroll_s = 0.0
        await self.push_frame(UserStartedSpeakingFrame())
        if self._bot_speaking:
            # Barge-in: stop the bot now. Processors downstream drop queued speech; the sink clears the line.
            self._barge_in = True
            await self.push_frame(InterruptionFrame())

    async def _end_turn(self, reason: str) -> None:
        if self._turn is not None:
            self._turn.clear()
        clock = TurnClock(call_start=self._call_start, speech_start=self._speech_start,
                          speech_end=self._last_voice or self._speech_start, end_of_turn=TurnClock.now(),
                          vad_stop=self._vad_stop_at, smart_turn_done=self._smart_turn_at,
                          smart_turn_run_ms=self._smart_turn_run_ms, end_reason=reason)
        frame = CallerTurnFrame(audio=to_float(b"".join(self._chunks)), voiced=to_float(b"".join(self._voiced)),
                                voiced_chunks=len(self._voiced), clock=clock, barge_in=self._barge_in,
                                speech_s=self._speech_audio_s + self._vad.params.start_secs)
        self._reset()
        await self.push_frame(frame)
        await self.push_frame(UserStoppedSpeakingFrame())

    async def cleanup(self) -> None:
        await super().cleanup()
        await self._vad.cleanup()
        if self._turn is not None:
            await self._turn.cleanup()
