"""G.711 (PCMU = mu-law, PCMA = A-law) <-> signed 16-bit little-endian PCM, with numpy lookup tables.

Phone lines carry 8-bit G.711 at 8 kHz. Encoding goes through a 65536-entry table indexed by the
16-bit sample, decoding through a 256-entry table, so a 20 ms frame costs two numpy takes and no
Python loop (audioop is gone from Python 3.13). Tables are built once at import and frozen read-only.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

Codec = Literal["PCMU", "PCMA"]

# RTP static payload types (RFC 3551).
PAYLOAD_TYPES: dict[str, int] = {"PCMU": 0, "PCMA": 8}
CODEC_BY_PT: dict[int, str] = {v: k for k, v in PAYLOAD_TYPES.items()}

_ULAW_BIAS = 0x84
_ULAW_CLIP = 32635
_ULAW_SEG_END = (0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF)


def _ulaw_encode_one(sample: int) -> int:
    # Sun's reference g711.c (as audioop and most PBXes): work on 14-bit magnitude plus bias.
    pcm = sample >> 2
    if pcm < 0:
        pcm, mask = -pcm, 0x7F
    else:
        mask = 0xFF
    pcm = min(pcm, _ULAW_CLIP >> 2) + (_ULAW_BIAS >> 2)
    seg = next((i for i, end in enumerate(_ULAW_SEG_END) if pcm <= end), 8)
    if seg >= 8:
        return 0x7F ^ mask
    return ((seg << 4) | ((pcm >> (seg + 1)) & 0x0F)) ^ mask


def _ulaw_decode_one(code: int) -> int:
    u = ~code & 0xFF
    exponent = (u >> 4) & 0x07
    sample = (((u & 0x0F) << 3) + _ULAW_BIAS) << exponent
    sample -= _ULAW_BIAS
    return -sample if u & 0x80 else sample


_ALAW_SEG_END = (0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF)


def _alaw_encode_one(sample: int) -> int:
    pcm = sample >> 3  # A-law works on 13-bit samples
    if pcm >= 0:
        mask = 0xD5
    else:
        mask = 0x55
        pcm = -pcm - 1
    seg = next((i for i, end in enumerate(_ALAW_SEG_END) if pcm <= end), 8)
    if seg >= 8:
        return 0x7F ^ mask
    aval = seg << 4
    aval |= (pcm >> 1) & 0x0F if seg < 2 else (pcm >> seg) & 0x0F
    return aval ^ mask


def _alaw_decode_one(code: int) -> int:
    a = code ^ 0x55
    t = (a & 0x0F) << 4
    seg = (a & 0x70) >> 4
    if seg == 0:
        t += 8
    elif seg == 1:
        t += 0x108
    else:
        t = (t + 0x108) << (seg - 1)
    return t if a & 0x80 else -t


def _frozen(values: list[int], dtype: type) -> np.ndarray:
    arr = np.array(values, dtype=dtype)
    arr.flags.writeable = False
    return arr


# Encode tables are indexed by the sample's uint16 bit pattern (0..32767 positive, 32768.. negative).
_SAMPLES = [i if i < 0x8000 else i - 0x10000 for i in range(0x10000)]
_ENCODE = {
    "PCMU": _frozen([_ulaw_encode_one(s) for s in _SAMPLES], np.uint8),
    "PCMA": _frozen([_alaw_encode_one(s) for s in _SAMPLES], np.uint8),
}
_DECODE = {
    "PCMU": _frozen([_ulaw_decode_one(c) for c in range(256)], np.int16),
    "PCMA": _frozen([_alaw_decode_one(c) for c in range(256)], np.int16),
}
del _SAMPLES

# The byte a silent frame is made of (what 0 encodes to).
SILENCE_BYTE: dict[str, int] = {name: int(table[0]) for name, table in _ENCODE.items()}


def _check(codec: str) -> None:
    if codec not in _ENCODE:
        raise ValueError(f"unknown codec {codec!r}; allowed: PCMU, PCMA")


def encode(pcm: bytes, codec: str) -> bytes:
    """s16le mono -> G.711 bytes (one byte per sample)."""
    _check(codec)
    if len(pcm) % 2:
        raise ValueError(f"PCM must be whole 16-bit samples, got {len(pcm)} bytes")
    samples = np.frombuffer(pcm, dtype="<u2")
    return _ENCODE[codec].take(samples).tobytes()


def decode(payload: bytes, codec: str) -> bytes:
    """G.711 bytes -> s16le mono."""
    _check(codec)
    codes = np.frombuffer(payload, dtype=np.uint8)
    return _DECODE[codec].take(codes).astype("<i2").tobytes()


def silence(codec: str, samples: int) -> bytes:
    """An encoded silent frame of `samples` samples."""
    _check(codec)
    return bytes([SILENCE_BYTE[codec]]) * samples
