"""Server-rendered SVG charts and flow diagrams: no JavaScript, no CDN. All text is XML-escaped."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from xml.sax.saxutils import escape

W, H, PAD = 640, 220, 36


def bar_chart(title: str, bars: list[tuple[str, float]], *, unit: str = "", label_every: int = 1) -> str:
    """Vertical bars; labels under every `label_every`-th bar."""
    top = max((v for _, v in bars), default=0) or 1
    n = max(len(bars), 1)
    slot = (W - 2 * PAD) / n
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" role="img" class="chart">',
             f"<title>{escape(title)}</title>",
             f'<text x="{PAD}" y="16" class="chart-title">{escape(title)}</text>',
             f'<line x1="{PAD}" y1="{H - PAD}" x2="{W - PAD}" y2="{H - PAD}" class="axis"/>']
    for i, (label, value) in enumerate(bars):
        h = (H - 2 * PAD - 10) * value / top
        x = PAD + i * slot + slot * 0.1
        y = H - PAD - h
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.8:.1f}" height="{h:.1f}" class="bar">'
                     f"<title>{escape(label)}: {value:g}{escape(unit)}</title></rect>")
        if value and n <= 24:
            parts.append(f'<text x="{x + slot * 0.4:.1f}" y="{y - 3:.1f}" class="val">{value:g}{escape(unit)}</text>')
        if i % label_every == 0:
            parts.append(f'<text x="{x + slot * 0.4:.1f}" y="{H - PAD + 14}" class="lbl">{escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def hbar_chart(title: str, bars: list[tuple[str, float]], *, pct: bool = False) -> str:
    """Horizontal bars (categories with long names, e.g. transfer reasons)."""
    row = 24
    height = PAD + row * max(len(bars), 1) + 10
    top = max((v for _, v in bars), default=0) or 1
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {height}" role="img" class="chart">',
             f"<title>{escape(title)}</title>",
             f'<text x="{PAD}" y="16" class="chart-title">{escape(title)}</text>']
    if not bars:
        parts.append(f'<text x="{PAD}" y="{PAD + 12}" class="lbl">no data</text>')
    for i, (label, value) in enumerate(bars):
        y = PAD + i * row
        w = (W - 220) * value / top
        shown = f"{100 * value:.0f}%" if pct else f"{value:g}"
        parts.append(f'<text x="{PAD}" y="{y + 15}" class="lbl-left">{escape(label)}</text>'
                     f'<rect x="180" y="{y + 3}" width="{w:.1f}" height="{row - 8}" class="bar"/>'
                     f'<text x="{184 + w:.1f}" y="{y + 15}" class="val-left">{shown}</text>')
    parts.append("</svg>")
    return "".join(parts)


def line_chart(title: str, points: list[tuple[str, float | None]], *, target: float | None = None,
               unit: str = "", label_every: int = 1) -> str:
    """A trend line (None = no data that day: a gap) with the target as a dashed line."""
    values = [v for _, v in points if v is not None] + ([target] if target is not None else [])
    lo, hi = min(values, default=0.0), max(values, default=1.0)
    lo, hi = min(lo, 0.0), hi if hi > lo else lo + 1
    n = max(len(points), 1)
    step = (W - 2 * PAD) / max(n - 1, 1)

    def y(v: float) -> float:
        return H - PAD - (H - 2 * PAD - 10) * (v - lo) / (hi - lo)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" role="img" class="chart trend">',
             f"<title>{escape(title)}</title>",
             f'<text x="{PAD}" y="16" class="chart-title">{escape(title)}</text>',
             f'<line x1="{PAD}" y1="{H - PAD}" x2="{W - PAD}" y2="{H - PAD}" class="axis"/>',
             f'<text x="{PAD - 4}" y="{y(hi) + 4:.1f}" class="lbl y-lbl">{hi:.3g}</text>',
             f'<text x="{PAD - 4}" y="{y(lo) + 4:.1f}" class="lbl y-lbl">{lo:.3g}</text>']
    if target is not None:
        parts.append(f'<line x1="{PAD}" y1="{y(target):.1f}" x2="{W - PAD}" y2="{y(target):.1f}" class="target">'
                     f"<title>target {target:g}{escape(unit)}</title></line>"
                     f'<text x="{W - PAD}" y="{y(target) - 3:.1f}" class="lbl target-lbl">target {target:g}'
                     f"{escape(unit)}</text>")
    segment: list[str] = []
    for i, (label, value) in enumerate(points):
        x = PAD + i * step
        if value is None:
            if len(segment) > 1:
                parts.append(f'<polyline points="{" ".join(segment)}" class="line"/>')
            segment = []
        else:
            segment.append(f"{x:.1f},{y(value):.1f}")
            parts.append(f'<circle cx="{x:.1f}" cy="{y(value):.1f}" r="3" class="dot">'
                         f"<title>{escape(label)}: {value:.3g}{escape(unit)}</title></circle>")
        if i % label_every == 0:
            parts.append(f'<text x="{x:.1f}" y="{H - PAD + 14}" class="lbl">{escape(label)}</text>')
    if len(segment) > 1:
        parts.append(f'<polyline points="{" ".join(segment)}" class="line"/>')
    if all(v is None for _, v in points):
        parts.append(f'<text x="{PAD}" y="{PAD + 12}" class="lbl-left">no data</text>')
    parts.append("</svg>")
    return "".join(parts)


# -- flow diagram ------------------------------------------------------------------------------------
_EDGE_KEYS = {"next", "goto", "default", "on_fail", "on_error", "routes", "on_status", "cases", "on_yes", "on_no"}
_CONDITION_KEYS = {"when"}  # inside a branch case: compared values, not node names
BOX_W, BOX_H, COL_W, ROW_H = 150, 34, 200, 56


@dataclass(frozen=True)
class Edge:
    src: str
    dst: str
    label: str


def flow_edges(flow: dict) -> tuple[list[str], list[Edge]]:
    """Nodes and transitions of a flow document (plain YAML data, so a broken flow still draws).

    A transition is any string under a routing key (next, goto, routes, cases, ...) naming a node.
    """
    nodes = flow.get("nodes") if isinstance(flow.get("nodes"), dict) else {}
    names = [str(n) for n in nodes]
    edges: list[Edge] = []
    start = flow.get("start")
    if isinstance(start, str):
        names.insert(0, "(call)")
        edges.append(Edge("(call)", start, "start"))

    def walk(src: str, value: object, label: str, routing: bool) -> None:
        if isinstance(value, str):
            if routing:
                edges.append(Edge(src, value, label))
        elif isinstance(value, dict):
            for k, v in value.items():
                if k not in _CONDITION_KEYS:
                    walk(src, v, str(k), routing or k in _EDGE_KEYS)
        elif isinstance(value, list):
            for v in value:
                walk(src, v, label, routing)

    for name, body in nodes.items():
        walk(str(name), body, "", False)
    intents = flow.get("intents") if isinstance(flow.get("intents"), dict) else {}
    for intent, body in intents.items():
        if isinstance(body, dict) and isinstance(body.get("goto"), str):
            if "(any time)" not in names:
                names.append("(any time)")
            edges.append(Edge("(any time)", body["goto"], str(intent)))
    for e in edges:  # targets that are not nodes (built-ins like "handoff", or typos) still show
        if e.dst not in names:
            names.append(e.dst)
    return names, edges


def flow_diagram(flow: dict) -> str:
    names, edges = flow_edges(flow)
    known = set(flow.get("nodes", {}) if isinstance(flow.get("nodes"), dict) else {}) | {"(call)", "(any time)"}
    # Columns by breadth-first distance from the call's start; unreachable nodes go in a last column.
    depth: dict[str, int] = {}
    queue = deque([n for n in ("(call)", "(any time)") if n in names])
    for n in queue:
        depth[n] = 0
    while queue:
        n = queue.popleft()
        for e in edges:
            if e.src == n and e.dst not in depth:
                depth[e.dst] = depth[n] + 1
                queue.append(e.dst)
    last = max(depth.values(), default=0) + 1
    columns: dict[int, list[str]] = {}
    for n in names:
        columns.setdefault(depth.get(n, last), []).append(n)
    pos = {n: (20 + c * COL_W, 20 + r * ROW_H) for c, col in columns.items() for r, n in enumerate(col)}
    width = 40 + (max(columns) + 1) * COL_W
    height = 40 + max(len(c) for c in columns.values()) * ROW_H if columns else 80
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" class="flow-diagram" '
             f'role="img"><title>flow graph</title><defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" '
             f'markerWidth="6" markerHeight="6" orient="auto"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>']
    for e in edges:
        (x1, y1), (x2, y2) = pos[e.src], pos[e.dst]
        sx, sy, tx, ty = x1 + BOX_W, y1 + BOX_H / 2, x2, y2 + BOX_H / 2
        if x2 <= x1:  # backwards edge: leave from the bottom
            sx, sy, tx, ty = x1 + BOX_W / 2, y1 + BOX_H, x2 + BOX_W / 2, y2 + BOX_H
        parts.append(f'<path d="M{sx},{sy} C{(sx + tx) / 2},{sy} {(sx + tx) / 2},{ty} {tx},{ty}" class="edge" '
                     f'marker-end="url(#arrow)"><title>{escape(e.src)} → {escape(e.dst)} ({escape(e.label)})</title>'
                     f"</path>")
    for n, (x, y) in pos.items():
        cls = "node" if n in known else "node external"
        parts.append(f'<g class="{cls}"><rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="6"/>'
                     f'<text x="{x + BOX_W / 2}" y="{y + BOX_H / 2 + 4}">{escape(n[:22])}</text></g>')
    parts.append("</svg>")
    return "".join(parts)
