"""AudioSocket wire format: what Asterisk sends decodes, what it never sends is refused with a reason."""

from __future__ import annotations

import uuid

import pytest

from telephony import audiosocket_frames as af


def test_stream_split_anywhere_decodes_to_the_same_frames() -> None:
    call = str(uuid.uuid4())
    audio = bytes(range(256)) + bytes(64)  # 320 bytes = 20 ms
    wire = af.uuid_frame(call) + af.audio_frame(audio) + af.dtmf_frame("#") + af.hangup_frame()
    for split in (1, 2, 3, 7, 19, len(wire) - 1):
        dec = af.FrameDecoder()
        frames = dec.feed(wire[:split]) + dec.feed(wire[split:])
        assert [f.kind for f in frames] == [af.Kind.UUID, af.Kind.AUDIO, af.Kind.DTMF, af.Kind.HANGUP]
        assert frames[0].call_uuid == call
        assert frames[1].payload == audio
        assert frames[2].digit == "#"
        assert dec.pending == 0


def test_header_is_big_endian_length() -> None:
    assert af.audio_frame(b"\x01\x02" * 160)[:3] == b"\x10\x01\x40"


@pytest.mark.parametrize(("wire", "reason"), [
    (b"\x07\x00\x00", "unknown AudioSocket frame kind 0x07"),
    (b"\x01\x00\x05abcde", "UUID frame with length 5"),
    (b"\x03\x00\x02ab", "DTMF frame with length 2"),
    (b"\x03\x00\x01x", "invalid digit"),
    (b"\x00\x00\x01\x00", "HANGUP frame with length 1"),
    (b"\x10\x00\x03abc", "audio frame with length 3"),
    (b"\x10\xff\xff", "audio frame with length 65535"),
])
def test_malformed_frames_raise_value_error_naming_the_problem(wire: bytes, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        af.FrameDecoder().feed(wire)


def test_payload_over_protocol_limit_cannot_be_built() -> None:
    with pytest.raises(ValueError, match="too long"):
        af.audio_frame(bytes(70_000))
