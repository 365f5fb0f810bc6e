"""The phone line's 8 kHz packets reach the turn detector as they come, and whisper hears the line's best copy."""

from __future__ import annotations

import numpy as np
from pipecat.audio.vad.vad_analyzer import VADAnalyzer, VADParams, VADState

from voicebot.pipeline.analyzers import SharedSileroVAD, load_vad_session
from voicebot.pipeline.pcm import StreamResampler, resample, to_float

LINE_RATE, RATE, PACKET = 8000, 16000, 160


def _packets(samples: np.ndarray) -> list[bytes]:
    return [samples[i:i + PACKET].astype(np.int16).tobytes() for i in range(0, len(samples), PACKET)]


def test_the_end_of_the_callers_voice_reaches_the_turn_detector_in_the_packet_that_carried_it() -> None:
    # soxr's stream held four packets back and then gave out ~100 ms at once: the bot heard the caller stop up to
    # 100 ms late, and answered that much later.
    t = np.arange(LINE_RATE) / LINE_RATE
    voice = np.where(t < 0.5, 12000 * np.sin(2 * np.pi * 440 * t), 0.0)  # 0.5 s of tone, then silence
    upsample = StreamResampler(LINE_RATE, RATE)
    heard = [to_float(upsample.resample_chunk(p)) for p in _packets(voice)]

    assert all(len(chunk) == 2 * PACKET for chunk in heard)  # every packet, at once
    last_loud = max(i for i, chunk in enumerate(heard) if np.abs(chunk).max() > 0.1)
    assert last_loud == 0.5 * LINE_RATE // PACKET  # the packet after the voice's last one holds only its ~3 ms tail
    assert np.abs(np.concatenate(heard[last_loud + 1:])).max() < 1e-3


def test_the_packets_upsampled_as_they_come_sound_like_the_line() -> None:
    rng = np.random.default_rng(1)
    t = np.arange(LINE_RATE) / LINE_RATE
    speechlike = sum(a * np.sin(2 * np.pi * f * t) for a, f in ((6000, 300), (4000, 1200), (2000, 3000)))
    speechlike += rng.normal(0, 200, len(t))
    upsample = StreamResampler(LINE_RATE, RATE)
    streamed = to_float(b"".join(upsample.resample_chunk(p) for p in _packets(speechlike)))
    whole = to_float(resample(speechlike.astype(np.int16), LINE_RATE, RATE))
    delay = 48  # the filter's 3 ms
    error = streamed[delay + 400:-400] - whole[400:len(streamed) - delay - 400]
    assert np.sqrt(np.mean(error**2)) < 0.01 * np.sqrt(np.mean(whole**2))  # within 1 % of the signal (-40 dB)


async def test_vad_hears_each_packet_the_same_but_leaves_the_event_loop_only_for_whole_windows() -> None:
    # 50 packets a second per call reach VAD now; only those completing one of Silero's 32 ms windows go to its
    # thread. Its verdicts are the same as when every packet went there.
    session = load_vad_session()
    t = np.arange(2 * LINE_RATE) / LINE_RATE
    voice = np.where((t > 0.3) & (t < 1.2), 9000 * np.sin(2 * np.pi * 180 * t) * np.sin(2 * np.pi * 3 * t), 0.0)
    upsample = StreamResampler(LINE_RATE, RATE)
    packets = [upsample.resample_chunk(p) for p in _packets(voice)]
    ours, every = (SharedSileroVAD(session, sample_rate=RATE, params=VADParams()) for _ in range(2))
    hops = 0
    run = ours._run_analyzer

    def counted(buffer: bytes) -> VADState:
        nonlocal hops
        hops += 1
        return run(buffer)

    ours._run_analyzer = counted  # type: ignore[method-assign]
    heard = [await ours.analyze_audio(p) for p in packets]
    reference = [await VADAnalyzer.analyze_audio(every, p) for p in packets]

    assert VADState.SPEAKING in heard and heard == reference
    assert hops == len(b"".join(packets)) // ours._vad_frames_num_bytes  # one hop per whole window, none more
