"""bench/escalation.py counts what a caller would notice: a call that is served and closed by the caller is not
"dropped", one whose caller still had a request is; and every conversation meets the demo CRM's sample data, so
an earlier conversation's cancelled visit does not send the next caller who cancels to a person."""

from __future__ import annotations

import asyncio

from bench.escalation import evaluate
from voicebot.config import load_settings


def _run(*conversations: dict) -> list:
    return asyncio.run(evaluate(load_settings(), list(conversations)))


def _routine(cid: str, lang: str, *turns: str) -> dict:
    return {"id": cid, "language": lang, "label": "routine", "turns": list(turns)}


def test_a_second_caller_cancelling_a_visit_finds_it_booked() -> None:
    cancel = ("dzień dobry chciałbym odwołać wizytę", "tak", "nie to wszystko dziękuję")
    first, second = _run(_routine("a", "pl", *cancel), _routine("b", "pl", *cancel))
    assert first.transfer_turn is None and second.transfer_turn is None
    assert "odwołana" in second.replies[1]["bot"]


def test_a_closing_after_the_callers_own_goodbye_is_no_drop_but_a_request_is() -> None:
    served, cut_off = _run(
        _routine("served", "en", "what time are you open on saturday", "no thanks", "that's all bye"),
        _routine("cut", "en", "what time are you open on saturday", "no thanks", "where is my order 4 8 1 5 2"))
    assert served.replies[1]["action"] == "end" and not served.dropped
    assert cut_off.dropped
