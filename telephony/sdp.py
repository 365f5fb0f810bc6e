"""SDP (RFC 4566) offers/answers for one G.711 audio stream plus RFC 4733 telephone-events.

Pure functions: parse an offer, pick a codec from our preference order, build our answer/offer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from telephony.codecs import PAYLOAD_TYPES

DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")


@dataclass
class MediaDescription:
    """The audio line of a session description."""

    address: str
    port: int
    payload_types: list[int]
    rtpmap: dict[int, str] = field(default_factory=dict)  # pt -> "PCMU/8000"
    fmtp: dict[int, str] = field(default_factory=dict)
    direction: str = "sendrecv"
    ptime: int = 20

    def codec_of(self, pt: int) -> str:
        """Encoding name of a payload type (static types need no rtpmap)."""
        if pt in self.rtpmap:
            return self.rtpmap[pt].split("/")[0].upper()
        return {0: "PCMU", 8: "PCMA"}.get(pt, "")

    @property
    def telephone_event_pt(self) -> int | None:
        return next((pt for pt, m in self.rtpmap.items() if m.lower().startswith("telephone-event/8000")), None)

    @property
    def on_hold(self) -> bool:
        """RFC 3264 hold: we should not send (sendonly/inactive) or the old-style 0.0.0.0 address."""
        return self.direction in ("sendonly", "inactive") or self.address == "0.0.0.0"


def parse_sdp(body: bytes | str) -> MediaDescription:
    """The first audio stream of an SDP body; ValueError if there is none usable."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    session_addr, media, session_dir = "", None, "sendrecv"
    for raw in text.splitlines():
        line = raw.strip()
        if len(line) < 2 or line[1] != "=":
            continue
        kind, value = line[0], line[2:]
        if kind == "c":
            parts = value.split()
            if len(parts) != 3 or parts[0] != "IN":
                raise ValueError(f"bad SDP connection line {line!r}")
            if media is None:
                session_addr = parts[2].split("/")[0]
            elif media is not False:
                media.address = parts[2].split("/")[0]
        elif kind == "m":
            if media not in (None, False):
                break  # only the first audio stream is used
            parts = value.split()
            if len(parts) < 4 or parts[0] != "audio":
                media = False  # skip video etc.
                continue
            if not parts[1].split("/")[0].isdigit() or not all(p.isdigit() for p in parts[3:]):
                raise ValueError(f"bad SDP media line {line!r}")
            media = MediaDescription(address=session_addr, port=int(parts[1].split("/")[0]),
                                     payload_types=[int(p) for p in parts[3:]], direction=session_dir)
        elif kind == "a":
            name, _, arg = value.partition(":")
            if name in DIRECTIONS:
                if media is None:
                    session_dir = name
                elif media is not False:
                    media.direction = name
            elif media not in (None, False):
                pt_text, _, rest = arg.partition(" ")
                if name in ("rtpmap", "fmtp") and pt_text.isdigit():
                    (media.rtpmap if name == "rtpmap" else media.fmtp)[int(pt_text)] = rest.strip()
                elif name == "ptime" and arg.strip().isdigit():
                    media.ptime = int(arg.strip())
    if not isinstance(media, MediaDescription):
        raise ValueError("SDP has no audio stream")
    if not media.address:
        raise ValueError("SDP has no connection address")
    if not 0 <= media.port <= 65535:
        raise ValueError(f"bad SDP port {media.port}")
    return media


def choose_codec(offer: MediaDescription, preference: tuple[str, ...]) -> tuple[str, int]:
    """Our first preferred codec the offer also has -> (name, payload type); ValueError if none (488)."""
    offered = {offer.codec_of(pt): pt for pt in reversed(offer.payload_types)}
    for name in preference:
        if name in offered:
            return name, offered[name]
    names = ", ".join(filter(None, (offer.codec_of(pt) for pt in offer.payload_types))) or "none"
    raise ValueError(f"no common codec: offered {names}, we support {', '.join(preference)}")


def answer_direction(offer_direction: str) -> str:
    return {"sendonly": "recvonly", "recvonly": "sendonly", "inactive": "inactive"}.get(offer_direction, "sendrecv")


def build_sdp(address: str, port: int, codecs: list[tuple[str, int]], *, dtmf_pt: int | None = 101,
              direction: str = "sendrecv", session_id: int = 1, version: int = 1) -> bytes:
    """Our SDP with one audio stream: `codecs` is [(name, payload type)] in preference order."""
    pts = [pt for _, pt in codecs] + ([dtmf_pt] if dtmf_pt is not None else [])
    lines = [
        "v=0",
        f"o=voicebot {session_id} {version} IN IP4 {address}",
        "s=voicebot",
        f"c=IN IP4 {address}",
        "t=0 0",
        f"m=audio {port} RTP/AVP {' '.join(map(str, pts))}",
    ]
    lines += [f"a=rtpmap:{pt} {name}/8000" for name, pt in codecs]
    if dtmf_pt is not None:
        lines += [f"a=rtpmap:{dtmf_pt} telephone-event/8000", f"a=fmtp:{dtmf_pt} 0-16"]
    lines += ["a=ptime:20", f"a={direction}"]
    return ("\r\n".join(lines) + "\r\n").encode()


def offer_codecs(preference: tuple[str, ...]) -> list[tuple[str, int]]:
    return [(name, PAYLOAD_TYPES[name]) for name in preference]
