"""`voicebot simulate`: talk to a flow by typing (no audio models). One caller turn per stdin line;
a blank line ends the call and starts the next; `#dtmf 123` presses keys."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import datetime

from voicebot.call_session import CallSession
from voicebot.config import Settings
from voicebot.dialog.crm_server import start_demo_crm
from voicebot.dialog.types import CallerDtmf, CallerSaid, CallInfo
from voicebot.escalation.tracker import make_tracker


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("simulate", help="talk to a flow with typed text (JSON lines with --jsonl)")
    p.add_argument("--flow", help="flow id (default: dialog.default_flow)")
    p.add_argument("--lang", choices=("pl", "en"), help="language (default: dialog.default_language)")
    p.add_argument("--jsonl", action="store_true", help="print one JSON object per bot turn")
    p.add_argument("--now", type=_moment, help="pin the clock, e.g. 2026-11-25T10:00 (local business time)")
    p.add_argument("--crm", help="CRM base URL (default: start the demo CRM in-process)")
    p.add_argument("--caller", default="+48600100200", help="caller number bound to {caller_number}")
    p.set_defaults(func=_simulate)


def _moment(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--now {text!r}: use ISO format like 2026-11-25T10:00") from exc


def _simulate(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(run_simulation(args, settings, sys.stdin, sys.stdout))


async def run_simulation(args: argparse.Namespace, settings: Settings, stdin, stdout) -> int:  # type: ignore[no-untyped-def]
    from voicebot.dialog.loader import fixed_clock, load_engine

    crm = None
    if not args.crm:
        crm = await start_demo_crm()
    crm_url = args.crm or crm.url  # type: ignore[union-attr]
    settings = settings.model_copy(update={"dialog": settings.dialog.model_copy(update={"crm_url": crm_url})})
    engine = load_engine(settings, make_tracker, clock=fixed_clock(args.now) if args.now else None)
    flow_id = args.flow or settings.dialog.default_flow
    lang = args.lang or settings.dialog.default_language
    interactive = hasattr(stdin, "isatty") and stdin.isatty()
    calls = 0
    session: CallSession | None = None
    turn = 0

    async def begin() -> CallSession:
        nonlocal calls, turn
        calls, turn = calls + 1, 0
        info = CallInfo(call_id=f"sim-{calls}", caller_number=args.caller, language=lang, flow_id=flow_id,
                        channel="local")
        new = CallSession(info, engine.new_session(info), new_dialog=engine.new_session)  # a language key switches
        _emit(stdout, args.jsonl, calls, 0, "", await new.begin())
        return new

    try:
        # Line by line (not call by call), so a person typing gets each answer at once. A call starts at
        # its first line; typed at a terminal, it starts at once so the greeting comes first.
        if interactive:
            session = await begin()
        for raw in stdin:
            line = raw.strip()
            if not line:
                if session is not None and turn:
                    await session.finish()
                    session = await begin() if interactive else None
                continue
            if session is None:
                session = await begin()
            turn += 1
            dtmf = line.lower().startswith("#dtmf")
            event = CallerDtmf(line[5:].strip()) if dtmf else CallerSaid(line, language=session.info.language)
            _emit(stdout, args.jsonl, calls, turn, line, await session.on_event(event))
        if session is not None:
            await session.finish()
    finally:
        await engine.close()
        if crm:
            await crm.stop()
    return 0


def _emit(out, jsonl: bool, call: int, turn: int, caller: str, reply) -> None:  # type: ignore[no-untyped-def]
    record = {
        "call": call, "turn": turn, "caller": caller, "intent": reply.intent, "confidence": reply.confidence,
        "slots": reply.slots, "node": reply.node, "reply": reply.text, "action": reply.action,
        "reason": reply.reason, "frustration": reply.frustration, "signals": reply.signals,
    }
    if jsonl:
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
    else:
        if turn == 0:
            out.write(f"--- call {call} ---\n")
        else:
            if reply.intent:
                heard = f"{reply.intent} {reply.confidence:.2f}" if reply.confidence is not None else reply.intent
            else:  # no confidence = the turn answered the question (a slot), not a request
                heard = "answer" if reply.confidence is None else f"no match {reply.confidence:.2f}"
            out.write(f"caller: {caller}   [{heard}]\n")
        tail = f"   <{reply.action}: {reply.reason}>" if reply.action != "continue" else ""
        out.write(f"bot:    {reply.spoken}{tail}\n")
    out.flush()
