"""Understood over the phone line: scripted conversations over real SIP/RTP (G.711 at 8 kHz), judged
from the product's own call records.

    .venv/bin/python -m bench.phone --set dev                 # tune on this one
    .venv/bin/python -m bench.phone --set blind --out bench/results/phone.md   # a blind set: ONCE, at the end
    .venv/bin/python -m bench.phone --set dev --only en-d1,pl-d2   # a few conversations
    .venv/bin/python -m bench.phone --set dev --parallel 3          # three calls on the line at a time
    .venv/bin/python -m bench.phone --set blind13 --only en-b8 --dialog   # a spent call, with the bot's turns

Sets: phone_dev (tuning), phone_blind, phone_blind2 (26 calls, written before reading the flows; facts are the
demo CRM's sample orders; evaluated once, bench/results/phone_blind2.md), phone_blind3 (26 calls, written
blind; evaluated once, bench/results/phone_blind3.md), phone_blind4 (26 calls with keypad callers, written blind;
evaluated once, bench/results/phone_blind4.md), phone_blind5 (26 calls, written blind; evaluated once,
bench/results/phone_blind5.md), phone_blind6 (26 calls, written blind; evaluated once,
bench/results/phone_blind6.md), phone_blind7, phone_blind8, phone_blind9, phone_blind10, phone_blind11,
phone_blind12, phone_blind13, phone_blind14, phone_blind15 (26 calls each, written blind; evaluated once,
bench/results/phone_blind7.md, phone_blind8.md, phone_blind9.md, phone_blind10.md, phone_blind11.md,
phone_blind12.md, phone_blind13.md, phone_blind14.md, phone_blind15.md).
All blind sets are spent.

Each conversation of bench/data/phone_<set>.yaml is spoken by an espeak-ng voice (at its speed) or by
piper, resampled to 8 kHz, with white line noise where the set says so, and sent over a real SIP dialog
with a 20 ms PCMU RTP stream (bench/_sip_caller.py, independent of the bot's SIP code), from the caller's own
process (bench/_phone_caller.py: a caller sharing the bot's event loop stalls with it), to the bot (SIP line +
real pipeline: VAD, whisper, dialog, piper; demo CRM; Redis call store) running in this process.
Every caller is a customer of the demo CRM with the demo caller's technician visit booked (2026-11-27 10:00)
under its own number, so a set's "move / cancel my visit" calls find one, as the sets' catalogue promises.
The caller takes turns like a person: it speaks once the greeting has ended, and after each sentence it waits
for the bot's answer (up to `--reply-secs`) and speaks again once the bot has been quiet `--gap-secs`.
It answers the bot's number read-back ("Did you say order 4 8 1 5 2?", an ask node with `confirm: uncertain`) as
a real caller would: it knows the bot's latest turn is a read-back from the live call record in Redis (the
turn's node is one the flow marks for confirmation and its text is that node's confirm_prompt;
bench/_readback.py, no English matching) and says "Yes." / "Tak." when the digits read back are its script's
number, else "No." / "Nie." and its number sentence again, in the same voice, speed and line noise; then it goes
on with its script. Asked for its number again right after a sentence with one (the bot's newest turn is at a
number question: "That's 4 digits, could you say all 5 again?"), it says that sentence again, at most twice a
call, as a caller on the phone would (its third time it goes on with the script).
A conversation with `keypad: true` is a caller who types numbers, as the product invites ("You can also type it
on the keypad"; the answer for Polish, whose digits whisper base mis-hears at 8 kHz): before each sentence it
looks at the live call's newest bot turn, and when that turn was said at an ask node of type digits (from the
flow data, bench/_keypad.py; no words of the prompt matched) and the sentence has a number, it types that
sentence's digits (voicebot.dialog.numbers.parse_digits of its script, never what the bot heard) as RFC 4733
telephone-events, 100 ms a key, instead of speaking it (the record shows `[DTMF 48152]`). Its other sentences,
and its number at any other question, are spoken as before. When the bot did not understand it and reads out its
keypad menu ("press 1 for order status, …", a say node's `keys_say`), that caller presses, once a call, the key
of what it called about: the intent the flow's NLU scores highest for its first sentence that is more than small
talk, as written (not as heard). Any caller asked the bot's guess about that ("Is it about when your appointment
is?", an intent's `guess`, asked once when the bot cannot make out a request) says "Yes." (bench/_guess.py); to a
wrong guess it goes on with its script (since phone_blind29; earlier sets' callers went on with the script to
every guess).
With `--orders-on-file` each caller's number has, in the demo CRM, the orders its script names (the bot offers
the latest: "Is it about order 4 8 1 5 2?"); the caller says its script's next sentence to that, as to any
question but a read-back. Without it (the default, and every set's published figure) no caller has orders on file.
Judged from the call record (Redis):
  routine     served = no transfer/callback; task done = every expected fact is in what the bot said
  escalation  caught = a transfer whose reason is the expected one, by the expected caller turn (<= 2; the
              caller turns in the record, answers to a read-back included); reached = a transfer or callback by
              that turn whatever its reason (the issue's "reach a person within 2 turns")
  WER         whisper's words against what the caller said (script and answers), per language (digits one
              by one); typed sentences and the record's DTMF entries are not in it
  keypad      per conversation: the keys typed, and the DTMF entries in the record
  read-backs  asked (bot turns in the record that read a number back), answered yes (the number read back
              was the script's) / no (it was not)
and a calibration table: ASR confidence of caller turns against whether the transcript was right
(turn WER <= 0.2), the evidence behind escalation.asr_confidence_min counting only for turns the bot
could not make sense of (voicebot/escalation/tracker.py).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import yaml

from bench._guess import goal_of, guess_questions
from bench._keypad import DTMF_TURN, keypad_menus, number_questions
from bench._readback import NO, YES, ReadBacks, script_number, templates
from bench._sip_caller import caller_number
from voicebot.config import Settings, load_settings
from voicebot.dialog.demo_crm import CRM_DATA, SAMPLE_APPOINTMENTS, SAMPLE_CUSTOMERS, SAMPLE_ORDERS
from voicebot.dialog.numbers import UNITS, parse_digits, tokens
from voicebot.dialog.text import fold
from voicebot.lines.sip import SipLine
from voicebot.pipeline.call import run_call
from voicebot.pipeline.models import SharedModels
from voicebot.pipeline.services import CallServices
from voicebot.store.calls import CallStore
from voicebot.store.keys import Keys

# The demo CRM's customer of each language: what every caller of that language is on file as.
_DEMO_CUSTOMER = {c["language"]: c for c in SAMPLE_CUSTOMERS.values()}

DATA = Path(__file__).parent / "data"
RATE = 8000
CONF_BUCKETS = (0.0, 0.3, 0.45, 0.6, 0.8, 1.01)
RIGHT_TURN_WER = 0.2


@dataclass
class Result:
    conv: dict
    served: bool = False  # no human
    task_done: bool = False
    caught: bool = False  # escalation: right reason within the turns
    reached: bool = False  # escalation: handed to a person within the turns, whatever the reason given
    transfer_reason: str = ""
    transfer_turn: int = 0
    outcome: str = ""
    heard: list[str] = field(default_factory=list)
    confidences: list[float] = field(default_factory=list)
    bot: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    said: list[str] = field(default_factory=list)  # what the caller said: its script and its answers, in order
    asked: list[str] = field(default_factory=list)  # digits of each number read-back in the call record
    # The read-backs the caller answered: (digits read back, digits in its script); equal = it said "yes".
    answered: list[tuple[str, str]] = field(default_factory=list)
    typed: list[str] = field(default_factory=list)  # the keys a keypad caller typed, one entry per sentence
    keyed: list[str] = field(default_factory=list)  # the record's DTMF caller turns ("[DTMF 48152]")
    repeated: int = 0  # number sentences the caller said again when asked for the number again
    menu: list[str] = field(default_factory=list)  # keypad menu keys pressed (a keypad caller not understood)
    guessed: list[tuple[str, str]] = field(default_factory=list)  # (intent the bot guessed, "yes" or "")
    dialog: list[str] = field(default_factory=list)  # the record's turns in order, "caller: …" / "bot: …"

    def __post_init__(self) -> None:
        self.said = self.said or list(self.conv["turns"])


# -- caller audio ------------------------------------------------------------------------------------
def speak(text: str, conv: dict, models: SharedModels, tmp: Path) -> np.ndarray:
    """The caller's sentence as 8 kHz int16: espeak-ng (voice, speed) or piper, resampled by sox."""
    if conv["voice"] == "piper":
        pcm = asyncio.run_coroutine_threadsafe(models.tts.synthesize(text, conv["language"], RATE),
                                               LOOP).result()
        return np.frombuffer(pcm, dtype="<i2").copy()
    wav, raw = tmp / "say.wav", tmp / "say.raw"
    subprocess.run(["espeak-ng", "-v", conv["voice"], "-s", str(conv.get("speed", 150)), "-w", str(wav), text],
                   check=True)
    subprocess.run(["sox", str(wav), "-r", str(RATE), "-c", "1", "-b", "16", "-e", "signed", "-t", "raw", str(raw)],
                   check=True)
    return np.frombuffer(raw.read_bytes(), dtype="<i2").copy()


def to_ulaw(pcm: np.ndarray, noise_dbfs: float | None, rng: np.random.Generator, tmp: Path) -> bytes:
    if noise_dbfs is not None:
        amp = 32768 * 10 ** (noise_dbfs / 20)
        pcm = np.clip(pcm.astype(np.float64) + rng.normal(0, amp, len(pcm)), -32768, 32767).astype("<i2")
    raw, ul = tmp / "line.raw", tmp / "line.ul"
    raw.write_bytes(pcm.astype("<i2").tobytes())
    subprocess.run(["sox", "-t", "raw", "-r", str(RATE), "-e", "signed", "-b", "16", "-c", "1", str(raw),
                    "-t", "ul", str(ul)], check=True)
    return ul.read_bytes()


def audio_for(conv: dict, models: SharedModels, tmp: Path, rng: np.random.Generator) -> dict[str, str]:
    """Everything this caller may say, in its voice and line, as 8 kHz mu-law files: its script, "Yes.", and
    "No." before each scripted sentence with a number (its answers to a read-back). Text -> file."""
    lang = conv["language"]
    texts = [*conv["turns"], YES[lang], NO[lang], *(f"{NO[lang]} {t}" for t in conv["turns"] if script_number([t]))]
    out: dict[str, str] = {}
    for i, text in enumerate(dict.fromkeys(texts)):
        path = tmp / f"say{i}.ul"
        path.write_bytes(to_ulaw(speak(text, conv, models, tmp), conv.get("noise"), rng, tmp))
        out[text] = str(path)
    return out


# -- judging -----------------------------------------------------------------------------------------
def words(text: str) -> list[str]:
    """Normalized words for WER: folded, digits one by one, single number words as digits."""
    out: list[str] = []
    for w in tokens(text):
        if w.isdigit():
            out.extend(w)
        elif w in UNITS and UNITS[w] < 10 and w not in ("o", "a", "i"):
            out.append(str(UNITS[w]))
        else:
            out.append(w)
    return out


def edits(ref: list[str], hyp: list[str]) -> int:
    d = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, d[0] = d[0], i
        for j, h in enumerate(hyp, 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (r != h))
    return d[-1]


async def judge(conv: dict, store: CallStore, call_id: str, read_backs: ReadBacks) -> Result:
    res = Result(conv)
    record = await store.get_call(call_id) or {}
    res.outcome = record.get("outcome", "")
    caller_turns = 0
    for t in await store.turns(call_id):
        res.dialog.append(f"{t.role}: {t.text}")
        if t.role == "caller" and t.text.startswith(DTMF_TURN):  # keys pressed: nothing for whisper to hear
            caller_turns += 1
            res.keyed.append(t.text)
        elif t.role == "caller":
            caller_turns += 1
            res.heard.append(t.text)
            res.confidences.append(t.asr_confidence if t.asr_confidence is not None else float("nan"))
        else:
            res.bot.append(t.text)
            if (digits := read_backs.digits(t, conv["language"])) is not None:
                res.asked.append(digits)
            if t.action in ("transfer", "callback") and not res.transfer_reason:
                res.transfer_reason, res.transfer_turn = t.reason or "", caller_turns
    said = fold(" ".join(res.bot))
    expect = conv.get("expect") or {}
    res.missing = [f for f in expect.get("facts", []) if fold(f) not in said]
    res.served = not res.transfer_reason
    res.task_done = res.served and not res.missing
    reasons = expect.get("reason") or []
    reasons = [reasons] if isinstance(reasons, str) else reasons
    res.reached = bool(res.transfer_reason) and 1 <= res.transfer_turn <= int(expect.get("within", 2))
    res.caught = res.reached and res.transfer_reason in reasons
    return res


# -- running -----------------------------------------------------------------------------------------
LOOP: asyncio.AbstractEventLoop


async def run_one(conv: dict, line: SipLine, store: CallStore, read_backs: ReadBacks, job: dict,
                  models: SharedModels, tmp: Path, rng: np.random.Generator) -> Result:
    """One conversation: the caller in its own process (bench/_phone_caller.py), judged from the record."""
    sub = tmp / conv["id"]
    sub.mkdir()
    audio = await asyncio.to_thread(audio_for, conv, models, sub, rng)
    job = {**job, "port": line.port, "language": conv["language"], "turns": conv["turns"], "audio": audio,
           "keypad": bool(conv.get("keypad")), "goal": job["goals"].get(conv["id"], "")}
    (sub / "job.json").write_text(json.dumps(job))
    number = caller_number(job["index"])
    caller = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench._phone_caller", str(sub / "job.json"), cwd=Path(__file__).parent.parent,
        stdout=asyncio.subprocess.PIPE)
    out, _ = await caller.communicate()
    said = json.loads(out or "{}")
    answered = [tuple(a) for a in said.get("answered", [])]
    typed = said.get("typed", [])
    # Calls may run side by side (--parallel): this conversation's call is the one from its caller's number.
    mine = None
    for _ in range(100):  # the line lets the call go shortly after the caller's BYE (at most ~20 s)
        if mine := next((info for info, _call in line.finished if info.caller_number.endswith(number)), None):
            break
        await asyncio.sleep(0.2)
    if mine is None:
        return Result(conv, outcome="no call record", said=said.get("said", []), answered=answered, typed=typed)
    await asyncio.sleep(0.5)  # the end of the call is written just after the line lets it go
    res = await judge(conv, store, mine.call_id, read_backs)
    # A caller that typed every sentence spoke none: its empty list of spoken sentences is the truth.
    res.said = said["said"] if "said" in said and (said["said"] or typed) else res.said
    res.answered, res.typed = answered, typed
    res.repeated = int(said.get("repeated", 0))
    res.menu = list(said.get("menu", []))
    res.guessed = [tuple(g) for g in said.get("guessed", [])]
    return res


def pct(n: int, d: int) -> str:
    return f"{n}/{d} ({100 * n / d:.0f}%)" if d else "-"


def read_backs_said(r: Result) -> str:
    """`48122 no, 48152 yes`: each read-back in the record, and the caller's answer (none: not answered)."""
    answers = iter(r.answered)
    out = []
    for digits in r.asked:
        got = next(answers, None)
        out.append(f"{digits} {('yes' if got[0] == got[1] else 'no') if got else 'not answered'}")
    return ", ".join(out)


def keypad_used(r: Result) -> str:
    """`48152 -> [DTMF 48152]`: the keys the caller typed, and the DTMF entries in the call record."""
    if not r.typed and not r.keyed:
        return ""
    return f"{', '.join(r.typed) or 'none typed'} -> {', '.join(r.keyed) or 'none in the record'}"


def read_back_table(results: Iterable[Result]) -> list[str]:
    """Per language: read-backs asked (the call records), answered yes (read back right) / no (wrong)."""
    lines = ["", "Number read-backs (\"Did you say order 4 8 1 5 2?\"): asked = in the call records; the caller "
             "answers yes when the digits read back are its script's number, else no and its number again.", "",
             "| language | calls with a read-back | read-backs asked | answered yes (right) | answered no (wrong) "
             "| those calls: tasks done |", "|---|---|---|---|---|---|"]
    for lang in ("en", "pl"):
        rs = [r for r in results if r.conv["language"] == lang]
        if not rs:
            continue
        asked = [r for r in rs if r.asked]
        routine = [r for r in asked if r.conv["kind"] == "routine"]
        right = sum(d == n for r in rs for d, n in r.answered)
        wrong = sum(d != n for r in rs for d, n in r.answered)
        lines.append(f"| {lang} | {len(asked)}/{len(rs)} | {sum(len(r.asked) for r in rs)} | {right} | {wrong} | "
                     f"{pct(sum(r.task_done for r in routine), len(routine))} |")
    return lines


def report(results: list[Result], title: str) -> str:
    lines = [f"## {title}", "", "| language | routine served | tasks done | escalations caught ≤2 turns | "
             "reached a person (any reason) | WER |", "|---|---|---|---|---|---|"]
    for lang in ("en", "pl"):
        rs = [r for r in results if r.conv["language"] == lang]
        if not rs:
            continue
        routine = [r for r in rs if r.conv["kind"] == "routine"]
        esc = [r for r in rs if r.conv["kind"] == "escalation"]
        ref = [w for r in rs for w in words(" ".join(r.said))]
        err = sum(edits(words(" ".join(r.said)), words(" ".join(r.heard))) for r in rs)
        lines.append(f"| {lang} | {pct(sum(r.served for r in routine), len(routine))} | "
                     f"{pct(sum(r.task_done for r in routine), len(routine))} | "
                     f"{pct(sum(r.caught for r in esc), len(esc))} | {pct(sum(r.reached for r in esc), len(esc))} | "
                     f"{err / max(1, len(ref)):.1%} |")
    if typed := [r for r in results if r.typed]:
        lines += ["", f"Keypad: {sum(len(r.typed) for r in typed)} number(s) typed instead of spoken in "
                  f"{len(typed)} call(s) (`keypad: true` callers at a number question); not in WER."]
    if guessed := [r for r in results if r.guessed]:
        yes = [r for r in guessed if any(a == "yes" for _, a in r.guessed)]
        lines += ["", f"Guesses: the bot asked its guess (\"Is it about …?\") in {len(guessed)} call(s); the caller "
                  f"answered yes (what it called about) in {len(yes)}"
                  f"{' (' + ', '.join(r.conv['id'] for r in yes) + ')' if yes else ''}."]
    if menu := [r for r in results if r.menu]:
        lines += ["", f"Keypad menu: {len(menu)} keypad caller(s) not understood pressed the menu's key for what they "
                  f"called about ({', '.join(r.conv['id'] + ' ' + '/'.join(r.menu) for r in menu)})."]
    if again := [r for r in results if r.repeated]:
        times, ids = sum(r.repeated for r in again), ", ".join(r.conv["id"] for r in again)
        lines += ["", f"Asked again for a number: the caller said its number sentence again {times} time(s) in "
                  f"{len(again)} call(s) ({ids})."]
    lines += read_back_table(results)
    lines += ["", "| conversation | voice | outcome | transfer | missing facts | read-backs | keypad | "
              "heard (ASR confidence) |", "|---|---|---|---|---|---|---|---|"]
    for r in results:
        c = r.conv
        heard = " / ".join(f"{h} ({conf:.2f})" for h, conf in zip(r.heard, r.confidences, strict=True))
        voice = f"{c['voice']} {c.get('speed', '')}{' noise ' + str(c['noise']) if c.get('noise') else ''}"
        ok = (r.task_done if c["kind"] == "routine" else r.caught)
        lines.append(f"| {c['id']} {'ok' if ok else 'FAIL'} | {voice} | {r.outcome} | "
                     f"{r.transfer_reason + ' @' + str(r.transfer_turn) if r.transfer_reason else '-'} | "
                     f"{', '.join(r.missing) or '-'} | {read_backs_said(r) or '-'} | {keypad_used(r) or '-'} | "
                     f"{heard} |")
    lines += ["", "Calibration: ASR confidence of caller turns (what the caller said, script and answers, and the "
              f"record aligned one to one) against a right transcript (turn WER ≤ {RIGHT_TURN_WER}):", "",
              "| ASR confidence | turns | right |",
              "|---|---|---|"]
    pairs = [(conf, edits(words(ref), words(hyp)) / max(1, len(words(ref))))
             for r in results if len(r.heard) == len(r.said)
             for ref, hyp, conf in zip(r.said, r.heard, r.confidences, strict=True)]
    for lo, hi in itertools.pairwise(CONF_BUCKETS):
        inside = [w for conf, w in pairs if lo <= conf < hi]
        lines.append(f"| {lo:.2f}–{min(hi, 1):.2f} | {len(inside)} | "
                     f"{pct(sum(w <= RIGHT_TURN_WER for w in inside), len(inside))} |")
    return "\n".join(lines) + "\n"


# The day every set's callers speak on (the blind sets' briefs say so): "Friday", "Monday the 30th" and "tomorrow"
# mean the same on every run. phone_blind32's en-r3 was judged on the machine's 2026-12-07, and its "Monday the
# 30th" became 14 December.
SCRIPTS_DAY = "2026-11-25T10:00"


def running_from(start: str, tz: ZoneInfo) -> Callable[[], datetime]:
    """A business clock that reads `start` (local time) when the bench starts and runs on in real time: the dialog's
    dates are the scripts', its timeouts still see time pass."""
    moment = datetime.fromisoformat(start).replace(tzinfo=tz)
    began = time.monotonic()
    return lambda: moment + timedelta(seconds=time.monotonic() - began)


async def main() -> int:
    global LOOP
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--set", default="dev", help="bench/data/phone_<set>.yaml (dev, blind)")
    ap.add_argument("--only", default="", help="comma-separated conversation ids")
    ap.add_argument("--reply-secs", type=float, default=14.0,
                    help="longest wait for the bot's answer to start after a sentence (default 14)")
    ap.add_argument("--gap-secs", type=float, default=1.5,
                    help="the caller speaks again once the bot has been quiet this long (default 1.5)")
    ap.add_argument("--seed", type=int, default=1, help="line-noise seed")
    ap.add_argument("--parallel", type=int, default=1,
                    help="conversations on the line at the same time (default 1; the report says how many)")
    ap.add_argument("--out", type=Path, help="also write the table (markdown) here")
    ap.add_argument("--dialog", action="store_true", help="print each call's turns, the bot's included")
    ap.add_argument("--now", default=SCRIPTS_DAY,
                    help=f"the business-local moment the bench's calls start; the clock runs on from there "
                         f"(default {SCRIPTS_DAY}: every set's callers speak on that Wednesday, 'Monday the 30th' "
                         f"is its next Monday); 'real': the machine's clock")
    ap.add_argument("--orders-on-file", action="store_true",
                    help="each caller's number has the demo orders its script names, as the customer's latest "
                         "(the bot offers that one; best case: everyone calls about their latest order from the "
                         "number on it). Default: no orders on file, the number is asked for")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    try:
        from loguru import logger  # pipecat logs through loguru: keep the bench output readable

        logger.remove()
        logger.add(sys.stderr, level="ERROR")
    except ImportError:
        pass
    from voicebot.dialog.crm_server import start_demo_crm
    from voicebot.dialog.loader import load_engine
    from voicebot.escalation.handoff import handoff_writer
    from voicebot.escalation.tracker import make_tracker
    from voicebot.store.connection import connect

    LOOP = asyncio.get_running_loop()
    convs = yaml.safe_load((DATA / f"phone_{args.set}.yaml").read_text())["conversations"]
    if args.only:
        wanted = set(args.only.split(","))
        convs = [c for c in convs if c["id"] in wanted]
    crm = await start_demo_crm()
    visit = next(iter(SAMPLE_APPOINTMENTS.values()))
    crm.runner.app[CRM_DATA].appointments.update({caller_number(i): visit for i in range(len(convs))})
    # ... and a customer on file under that number, so "send me a password reset link" has an account to text.
    crm.runner.app[CRM_DATA].customers.update({
        "".join(filter(str.isdigit, caller_number(i))): dict(_DEMO_CUSTOMER[c["language"]])
        for i, c in enumerate(convs)})
    if args.orders_on_file:
        crm.runner.app[CRM_DATA].customer_orders.update({
            "".join(filter(str.isdigit, caller_number(i))): mine for i, c in enumerate(convs)
            if (mine := [n for t in c["turns"] if (n := parse_digits(t)) in SAMPLE_ORDERS])})
    prefix = f"bench:phone:{os.getpid()}:"
    base = load_settings(environ={
        **os.environ, "VOICEBOT_SIP_PORT": "0", "VOICEBOT_REDIS_PREFIX": prefix,
        "VOICEBOT_DIALOG_CRM_URL": crm.url, "VOICEBOT_TTS_FALLBACK": "espeak-ng",
        "VOICEBOT_BUSINESS_HOURS_ALWAYS_OPEN": "true"})
    print(f"loading models ({base.models.whisper}, piper) ...", flush=True)
    models = await asyncio.to_thread(SharedModels.load, base)
    clock = None if args.now == "real" else running_from(args.now, ZoneInfo(base.business_hours.timezone))
    redis_url = base.redis.url or os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    client = connect(redis_url)
    store = CallStore(client, Keys(prefix))
    # What every caller process gets besides its conversation (bench/_phone_caller.py).
    job = {"redis_url": redis_url, "prefix": prefix, "reply_secs": args.reply_secs, "gap_secs": args.gap_secs}
    tmp = Path(tempfile.mkdtemp(prefix="bench-phone-"))
    results: list[Result] = []
    lines: dict[str, SipLine] = {}
    engines = []
    slots = asyncio.Semaphore(max(1, args.parallel))

    async def converse(index: int, conv: dict) -> Result:
        async with slots:
            started = time.monotonic()
            # Each conversation's line noise from its own seed: the same audio whatever runs beside it.
            rng = np.random.default_rng([args.seed, index])
            r = await run_one(conv, lines[conv["language"]], store, read_backs, {**job, "index": index},
                              models, tmp, rng)
            ok = r.task_done if conv["kind"] == "routine" else r.caught
            print(f"{conv['id']:8} {'ok  ' if ok else 'FAIL'} {time.monotonic() - started:4.0f}s "
                  f"{r.outcome:12} {r.transfer_reason or '-':16} read-backs: {read_backs_said(r) or '-'}; "
                  f"{'keypad: ' + keypad_used(r) + '; ' if keypad_used(r) else ''}"
                  f"heard: {' / '.join(r.heard)}", flush=True)
            if args.dialog:
                print("".join(f"    {line}\n" for line in r.dialog), end="", flush=True)
            return r

    try:
        for conv in convs:
            lang = conv["language"]
            if lang not in lines:
                settings: Settings = base.model_copy(update={
                    "dialog": base.dialog.model_copy(update={"default_language": lang})})
                # the escalation rules, as in production; the dialog on the scripts' day
                engines.append(load_engine(settings, make_tracker, clock=clock))
                if "prompts" not in job:  # every loaded flow's read-back prompts, for the callers and the judge
                    registry = engines[-1].registry
                    job["prompts"] = templates(loaded.flow for f in registry.flow_ids()
                                               for lg in registry.languages(f) if (loaded := registry.get(f, lg)))
                    read_backs = ReadBacks.from_templates(job["prompts"])
                    job["number_questions"] = number_questions(
                        loaded.flow for f in registry.flow_ids() for lg in registry.languages(f)
                        if (loaded := registry.get(f, lg)))
                    job["menus"] = keypad_menus(loaded.flow for f in registry.flow_ids()
                                                for lg in registry.languages(f) if (loaded := registry.get(f, lg)))
                    job["guesses"] = guess_questions(loaded.flow for f in registry.flow_ids()
                                                     for lg in registry.languages(f) if (loaded := registry.get(f, lg)))
                    job["goals"] = {}
                services = CallServices(settings=settings, models=models, dialog=engines[-1], store=store,
                                        write_handoff=handoff_writer(settings))
                lines[lang] = SipLine(settings, services, run_call)
                await lines[lang].start()
            if flow := engines[-1].registry.get(base.dialog.default_flow, lang):
                # What the caller called about: its first sentence beyond small talk as written, classified by the
                # flow's own NLU (the caller knows its goal; the bot hears the audio). Its menu key when not
                # understood (a keypad caller), its yes to the bot's guess about it.
                job["goals"][conv["id"]] = goal_of(conv["turns"], lambda t, nlu=flow.nlu: nlu.classify(t).best)
        results = list(await asyncio.gather(*(converse(i, conv) for i, conv in enumerate(convs))))
    finally:
        for line in lines.values():
            await line.stop()
        for engine in engines:
            await engine.close()
        keys = [k async for k in client.scan_iter(match=f"{prefix}*", count=500)]
        if keys:
            await client.delete(*keys)
        await client.aclose()
        await crm.stop()
        models.close()
    table = report(results, f"phone_{args.set} ({len(results)} calls, {max(1, args.parallel)} at a time, "
                            f"whisper {base.models.whisper}, beam {base.asr.beam_size}"
                            f"{', orders on file' if args.orders_on_file else ''}, calls on {args.now})")
    print(table)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
