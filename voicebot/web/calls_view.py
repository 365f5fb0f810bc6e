"""Reading calls for the UI and the API: filters from a query string, one call with its context."""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import asdict, dataclass, replace
from typing import Annotated, Any, Literal

from multidict import MultiMapping
from pydantic import BaseModel, BeforeValidator, Field, ValidationError, WithJsonSchema, create_model

from voicebot.store.calls import CallStore, TurnRecord
from voicebot.store.errors import Invalid, NotFound
from voicebot.store.handoffs import HandoffStore
from voicebot.store.search import CallFilter, CallRow
from voicebot.web.openapi import validation_message

CSV_COLUMNS = ("call_id", "started_at", "ended_at", "caller_number", "language", "channel", "flow_id",
               "outcome", "transfer_reason", "handoff_id", "last_node", "csat")


def _time(value: str | None, end_of_day: bool) -> float | None:
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        pass
    else:
        if not math.isfinite(number) or not 0 <= number < 1e11:
            raise ValueError(f"epoch seconds between 0 and 1e11 (got {value!r})")
        return number
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"use YYYY-MM-DD, an ISO date-time or epoch seconds (got {value!r})") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    if end_of_day and len(value) == 10:
        parsed += dt.timedelta(days=1, microseconds=-1)
    return parsed.timestamp()


_TIME_DOC = "YYYY-MM-DD, ISO date-time or epoch seconds"
Since = Annotated[float | None, BeforeValidator(lambda v: _time(v, end_of_day=False)),
                  WithJsonSchema({"type": "string", "description": f"start of the range: {_TIME_DOC}"})]
Until = Annotated[float | None, BeforeValidator(lambda v: _time(v, end_of_day=True)),
                  WithJsonSchema({"type": "string", "description": f"end of the range (inclusive day): {_TIME_DOC}"})]
_TRANSFERRED = {"": None, "any": None, "yes": True, "true": True, "no": False, "false": False}


class DateRange(BaseModel):
    """Query of the KPI routes (and the start of a call search)."""

    since: Since = Field(None, alias="from")
    until: Until = Field(None, alias="to")

    def to_filter(self) -> CallFilter:
        return CallFilter(since=self.since if self.since is not None else 0.0,
                          until=self.until if self.until is not None else float("inf"))


class CallSearch(DateRange):
    """Query of GET /api/calls, /supervisor/calls and the CSV export."""

    q: str = Field("", description="text in the transcript, caller number or call id")
    intent: str = Field("", description="calls where this intent was recognised")
    transferred: Annotated[Literal["", "any", "yes", "true", "no", "false"],
                           BeforeValidator(lambda v: v.lower() if isinstance(v, str) else v)] = Field(
        "", description="yes = handed to a human, no = not")
    reason: str = Field("", description="transfer reason, e.g. frustration")
    language: str = Field("", description="pl, en, ...")
    limit: Annotated[int, BeforeValidator(lambda v: v or 200)] = Field(
        200, ge=1, le=5000, description="at most this many calls")

    def to_filter(self) -> CallFilter:
        return replace(super().to_filter(), text=self.q.strip(), intent=self.intent.strip(),
                       transferred=_TRANSFERRED[self.transferred], reason=self.reason.strip(),
                       language=self.language.strip(), limit=self.limit)


def filter_from_query(q: MultiMapping[str]) -> CallFilter:
    """For the pages: the same rules as the API's query model, answered as a page's 422."""
    try:
        return CallSearch.model_validate(dict(q)).to_filter()
    except ValidationError as exc:
        raise Invalid(validation_message(exc)[0]) from exc


# A spreadsheet runs a cell that starts with one of these as a formula (=HYPERLINK(...), +cmd|...).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?\d[\d .]*")  # "+48 600 100 200", "-0.5": a number, never a formula


def csv_cell(value: object) -> str:
    """A CSV cell a spreadsheet shows as text: a leading formula character gets an apostrophe before it."""
    text = str(value)
    if text.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def turn_dict(turn: TurnRecord, *, admin: bool) -> dict[str, Any]:
    d = asdict(turn)
    if not admin or d.get("text_original") is None:
        d.pop("text_original", None)
    return d


# One search result in the API: the CSV's columns, plus whether a human took the call.
CallRowAnswer: Any = create_model("CallRow", **{c: (str, "") for c in CSV_COLUMNS}, transferred=(bool, False))


class CallList(BaseModel):
    calls: list[CallRowAnswer]


def row_dict(row: CallRow) -> dict[str, Any]:
    return {**{c: row.call.get(c, "") for c in CSV_COLUMNS}, "transferred": row.transferred}


@dataclass
class CallDetail:
    call: dict[str, str]
    turns: list[TurnRecord]
    handoff: dict[str, Any] | None

    @property
    def transfer_turn(self) -> TurnRecord | None:
        return next((t for t in reversed(self.turns) if t.action in ("transfer", "callback")), None)


async def load_call(store: CallStore, call_id: str) -> CallDetail:
    call = await store.get_call(call_id)
    if call is None:
        raise NotFound(f"no call {call_id!r}")
    turns = await store.turns(call_id)
    for turn in turns:  # records written before redaction covered everything are redacted when shown
        turn.text = store.redact(turn.text)
    return CallDetail(store.clean_record(call), turns, await load_handoff(store, call.get("handoff_id", "")))


async def load_handoff(store: CallStore, handoff_id: str) -> dict[str, Any] | None:
    """The handoff package JSON written by the escalation side; None if there is none."""
    if not handoff_id:
        return None
    try:
        data = await HandoffStore(store.client, store.keys, redact=store.redact).get(handoff_id)
    except ValueError:  # not JSON: show what is there rather than failing the page
        raw = await store.client.get(store.keys.handoff(handoff_id))
        return {"unreadable": (raw or "")[:2000]}
    if data is None:
        return None
    return data if isinstance(data, dict) else {"value": data}


async def live_calls(store: CallStore) -> list[dict[str, Any]]:
    """Calls in progress with what a supervisor watches: current node and frustration."""
    out = []
    for cid in sorted(await store.client.smembers(store.keys.calls_live)):
        call = await store.get_call(cid)
        if not call:
            continue
        last_bot = None
        for _, fields in await store.client.xrevrange(store.keys.turns(cid), count=20):
            if fields.get("role") == "bot":
                last_bot = TurnRecord.from_fields(fields)
                break
        out.append({
            "call_id": cid, "caller_number": call.get("caller_number", ""), "language": call.get("language", ""),
            "started_at": call.get("started_at", ""),
            "node": (last_bot.node if last_bot else None) or call.get("last_node", ""),
            "frustration": last_bot.frustration if last_bot and last_bot.frustration is not None else 0.0,
        })
    return out
