"""bench/phone.py's scripted caller, run as its own process: `python -m bench._phone_caller JOB.json`.

Its own process, like a phone on the line: the bench runs the bot in its process, and a caller sharing the
bot's event loop stalls with it (measured: its 20 ms RTP packets went out up to 600 ms late under load, more
than the bot's jitter buffer absorbs), so the bot heard broken audio that no phone sends.

The job (written by bench/phone.py) names the bot's SIP port, the caller's index (its number), the script, the
8 kHz mu-law audio of everything the caller may say (its sentences, "Yes.", "No." + each number sentence), the
flows' read-back prompts, number questions and keypad menus, whether the caller uses the keypad (and what it
called about: the key it presses when the menu is read out), and the Redis prefix of the bot's call store. The
caller (bench/_sip_caller.py) takes turns; after each sentence it looks at its live call's
newest bot turn in Redis and answers a read-back (bench/_readback.py); a keypad caller also looks before each
sentence and types that sentence's number when the bot asks for one, and presses the menu's key for what it
called about when the bot, not understanding it, reads out its keypad menu (bench/_keypad.py). Asked about what it
called about by the bot's guess ("Is it about when your appointment is?"), it says "Yes." (bench/_guess.py).
Asked for its number again right after saying it ("That's 4 digits, could you say all 5 again?": the bot's newest
turn is at a number question, bench/_keypad.py's test), it says that sentence again, at most `MAX_REPEATS` times
a call, as a caller on the phone would rather than going on as if it had been heard. It prints one JSON line:
{"said": [spoken sentences], "typed": [keys], "answered": [[read back, script number], ...], "repeated": n,
"menu": [menu keys pressed], "guessed": [[guessed intent, "yes" or ""], ...]}.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import redis.asyncio as aioredis

from bench._guess import Guesses
from bench._keypad import Keypad, Menus, number_of
from bench._readback import YES, ReadBacks, answer, own_number
from bench._sip_caller import BenchCall, Sentence
from voicebot.store.calls import TurnRecord
from voicebot.store.connection import connect
from voicebot.store.keys import Keys

MAX_REPEATS = 2  # a caller asked for its number a third time gives up on it (the script goes on)
# A sentence gives a number to say again when it has this many digits: "Yes, two payments on my card" has none
# to give (phone_blind13 en-e3 said it three times to the order-number question).
MIN_NUMBER_DIGITS = 3
MENU_CHOICE = "(keypad menu)"  # the "sentence" of a menu key pressed: no words, no number of the caller's


class ScriptedCaller:
    """Answers the bot's number read-backs as a real caller would, then goes on with its script.

    After each of its sentences (once the bot has answered and gone quiet) it looks at the live call's newest
    bot turn in Redis; a read-back gets "Yes." when the digits equal its script's number, else "No." and its
    number sentence again; asked for the number again right after a sentence with one, it says that sentence
    again. Each bot turn is looked at once. With a keypad, a sentence with a number is typed instead of spoken
    when the bot's newest turn asks for a number."""

    def __init__(self, language: str, sentences: dict[str, Sentence], client: aioredis.Redis, keys: Keys,
                 read_backs: ReadBacks, number: str, questions: Keypad, keypad: Keypad | None = None,
                 menus: Menus | None = None, goal: str = "", plan: list[str] | None = None,
                 guesses: Guesses | None = None) -> None:
        self.language, self.sentences = language, sentences
        self.plan = plan or []  # the whole script: its number, before the caller has said it
        self.client, self.keys = client, keys
        self.read_backs = read_backs
        self.questions = questions  # the flows' number questions (whether a keypad is used or not)
        self.keypad = keypad
        self.menus, self.goal = menus, goal  # a keypad caller presses its goal's key when the menu is read out
        self.menu_keys: list[str] = []
        self.guesses = guesses  # the flows' guess questions: a right guess gets a yes
        self.guessed: list[tuple[str, str]] = []  # (intent the bot guessed, "yes" or "" = went on with the script)
        self.number = number  # the caller number it dials from: finds its live call
        self.script: list[str] = []  # every sentence, spoken or typed: its number is the one to confirm
        self.said: list[str] = []  # spoken: what whisper heard is judged against these
        self.typed: list[str] = []
        self.answered: list[tuple[str, str]] = []
        self.repeated = 0  # sentences said again because the bot asked for the number again
        self._seen = 0  # turns of the call already looked at

    async def _turns(self) -> list[TurnRecord]:
        for call_id in await self.client.smembers(self.keys.calls_live):
            if await self.client.hget(self.keys.call(call_id), "caller_number") == self.number:
                entries = await self.client.xrange(self.keys.turns(call_id))
                return [TurnRecord.from_fields(fields) for _, fields in entries]
        return []

    async def choose(self, sentence: Sentence) -> Sentence:
        if self.keypad is None:
            return sentence
        latest = next((t for t in reversed(await self._turns()) if t.role == "bot"), None)
        keys = self.keypad.keys(latest, self.language, sentence.text)
        return Sentence.keypad(sentence.text, keys) if keys else sentence

    async def react(self, said: Sentence) -> list[Sentence]:
        if said.text == MENU_CHOICE:
            self.menu_keys.append(said.keys)
        elif said.keys:
            self.script.append(said.text)
            self.typed.append(said.keys)
        else:
            self.script.append(said.text)
            self.said.append(said.text)
        turns = await self._turns()
        latest = next((t for t in reversed(turns[self._seen:]) if t.role == "bot"), None)
        self._seen = len(turns)
        digits = self.read_backs.digits(latest, self.language) if latest else None
        if digits is None:
            if self.guesses is not None and (guessed := self.guesses.intent(latest, self.language)) is not None:
                right = bool(self.goal) and guessed == self.goal
                self.guessed.append((guessed, "yes" if right else ""))
                if right:
                    return [self.sentences[YES[self.language]]]
            if self.keypad is not None and self.menus is not None and not self.menu_keys \
                    and (key := self.menus.key(latest, self.language, self.goal)):
                return [Sentence.keypad(MENU_CHOICE, key)]  # not understood: the menu's key, then its script
            if said.keys or len(number_of(said.text)) < MIN_NUMBER_DIGITS or self.repeated >= MAX_REPEATS \
                    or not self.questions.accepts(latest, self.language):
                return []
            self.repeated += 1
            return [said]
        _right, text = answer(digits, self.script, self.language, self.plan)
        self.answered.append((digits, own_number(self.script, self.plan)))
        return [self.sentences[text]]


async def run(job: dict, sentences: dict[str, Sentence]) -> dict:
    client = connect(job["redis_url"])
    try:
        questions = Keypad.from_names(job["number_questions"])
        call = BenchCall(job["index"], "127.0.0.1", job["port"], [sentences[t] for t in job["turns"]],
                         start_delay_s=0, answer_timeout_s=job["reply_secs"], gap_s=job["gap_secs"])
        caller = ScriptedCaller(job["language"], sentences, client, Keys(job["prefix"]),
                                ReadBacks.from_templates(job["prompts"]), call.caller_number,
                                questions, questions if job.get("keypad") else None,
                                Menus.from_data(job.get("menus", {})), job.get("goal", ""), job["turns"],
                                Guesses(job.get("guesses", {})))
        call.react, call.choose = caller.react, caller.choose
        try:
            await asyncio.wait_for(call.run(), job.get("timeout_s", 300))
        except TimeoutError:  # the call record says what happened; the answers so far are still reported
            print(f"caller {job['index']}: call still up after {job.get('timeout_s', 300)} s", file=sys.stderr)
    finally:
        await client.aclose()
    return {"said": caller.said, "typed": caller.typed, "answered": caller.answered,
            "repeated": caller.repeated, "menu": caller.menu_keys, "guessed": caller.guessed}


if __name__ == "__main__":
    job = json.loads(Path(sys.argv[1]).read_text())
    sentences = {text: Sentence.from_ulaw(text, Path(path).read_bytes()) for text, path in job["audio"].items()}
    print(json.dumps(asyncio.run(run(job, sentences))), flush=True)
