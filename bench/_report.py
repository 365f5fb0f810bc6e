"""Numbers and the printed table of the latency benchmark."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from bench._caller import TurnMeasure

PARTS = ("end_of_turn", "asr", "dialog", "tts_first_audio")
P50_TARGET_MS = 700.0
P95_TARGET_MS = 1100.0
RATIO_TARGET = 1.8


@dataclass
class SystemResult:
    """One pipeline's run over the whole script."""

    name: str
    turns: list[TurnMeasure]
    load_secs: float = 0.0
    rss_mb: float = 0.0  # process RSS right after this pipeline's models were loaded
    late_chunks: int = 0  # caller chunks the bench could not hand over in real time (a starved event loop)
    notes: list[str] = field(default_factory=list)

    def latencies(self) -> list[float]:
        return [t.latency_ms for t in self.turns if t.latency_ms is not None]

    @property
    def missed(self) -> int:
        return sum(1 for t in self.turns if t.first_audio is None and not t.cut_off)

    @property
    def cut_off(self) -> int:
        return sum(1 for t in self.turns if t.cut_off)

    def pct(self, q: float) -> float | None:
        lat = self.latencies()
        return float(np.percentile(lat, q)) if lat else None

    def part_median(self, part: str) -> float | None:
        vals = [t.parts[part] for t in self.turns if part in t.parts]
        return float(np.median(vals)) if vals else None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "load_secs": self.load_secs, "rss_mb": self.rss_mb, "notes": self.notes,
            "late_chunks": self.late_chunks, "p50_ms": self.pct(50), "p95_ms": self.pct(95),
            "missed_turns": self.missed, "cut_off_turns": self.cut_off,
            "parts_median_ms": {p: self.part_median(p) for p in PARTS},
            "turns": [asdict(t) | {"latency_ms": t.latency_ms, "cut_off": t.cut_off} for t in self.turns],
        }


@dataclass
class ModelSpeed:
    asr_rtf: float  # transcription seconds per second of caller audio
    tts_rtf: float  # synthesis seconds per second of bot audio
    tts_first_chunk_ms: float  # median time to the first synthesized sentence of a reply


def _ms(v: float | None) -> str:
    return "-" if v is None else f"{v:7.0f}"


def _cell(t: TurnMeasure | None) -> str:
    if t is None:
        return "-"
    if t.cut_off:
        return "cut off"
    return "missed" if t.latency_ms is None else _ms(t.latency_ms)


def _verdict(ok: bool | None) -> str:
    return "n/a " if ok is None else ("PASS" if ok else "MISS")


def render(ours: SystemResult | None, base: SystemResult | None, speed: ModelSpeed | None,
           machine: str, setup: list[str] | None = None) -> str:
    out: list[str] = []
    systems = [s for s in (ours, base) if s is not None]
    n_turns = max((len(s.turns) for s in systems), default=0)
    n_calls = max((len({t.call for t in s.turns}) for s in systems), default=0)
    out.append(f"Voice-to-voice latency: caller's last voiced 20 ms frame -> first bot audio byte played "
               f"({n_turns} turns in {n_calls} calls; {machine})")
    out.extend(f"  {line}" for line in setup or [])
    out.append("")
    out.append("Per turn (ms)")
    out.append(f"  {'call/turn':<14}{'caller said':<44}{'ours':>8}{'baseline':>10}  {'ours: eot+asr+dlg+tts':<24}"
               "heard by our ASR")
    for i in range(n_turns):
        o = ours.turns[i] if ours and i < len(ours.turns) else None
        b = base.turns[i] if base and i < len(base.turns) else None
        t = o or b
        assert t is not None
        lat_o, lat_b = _cell(o), _cell(b)
        split = "+".join(f"{o.parts[p]:.0f}" for p in PARTS) if o and all(p in o.parts for p in PARTS) else "-"
        out.append(f"  {t.call + '/' + str(t.turn):<14}{t.caller_text[:42]:<44}{lat_o:>8}{lat_b:>10}  {split:<24}"
                   f"{(o.heard_text if o else '')[:50]}")
    out.append("")
    head = f"  {'':<34}{'ours':>10}{'baseline':>10}{'ratio b/o':>11}"
    out.append("Summary")
    out.append(head)

    def row(label: str, fo: float | None, fb: float | None, ratio: bool = True) -> None:
        r = f"{fb / fo:10.2f}x" if ratio and fo and fb else f"{'':>11}"
        out.append(f"  {label:<34}{_ms(fo):>10}{_ms(fb):>10}{r}")

    row("p50 latency (ms)", ours.pct(50) if ours else None, base.pct(50) if base else None)
    row("p95 latency (ms)", ours.pct(95) if ours else None, base.pct(95) if base else None)
    row("max latency (ms)", ours.pct(100) if ours else None, base.pct(100) if base else None)
    out.append(f"  {'missed turns (no reply in time)':<34}{ours.missed if ours else '-':>10}"
               f"{base.missed if base else '-':>10}")
    out.append(f"  {'cut off (answered a fragment)':<34}{ours.cut_off if ours else '-':>10}"
               f"{base.cut_off if base else '-':>10}")
    out.append("  median parts (ms):")
    for p in PARTS:
        row(f"    {p}", ours.part_median(p) if ours else None, base.part_median(p) if base else None, ratio=False)
    out.append(f"  {'caller chunks sent late':<34}{ours.late_chunks if ours else '-':>10}"
               f"{base.late_chunks if base else '-':>10}")
    out.append(f"  {'models loaded in (s)':<34}{ours.load_secs if ours else 0:>10.1f}"
               f"{base.load_secs if base else 0:>10.1f}")
    out.append(f"  {'process RSS after loading (MB)':<34}{ours.rss_mb if ours else 0:>10.0f}"
               f"{base.rss_mb if base else 0:>10.0f}")
    if speed:
        out.append(f"  ASR real-time factor: {speed.asr_rtf:.3f}   TTS real-time factor: {speed.tts_rtf:.3f}   "
                   f"piper's first sentence of a reply: {speed.tts_first_chunk_ms:.0f} ms (median)")
        out.append("  (measured alone after the runs, same models and settings for both pipelines)")
    for s in systems:
        for note in s.notes:
            out.append(f"  note ({s.name}): {note}")
    if any(s.late_chunks for s in systems):
        out.append("  WARNING: the machine was too busy for the scripted caller to keep real time (chunks sent"
                   " late): these latencies include CPU starvation, not only the pipelines' own work.")
    out.append("")
    out.append("Targets")
    p50, p95 = (ours.pct(50), ours.pct(95)) if ours else (None, None)
    ratio = (base.pct(50) / p50) if (base and p50 and base.pct(50)) else None
    out.append(f"  ours p50 <= {P50_TARGET_MS:.0f} ms       {_ms(p50)} ms   "
               f"{_verdict(None if p50 is None else p50 <= P50_TARGET_MS)}")
    out.append(f"  ours p95 <= {P95_TARGET_MS:.0f} ms      {_ms(p95)} ms   "
               f"{_verdict(None if p95 is None else p95 <= P95_TARGET_MS)}")
    ratio_txt = f"{ratio:7.2f}x" if ratio else "      -"
    out.append(f"  baseline/ours p50 >= {RATIO_TARGET}x  {ratio_txt}      "
               f"{_verdict(None if ratio is None else ratio >= RATIO_TARGET)}")
    if ours:
        out.append(f"  every turn answered          {ours.missed:>4} missed   {_verdict(ours.missed == 0)}")
        out.append(f"  no caller cut off            {ours.cut_off:>4} cut off  {_verdict(ours.cut_off == 0)}")
    return "\n".join(out)
