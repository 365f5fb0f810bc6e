"""Bot speech already synthesized, kept for the next caller who is told the same thing.

Most of what a call-center bot says is fixed text (greetings, opening hours, "Anything else?"); synthesizing it
again for every caller costs CPU at the moment a caller is waiting. Pieces are keyed by voice, text and line
rate, and the least recently used ones go first once the budget is spent. Memory only, never written anywhere:
pieces that carry a caller's data (an order number read back) leave with the process.
"""

from __future__ import annotations

from collections import OrderedDict


class SpeechCache:
    """LRU of s16le audio pieces, bounded by bytes. Used from the event loop only (no locking)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.hits = 0
        self._pieces: OrderedDict[tuple[str, str, int], bytes] = OrderedDict()
        self._bytes = 0

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def get(self, voice: str, text: str, rate: int) -> bytes | None:
        key = (voice, text, rate)
        pcm = self._pieces.get(key)
        if pcm is None:
            return None
        self.hits += 1
        self._pieces.move_to_end(key)
        return pcm

    def put(self, voice: str, text: str, rate: int, pcm: bytes) -> None:
        if len(pcm) > self.max_bytes:
            return  # also: a cache of 0 bytes keeps nothing
        key = (voice, text, rate)
        old = self._pieces.pop(key, None)
        self._bytes -= len(old) if old is not None else 0
        self._pieces[key] = pcm
        self._bytes += len(pcm)
        while self._bytes > self.max_bytes:
            _, evicted = self._pieces.popitem(last=False)
            self._bytes -= len(evicted)
