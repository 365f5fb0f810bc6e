"""G.711 tables: bit-exact with the reference (Sun g711.c, as audioop), and speech survives a round trip."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from telephony import codecs


@pytest.mark.parametrize("codec", ["PCMU", "PCMA"])
def test_encode_decode_match_reference_for_every_sample(codec: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        audioop = pytest.importorskip("audioop")  # removed in Python 3.13; the reference while it exists
    every_sample = np.arange(-32768, 32768, dtype="<i2").tobytes()
    ref_enc = audioop.lin2ulaw if codec == "PCMU" else audioop.lin2alaw
    ref_dec = audioop.ulaw2lin if codec == "PCMU" else audioop.alaw2lin
    assert codecs.encode(every_sample, codec) == ref_enc(every_sample, 2)
    every_code = bytes(range(256))
    assert codecs.decode(every_code, codec) == ref_dec(every_code, 2)


def test_known_codewords() -> None:
    # ITU-T G.711: silence is 0xFF (mu-law) / 0xD5 (A-law); full-scale positive is 0x80 / 0xAA.
    zero = np.zeros(1, dtype="<i2").tobytes()
    loud = np.array([32767], dtype="<i2").tobytes()
    assert codecs.encode(zero, "PCMU") == b"\xff"
    assert codecs.encode(zero, "PCMA") == b"\xd5"
    assert codecs.encode(loud, "PCMU") == b"\x80"
    assert codecs.encode(loud, "PCMA") == b"\xaa"
    assert codecs.silence("PCMU", 160) == b"\xff" * 160


@pytest.mark.parametrize("codec", ["PCMU", "PCMA"])
def test_tone_round_trip_keeps_speech_quality(codec: str) -> None:
    t = np.arange(8000) / 8000
    tone = (8000 * np.sin(2 * np.pi * 440 * t)).astype("<i2")
    back = np.frombuffer(codecs.decode(codecs.encode(tone.tobytes(), codec), codec), dtype="<i2")
    noise = tone.astype(float) - back.astype(float)
    snr_db = 10 * np.log10(np.mean(tone.astype(float) ** 2) / np.mean(noise**2))
    assert snr_db > 30  # G.711 gives ~38 dB on a mid-level tone


def test_bad_input_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="whole 16-bit samples"):
        codecs.encode(b"\x00\x01\x02", "PCMU")
    with pytest.raises(ValueError, match="unknown codec"):
        codecs.decode(b"\x00", "G729")
