"""sipp callers for load over SIP (bench.soak): one scenario that plays espeak-ng sentences as mu-law RTP on a
timer, so many calls can be held up by one sipp process. bench.calls times calls with its own Python caller."""

from __future__ import annotations

import random
from pathlib import Path

from tests.support.sip_helpers import espeak_ulaw, write_pcap

# Questions the default flow answers without escalating (varied, so no "repeated request").
SENTENCES = [
    "When are you open?", "What can you do?", "Do you work on weekends?", "Please repeat that.",
    "How late are you open?", "What can you help me with?", "Are you open on Saturday?", "Can you say that again?",
]
GREETING_MS = 8000
# Where a turn's time goes (ms after the caller's last voiced audio, cumulative), printed p50/p95 per level.

_HEAD = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="bench caller">
  <send retrans="500"><![CDATA[

INVITE sip:voicebot@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:bench[call_number]@[local_ip]:[local_port]>;tag=[pid]B[call_number]
To: <sip:voicebot@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:bench@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

v=0
o=bench 1 1 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000

]]></send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200"/>
  <send><![CDATA[

ACK sip:voicebot@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:bench[call_number]@[local_ip]:[local_port]>;tag=[pid]B[call_number]
To: <sip:voicebot@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0

]]></send>
  <pause milliseconds="{greeting_ms}"/>
{phase}"""
_TURN = """  <nop><action><exec play_pcap_audio="{pcap}"/></action></nop>
  <pause milliseconds="{turn_ms}"/>
"""
_TAIL = """  <send retrans="500"><![CDATA[

BYE sip:voicebot@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:bench[call_number]@[local_ip]:[local_port]>;tag=[pid]B[call_number]
To: <sip:voicebot@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 2 BYE
Max-Forwards: 70
Content-Length: 0

]]></send>
  <recv response="200"/>
</scenario>
"""


_PHASE = """  <nop><action>
    <assignstr assign_to="phase_text" value="[field0]"/>
    <todouble assign_to="phase_ms" variable="phase_text"/>
  </action></nop>
  <pause variable="phase_ms"/>
"""


def phases_file(path: Path, calls: int, turn_secs: float, seed: int) -> Path:
    """sipp injection file: for each call, how long after the greeting it starts asking (ms)."""
    rng = random.Random(seed)
    path.write_text("SEQUENTIAL\n" + "".join(f"{rng.uniform(0, turn_secs * 1000):.0f};\n" for _ in range(calls)))
    return path


def scenario(pcaps: list[Path], minutes: float, turn_secs: float, lockstep: bool) -> str:
    turns = max(1, int((minutes * 60 - GREETING_MS / 1000) / turn_secs))
    body = "".join(_TURN.format(pcap=pcaps[i % len(pcaps)], turn_ms=int(turn_secs * 1000)) for i in range(turns))
    # Each call's start offset comes from the injection file (one line per call, in call order).
    phase = "" if lockstep else _PHASE
    return _HEAD.format(greeting_ms=GREETING_MS, phase=phase) + body + _TAIL


def caller_pcaps(tmp: Path) -> list[Path]:
    """One pcap per caller sentence (espeak-ng speech, mu-law RTP) for sipp's play_pcap_audio."""
    pcaps = []
    for i, sentence in enumerate(SENTENCES):
        sub = tmp / f"s{i}"
        sub.mkdir()
        write_pcap(sub / "say.pcap", espeak_ulaw(sentence, sub))
        pcaps.append(sub / "say.pcap")
    return pcaps
