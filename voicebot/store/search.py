"""Finding calls for supervisors: date range, text, intent, transferred or not, reason, language."""

from __future__ import annotations

from dataclasses import dataclass, field

from voicebot.store.calls import CallStore, TurnRecord

MAX_SCAN = 5000  # calls looked at per search; the date range narrows it first


@dataclass(frozen=True)
class CallFilter:
    since: float = 0.0
    until: float = float("inf")
    text: str = ""
    intent: str = ""
    transferred: bool | None = None
    reason: str = ""
    language: str = ""
    limit: int = 200
    with_turns: bool = False  # load transcripts even if no filter needs them (exports)

    @property
    def needs_turns(self) -> bool:
        return bool(self.text or self.intent or self.with_turns)


@dataclass
class CallRow:
    call: dict[str, str]
    turns: list[TurnRecord] = field(default_factory=list)

    @property
    def call_id(self) -> str:
        return self.call.get("call_id", "")

    @property
    def transferred(self) -> bool:
        return self.call.get("outcome") in ("transferred", "callback") or bool(self.call.get("transfer_reason"))

    @property
    def intents(self) -> list[str]:
        return sorted({t.intent for t in self.turns if t.intent})


def _matches(row: CallRow, f: CallFilter) -> bool:
    c = row.call
    if f.transferred is not None and row.transferred != f.transferred:
        return False
    if f.reason and c.get("transfer_reason", "") != f.reason:
        return False
    if f.language and c.get("language", "") != f.language:
        return False
    if f.intent and f.intent not in row.intents:
        return False
    if f.text:
        needle = f.text.casefold()
        haystack = [t.text for t in row.turns] + [c.get("caller_number", ""), c.get("call_id", "")]
        if not any(needle in h.casefold() for h in haystack):
            return False
    return True


async def search_calls(store: CallStore, f: CallFilter) -> list[CallRow]:
    """Newest first. Turns are loaded only when the filter needs them (text or intent)."""
    ids = await store.recent_call_ids(limit=MAX_SCAN, since=f.since, until=f.until)
    rows: list[CallRow] = []
    for start in range(0, len(ids), 200):
        chunk = ids[start:start + 200]
        async with store.client.pipeline(transaction=False) as p:
            for cid in chunk:
                p.hgetall(store.keys.call(cid))
            calls = await p.execute()
        for call in calls:
            if not call:
                continue  # deleted by retention between the two reads
            row = CallRow(call)
            if f.needs_turns:
                row.turns = await store.turns(row.call_id)
            if _matches(row, f):
                rows.append(row)
                if len(rows) >= f.limit:
                    return rows
    return rows
