"""Twilio Media Streams messages: Twilio's documented events parse; junk is refused with a reason."""

from __future__ import annotations

import base64
import json

import pytest

from telephony import twilio_messages as tm

START = {
    "event": "start", "sequenceNumber": "1", "streamSid": "MZ123",
    "start": {"accountSid": "AC1", "streamSid": "MZ123", "callSid": "CA9", "tracks": ["inbound"],
              "customParameters": {"caller": "+48600100200"},
              "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}},
}


def test_documented_events_parse() -> None:
    start = tm.parse_message(json.dumps(START))
    assert start == tm.Start("MZ123", "CA9", "AC1", {"caller": "+48600100200"})
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
