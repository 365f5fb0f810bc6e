"""A scripted phone caller for SIP line tests: espeak-ng sentences with pauses in one pcap, played by a sipp
scenario to a `SipLine`, then what the supervisor sees (the call record and turns in Redis).

The sequence every such test repeats: script -> pcap -> sipp calls (the bot's RTP goes to a capture socket, the
caller's ear) -> the line's finished call -> record and turns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.support.sip_helpers import RtpCapture, SippResult, espeak_ulaw, finished_call, run_sipp
from voicebot.lines.sip import SipLine
from voicebot.store.calls import CallStore, TurnRecord

SILENCE = b"\xff"  # mu-law zero


def silence(seconds: float) -> bytes:
    return SILENCE * int(seconds * 8000)


def espeak_script(tmp: Path, script: Sequence[tuple[str, float]], voice: str = "en-us") -> list[bytes]:
    """Each sentence by espeak-ng (mu-law, 8 kHz) followed by that many seconds of silence: the caller speaks,
    then listens to the bot's answer. Parts for `write_script_pcap`."""
    parts: list[bytes] = []
    for i, (text, gap_s) in enumerate(script):
        sub = tmp / f"s{i}"
        sub.mkdir()
        parts += [espeak_ulaw(text, sub, voice), silence(gap_s)]
    return parts


@dataclass
class SippCall:
    result: SippResult  # returncode 0: the scenario went as written (who sent the BYE is the scenario's part)
    call_id: str
    record: dict | None
    turns: list[TurnRecord]
    heard: RtpCapture  # the bot's RTP as the caller got it (closed: packets and audio() stay readable)


async def sipp_call(line: SipLine, store: CallStore, tmp: Path, scenario: str, keys: dict[str, str], *,
                    timeout: float, extra: Sequence[str] = ()) -> SippCall:
    """Run `scenario` (tests/support/sipp) against the line with `keys` (pcap, greeting_ms, ...; capture_port is
    added) and sipp's `extra` arguments (["-s", number]: the number dialled), wait for the bot's side of the call
    to finish and read its record and turns."""
    capture = await RtpCapture.open()  # the caller's ear: where the bot's RTP goes
    try:
        result = await run_sipp(scenario, line.port, tmp, {"capture_port": str(capture.port), **keys},
                                timeout=timeout, extra=list(extra))
    finally:
        capture.close()
    call_id = await finished_call(line)
    return SippCall(result, call_id, await store.get_call(call_id), await store.turns(call_id), capture)
