"""Twilio Media Streams messages: Twilio's documented events parse; junk is refused with a reason."""

from __future__ import annotations

import base64
import json

import pytest

from telephony import twilio_messages as tm

MZ = "MZ" + "0123456789abcdef" * 2
CA = "CA" + "fedcba9876543210" * 2
START = {
    "event": "start", "sequenceNumber": "1", "streamSid": MZ,
    "start": {"accountSid": "AC1", "streamSid": MZ, "callSid": CA, "tracks": ["inbound"],
              "customParameters": {"caller": "+48600100200"},
              "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}},
}


def test_documented_events_parse() -> None:
    start = tm.parse_message(json.dumps(START))
    assert start == tm.Start(MZ, CA, "AC1", {"caller": "+48600100200"})
    payload = base64.b64encode(b"\xff" * 160).decode()
    media = {"event": "media", "streamSid": "MZ123",
             "media": {"track": "inbound", "chunk": "2", "timestamp": "20", "payload": payload}}
    assert tm.parse_message(json.dumps(media)) == tm.Media(b"\xff" * 160, "inbound")
    assert tm.parse_message('{"event":"dtmf","dtmf":{"track":"inbound_track","digit":"5"}}') == tm.Dtmf("5")
    assert tm.parse_message('{"event":"mark","mark":{"name":"vb-1"}}') == tm.Mark("vb-1")
    assert tm.parse_message('{"event":"stop","stop":{"callSid":"CA9"}}') == tm.Stop("CA9")
    assert isinstance(tm.parse_message('{"event":"connected","protocol":"Call"}'), tm.Connected)


@pytest.mark.parametrize(("text", "reason"), [
    ("{not json", "not JSON"),
    ("[1, 2]", "must be a JSON object"),
    ('{"event":"media","media":{"payload":"@@@notbase64"}}', "not base64"),
    ('{"event":"media","media":"x"}', "media must be a JSON object"),
    ('{"event":"dtmf","dtmf":{"digit":"12"}}', "not a DTMF digit"),
    ('{"event":"party"}', "unknown event"),
    ('{"event":"start","start":{"callSid":"CA1"}}', "streamSid"),
    (json.dumps({**START, "start": {**START["start"], "mediaFormat": {"encoding": "audio/l16", "sampleRate": 16000}}}),
     "unsupported media format"),
    ("\"" + "A" * 300_000 + "\"", "too long"),
    # The fields a start names records and log lines with: strictly Twilio's SID formats, bounded parameters.
    (json.dumps({**START, "streamSid": "MZ1", "start": {**START["start"], "streamSid": "MZ1"}}), "stream SID"),
    (json.dumps({**START, "start": {**START["start"], "callSid": "a1b2c3d4e5f60718"}}), "call SID"),
    (json.dumps({**START, "start": {**START["start"], "callSid": CA + "\n2026 INFO admin logged in"}}), "call SID"),
    (json.dumps({**START, "start": {**START["start"], "customParameters": {"caller": "+4" * 50_000}}}),
     "at most 256 characters"),
    (json.dumps({**START, "start": {**START["start"], "customParameters": {f"p{i}": "x" for i in range(17)}}}),
     "more than 16 parameters"),
    ("[" * 5000 + "]" * 5000, "nested too deeply"),
])
def test_bad_messages_raise_value_error(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        tm.parse_message(text)


def test_outgoing_messages_are_what_twilio_expects() -> None:
    assert json.loads(tm.media_message("MZ1", b"\x00\x01")) == {
        "event": "media", "streamSid": "MZ1", "media": {"payload": "AAE="}}
    assert json.loads(tm.mark_message("MZ1", "m")) == {"event": "mark", "streamSid": "MZ1", "mark": {"name": "m"}}
    assert json.loads(tm.clear_message("MZ1")) == {"event": "clear", "streamSid": "MZ1"}


def test_caller_numbers_are_bounded_and_plain() -> None:
    assert tm.party("+48 600 100 200") == "+48 600 100 200"
    assert tm.party("client:alice") == "client:alice" and tm.party("anonymous") == "anonymous"
    assert tm.party("+48" + "1" * 100_000) == ""  # 100,000 characters stored as a caller number
    assert tm.party("+48600\nFORGED") == "" and tm.party(None) == ""
