"""Test helpers for the SIP line: caller speech as RTP in a pcap (for sipp), a socket that records
the bot's RTP, a runner for real SIP peers (sipp), a raw UDP peer for bad input. The pcap and the
RTP capture use their own struct code and sox's mu-law on purpose: they check our stack, not mirror it.
"""

from __future__ import annotations

import asyncio
import struct
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from telephony.sip.message import SipMessage, parse_message
from tests.support.ports import UDP, free_port
from voicebot.lines.sip import SipLine

SIPP_DIR = Path(__file__).parent / "sipp"



async def finished_call(line: SipLine, timeout: float = 15.0) -> str:
    """The call id of the line's first finished call (the pipeline writes its end after BYE)."""
    deadline = time.monotonic() + timeout
    while not line.finished:
        assert time.monotonic() < deadline, "the call never finished on the bot's side"
        await asyncio.sleep(0.1)
    return line.finished[0][0].call_id


# ITU-T G.711 mu-law decode, written out here so the capture does not rely on telephony.codecs.
_EXP = np.array([0, 132, 396, 924, 1980, 4092, 8316, 16764])


def ulaw_to_pcm(data: bytes) -> np.ndarray:
    u = ~np.frombuffer(data, dtype=np.uint8)
    exp = (u >> 4) & 7
    mag = _EXP[exp] + ((u & 0x0F).astype(np.int64) << (exp + 3))
    return np.where(u & 0x80, -mag, mag).astype(np.int16)


def espeak_ulaw(text: str, tmp: Path, voice: str = "en-us") -> bytes:
    """Caller speech: espeak-ng synthesis, resampled and mu-law encoded by sox (8 kHz raw)."""
    wav, ul = tmp / "speech.wav", tmp / "speech.ul"
    subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(wav), text], check=True)
    subprocess.run(["sox", str(wav), "-r", "8000", "-c", "1", "-t", "ul", str(ul)], check=True)
    return ul.read_bytes()


def telephone_event_payloads(digit: str) -> list[bytes]:
    """RFC 4733 payloads for one 100 ms key press: 4 updates + the end packet sent 3 times."""
    code = "0123456789*#ABCD".index(digit)
    return [struct.pack("!BBH", code, 10, d) for d in (160, 320, 480, 640)] + \
        [struct.pack("!BBH", code, 0x80 | 10, 800)] * 3


def write_pcap(path: Path, audio_ulaw: bytes = b"", digits: str = "", lead_silence_s: float = 0.0,
               gap_s: float = 0.2) -> float:
    """RTP (PCMU, 20 ms) in a pcap for sipp's play_pcap_audio, `gap_s` of silence after each key press;
    returns its duration in seconds."""
    return write_script_pcap(path, [b"\xff" * int(lead_silence_s * 8000) + audio_ulaw, digits], gap_s=gap_s)


def write_script_pcap(path: Path, parts: list[bytes | str], gap_s: float = 0.2) -> float:
    """A caller's script as one pcap: each part is mu-law audio (bytes) or key presses (str, RFC 4733 events,
    `gap_s` of silence after each; a "," is a one-second pause, a caller listening), in order;
    returns its duration in seconds."""
    packets: list[tuple[float, bytes]] = []
    seq, ts, t = 1000, 16000, 0.0

    def rtp(pt: int, payload: bytes, marker: bool = False) -> bytes:
        return struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | pt, seq & 0xFFFF, ts, 0x5EED) + payload

    for part in parts:
        if isinstance(part, bytes):
            audio = part + b"\xff" * (-len(part) % 160)
            for i in range(0, len(audio), 160):
                packets.append((t, rtp(0, audio[i:i + 160], marker=i == 0)))
                seq, ts, t = seq + 1, ts + 160, t + 0.02
            continue
        for digit in part:
            if digit == ",":  # a caller listening for a second before the next key
                for _ in range(50):
                    packets.append((t, rtp(0, b"\xff" * 160)))
                    seq, ts, t = seq + 1, ts + 160, t + 0.02
                continue
            for payload in telephone_event_payloads(digit):
                packets.append((t, rtp(101, payload)))
                seq, t = seq + 1, t + 0.02
            ts += 800
            for _ in range(round(gap_s / 0.02)):  # silence between presses
                packets.append((t, rtp(0, b"\xff" * 160)))
                seq, ts, t = seq + 1, ts + 160, t + 0.02
    with path.open("wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))  # Ethernet link type
        for when, data in packets:
            udp = struct.pack("!HHHH", 6000, 6002, 8 + len(data), 0) + data
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                             bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1])) + udp
            frame = b"\x00" * 12 + b"\x08\x00" + ip
            f.write(struct.pack("<IIII", int(when), round((when % 1) * 1e6), len(frame), len(frame)))
            f.write(frame)
    return t


@dataclass
class CapturedRtp:
    arrival: float
    payload_type: int
    seq: int
    timestamp: int
    ssrc: int
    marker: bool
    payload: bytes


@dataclass
class RtpCapture(asyncio.DatagramProtocol):
    """Records every RTP packet the bot sends to the caller's SDP address."""

    packets: list[CapturedRtp] = field(default_factory=list)
    transport: asyncio.DatagramTransport | None = None
    port: int = 0

    @classmethod
    async def open(cls) -> RtpCapture:
        loop = asyncio.get_running_loop()
        transport, proto = await loop.create_datagram_endpoint(cls, local_addr=("127.0.0.1", 0))
        proto.port = transport.get_extra_info("sockname")[1]
        return proto

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        _b0, b1, seq, ts, ssrc = struct.unpack_from("!BBHII", data)
        self.packets.append(CapturedRtp(time.monotonic(), b1 & 0x7F, seq, ts, ssrc, bool(b1 & 0x80), data[12:]))

    def close(self) -> None:
        if self.transport:
            self.transport.close()

    def audio(self, since: float = 0.0) -> np.ndarray:
        """The PCMU audio the bot sent after `since` (monotonic time), as 16-bit samples."""
        return ulaw_to_pcm(b"".join(p.payload for p in self.packets if p.payload_type == 0 and p.arrival >= since))


def voiced_seconds(pcm: np.ndarray, threshold_db: float = -40.0) -> float:
    """How much of the audio (20 ms frames) is louder than `threshold_db` dBFS."""
    frames = pcm[: len(pcm) // 160 * 160].reshape(-1, 160).astype(float)
    rms = np.sqrt(np.mean(frames**2, axis=1) + 1e-9) / 32768
    return float(np.sum(20 * np.log10(rms) > threshold_db) * 0.02)


@dataclass
class SippResult:
    returncode: int
    stdout: str
    messages: str  # -trace_msg: every SIP message sipp sent/received
    log: str  # -trace_logs: what the scenario's <log> actions wrote


async def run_sipp(scenario: str, sip_port: int, tmp: Path, keys: dict[str, str], *, timeout: float = 60,
                   calls: int = 1, rate: float = 1.0, extra: list[str] | None = None,
                   local_port: int | None = None) -> SippResult:
    """Run a sipp scenario from tests/support/sipp against 127.0.0.1:sip_port (sipp's own SIP port: `local_port`,
    e.g. a phone the bot calls, else any free one)."""
    name = scenario.removesuffix(".xml")
    args = ["sipp", "-sf", str(SIPP_DIR / f"{name}.xml"), f"127.0.0.1:{sip_port}", "-i", "127.0.0.1",
            "-p", str(local_port or free_port(UDP)), "-mp", str(free_port(UDP) & ~1), "-m", str(calls), "-r", str(rate),
            "-nostdin", "-timeout", f"{int(timeout)}s", "-timeout_error",
            "-trace_msg", "-message_file", str(tmp / "sipp_messages.log"),
            "-trace_logs", "-log_file", str(tmp / "sipp_logs.log"), "-trace_err", "-error_file",
            str(tmp / "sipp_errors.log"), *(extra or [])]
    for k, v in keys.items():
        args += ["-key", k, v]
    proc = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.STDOUT, cwd=tmp)
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout + 10)
    except TimeoutError:
        proc.kill()
        out, _ = await proc.communicate()

    def read(name: str) -> str:
        p = tmp / name
        return p.read_text(errors="replace") if p.exists() else ""

    return SippResult(proc.returncode if proc.returncode is not None else -9, out.decode(errors="replace")[-3000:],
                      read("sipp_messages.log"), read("sipp_logs.log") + read("sipp_errors.log"))


def sox_tone_ulaw(tmp: Path, seconds: float = 1.5, freq: int = 1000) -> bytes:
    """A probe tone (mu-law 8 kHz by sox), easy to find again in captured audio."""
    out = tmp / f"tone{freq}.ul"
    subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-t", "ul", str(out), "synth", str(seconds),
                    "sine", str(freq), "vol", "0.5"], check=True)
    return out.read_bytes()


def tone_seconds(pcm: np.ndarray, freq: int = 1000) -> float:
    """Seconds of 20 ms frames whose strongest frequency is `freq` (within one FFT bin) and not quiet."""
    frames = pcm[: len(pcm) // 160 * 160].reshape(-1, 160).astype(float)
    spectrum = np.abs(np.fft.rfft(frames, axis=1))
    peak_hz = np.argmax(spectrum, axis=1) * 8000 / 160
    loud = np.sqrt(np.mean(frames**2, axis=1)) > 300
    return float(np.sum(loud & (np.abs(peak_hz - freq) <= 50)) * 0.02)


def baresip_config(tmp: Path, wav: Path, sip_port: int, rtp_low: int) -> Path:
    """A baresip config dir (-f): plays `wav` as the microphone, dumps what it hears under `tmp`."""
    conf = tmp / "baresip"
    conf.mkdir()
    (conf / "config").write_text("\n".join([
        "poll_method epoll", f"sip_listen 127.0.0.1:{sip_port}", "module_path /usr/lib/baresip/modules",
        "module g711.so", "module aufile.so", "module sndfile.so", "module alsa.so",
        "module_app account.so", "module_app menu.so",
        f"audio_source aufile,{wav}", "audio_player alsa,null", "audio_alert alsa,null",
        f"snd_path {tmp}", f"rtp_ports {rtp_low}-{rtp_low + 20}", "",
    ]))
    (conf / "accounts").write_text("<sip:48700800900@127.0.0.1>;regint=0;audio_codecs=PCMU\n")
    return conf


class RawPeer(asyncio.DatagramProtocol):
    """A bare UDP socket that sends whatever bytes a test wants and collects what comes back."""

    def __init__(self) -> None:
        self.inbox: asyncio.Queue[bytes] = asyncio.Queue()
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.inbox.put_nowait(data)

    @property
    def port(self) -> int:
        assert self.transport is not None
        return self.transport.get_extra_info("sockname")[1]

    async def ask(self, data: bytes, dest: tuple[str, int], timeout: float = 2.0) -> SipMessage | None:
        assert self.transport is not None
        self.transport.sendto(data, dest)
        try:
            while True:
                msg = parse_message(await asyncio.wait_for(self.inbox.get(), timeout))
                if msg.status >= 200:
                    return msg
        except TimeoutError:
            return None


def sip_request(method: str, port: int, *, body: str = "", extra: str = "", call_id: str = "") -> bytes:
    call_id = call_id or uuid.uuid4().hex
    head = (f"{method} sip:voicebot@127.0.0.1 SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK{uuid.uuid4().hex[:12]};rport\r\n"
            f"From: <sip:48111222333@127.0.0.1:{port}>;tag=t{uuid.uuid4().hex[:6]}\r\n"
            "To: <sip:voicebot@127.0.0.1>\r\n"
            f"Call-ID: {call_id}\r\nCSeq: 1 {method}\r\nContact: <sip:48111222333@127.0.0.1:{port}>\r\n"
            "Max-Forwards: 70\r\n" + extra)
    if body:
        head += "Content-Type: application/sdp\r\n"
    return (head + f"Content-Length: {len(body)}\r\n\r\n" + body).encode()
