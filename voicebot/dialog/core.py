"""The dialog as a pure function: `step(state, event) -> (state, effects)`.

No I/O and no clock: events carry their time, and the NLU result arrives already computed in `Heard`,
so a conversation replays identically in tests. The async session (`session.py`) runs the effects
(webhooks) and feeds their results back as `ActionResult` events.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from voicebot.dialog import callback_capture, templates
from voicebot.dialog import slots as slot_values
from voicebot.dialog.datetimes import say_datetime
from voicebot.dialog.hours import BusinessHours
from voicebot.dialog.numbers import mostly_digits, number_only, parse_digits, self_corrected, tokens, trailing_digits
from voicebot.dialog.schema import (
    GLOBAL_INTENTS,
    SMALL_TALK_INTENTS,
    ActionNode,
    AskNode,
    BranchNode,
    CallbackNode,
    Condition,
    EndNode,
    Flow,
    SayNode,
    Text,
    TransferNode,
    YesNoNode,
)
from voicebot.dialog.text import without_clauses

PREFILL_TYPES = ("digits", "number", "date", "time")  # what a caller may say before being asked
FREE_TEXT_SWITCH = 0.7  # NLU confidence above which a free-text answer is read as a new request instead
MIN_BEGUN_DIGITS = 2  # a request ending on this many digits began its number ("order 55"; not "order one")
MAX_CHAIN = 50  # nodes entered in one step; more means a loop of non-listening nodes
# A turn of a day with no time at a time question is that day unless it is longer than this and clearly a new
# request ("no, cancel it, Monday is no good").
DAY_ONLY_WORDS = 4
SHORT_TURN_WORDS = 2  # a turn this short leaves an open question only when the classifier is sure (FREE_TEXT_SWITCH)
EARLY_BYE_WORDS = 2  # a "goodbye" this short before any request is confirmed, not obeyed
# A "goodbye" heard with less ASR confidence is confirmed, not obeyed: on phone audio fewer than half of such
# transcripts are right (bench/results/phone.md calibration), and hanging up on a caller is the worst mistake.
GOODBYE_ASR_MIN = 0.45
# An answer heard with less ASR confidence does not leave an open question for another task the first time: on the
# phone lines of bench/phone.py not one caller turn scored under 0.45 was transcribed right (0 of 36, the
# calibration tables of bench/results/phone_blind2..8.md), and a wrong switch drops the task the caller is in the
# middle of ("Thursday at two in the afternoon" heard as "Turn back to the afternoon", a return). Asked again
# instead; the same request on the next turn is taken (the caller insists).
SWITCH_ASR_MIN = 0.45
# A turn the classifier took for a request we do not handle, heard with less ASR confidence, is words the line
# garbled ("It's not in Nierloca won Nierloca.", 0.34, phone_blind24 en-r7), not a foreign request: "Sorry, I didn't
# catch that" and the keypad menu, never "I can't help with that here" to a caller whose request we may well handle.
# Same calibration as SWITCH_ASR_MIN (no caller turn under 0.45 transcribed right on the bench's phone lines).
OUT_OF_SCOPE_ASR_MIN = 0.45
# An unsure classification at an open question whose best intent has a `guess` question ("Is it about an order?") is
# asked about from this score on (once a call) instead of "Sorry, I didn't catch that". Of the first turns of
# bench/results/phone_blind*.md that the classifier could not take (English), those with a routine best guess from
# 0.2 up were mostly right (order status 0.21-0.45 in five calls, a booking at 0.27, a return at 0.38); under 0.2
# they were noise.
GUESS_MIN = 0.2
GUESS_YES_DIGITS = 3  # a yes to the guess with this many digits after it gives the number ("yes, 4 8 1 5 2")
# Unclear turns from a served caller at a `closing` node ("anything else?"): asked about this many times, then the
# polite close. One re-ask: a caller with a new request says it again; one who said goodbye is not kept on the line.
CLOSING_REASKS = 1
ANYWHERE = GLOBAL_INTENTS + SMALL_TALK_INTENTS  # understood at every listening node


# -- events ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Start:
    at: datetime


@dataclass(frozen=True)
class Heard:
    text: str
    intent: str | None  # None: out of scope / not confident
    confidence: float
    at: datetime
    alternatives: tuple[str, ...] = ()  # other likely transcripts (ASR n-best), best first
    asr_confidence: float | None = None  # None: typed text
    out_of_scope: bool = False  # the classifier recognised a request the bot does not handle
    best: str | None = None  # the classifier's best in-scope intent, also when unsure (intent None)
    barge_in: bool = False  # said over the bot; after the goodbye: the line stayed up to hear it


@dataclass(frozen=True)
class KeysPressed:
    digits: str
    at: datetime
    barge_in: bool = False  # after the goodbye: pressed over it, and the line stayed up (as Heard.barge_in)


@dataclass(frozen=True)
class ActionResult:
    node: str
    ok: bool
    at: datetime
    status: int | None = None
    data: Any = None
    error: str = ""


@dataclass(frozen=True)
class Escalate:
    reason: str
    at: datetime


@dataclass(frozen=True)
class NoInput:
    """Nothing usable from the caller: silence past the no-input timer, or (`noise`) sound without words."""

    at: datetime
    noise: bool = False


Event = Start | Heard | KeysPressed | ActionResult | Escalate | NoInput


# -- effects -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Say:
    text: str


@dataclass(frozen=True)
class RunAction:
    node: str
    action: str
    context: dict[str, Any]  # template variables for the URL/body


@dataclass(frozen=True)
class Transfer:
    reason: str


@dataclass(frozen=True)
class Callback:
    reason: str
    topic: str
    due: datetime | None
    number: str = ""  # the number the caller gave for the callback ("" = the one they called from)


@dataclass(frozen=True)
class End:
    reason: str


Effect = Say | RunAction | Transfer | Callback | End


@dataclass
class DialogState:
    node: str | None = None
    slots: dict[str, Any] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)  # action result variable -> response JSON
    verified: dict[str, bool] = field(default_factory=dict)  # facts the CRM confirmed (for the handoff)
    intents: list[str] = field(default_factory=list)
    attempts: int = 0  # unusable caller turns at the current node
    silences: int = 0  # no-input turns in a row at the current node (silence or noise)
    visits: dict[str, int] = field(default_factory=dict)  # prompts said per node, to vary the wording
    last_prompt: str = ""
    reason: str | None = None  # why we are heading to the handoff
    finished: bool = False
    no_match: bool = False  # the last caller turn could not be used
    holding: bool = False  # the caller asked us to wait ("one moment"); cleared by their next turn
    variables: dict[str, Any] = field(default_factory=dict)  # built-ins bound by the session
    partial: dict[str, str] = field(default_factory=dict)  # slot -> digits heard so far, too few to use
    served: bool = False  # the caller got something they asked for (an answer, an action done)
    confirm_end: bool = False  # we asked "did you want to end the call?" after an early lone "bye"
    # Post-call survey (settings.survey): "" not asked, "asked" while its questions run, "declined" ("no", a
    # goodbye or silence at a question), "left" (the caller asked for something else), "done" (its end reached).
    survey: str = ""
    unconfirmed: str | None = None  # a number we asked "did you say ...?" about, at the current ask node
    ended: bool = False  # finished by the flow's goodbye (not a transfer): the caller may still talk over it
    doubted: str | None = None  # a new request heard unclearly at an open question, asked again (SWITCH_ASR_MIN)
    guessed: str | None = None  # the intent we asked "is it about ...?" of (IntentDef.guess), for the next turn


# (transfer reason, the caller's last intent, when) -> is a human line for it staffed then?
Staffed = Callable[[str | None, str | None, datetime], bool]


class FlowMachine:
    """One flow version's rules. Immutable; shared by every call on that version."""

    def __init__(self, flow: Flow, hours: BusinessHours, staffed: Staffed | None = None) -> None:
        self.flow = flow
        self.hours = hours
        # A skill's human line with hours wider than `hours` (e.g. payments around the clock) takes callers
        # after hours too: asked before a transfer turns into a callback (voicebot/escalation/routing.py).
        self.staffed = staffed
        m = flow.messages
        self.nodes: dict[str, Any] = {
            "handoff": TransferNode(kind="transfer", say=m.handoff, reason="handoff"),
            "callback": CallbackNode(kind="callback", say=m.callback_offer),
            "goodbye": EndNode(kind="end", say=m.goodbye),
            **callback_capture.nodes(m),
            **flow.nodes,
        }
        # The capture's entry is the built-in callback node; a flow's own `callback` node replaces the capture.
        self.capture = callback_capture.CONFIRM in self.nodes and callback_capture.ENTRY not in flow.nodes
        self.slot_types = {n.slot: n.type for n in self.nodes.values() if isinstance(n, AskNode)}
        lang = flow.language
        self.filters: templates.Filters = {
            kind: (lambda value, kind=kind: slot_values.spoken(kind, str(value), lang)) for kind in templates.FILTERS
        }

    # -- public ------------------------------------------------------------------------------------
    def step(self, state: DialogState, event: Event) -> tuple[DialogState, list[Effect]]:
        st = copy.deepcopy(state)
        fx: list[Effect] = []
        st.no_match = False
        if isinstance(event, Heard | KeysPressed):
            st.holding = False
        if isinstance(event, Start):
            fx.append(Say(self._text(st, self.flow.greeting, "__greeting__")))
            self._goto(st, fx, self.flow.start, event.at)
        elif st.finished and st.ended and isinstance(event, Heard | KeysPressed) and event.barge_in:
            # The caller spoke (or pressed a key: 0 for a person) over the goodbye, so the line did not hang up on
            # them: listen on, at the "anything else?" question (or the start), and answer them there. Typed
            # turns after the end do not restart a call.
            st.finished, st.ended, st.reason = False, False, None
            st.node = self.flow.settings.after_answer or self.flow.start
            st.attempts = st.silences = 0
            return self.step(st, event)
        elif st.finished:
            fx.append(End(st.reason or "finished"))
        elif isinstance(event, Escalate):
            st.reason = event.reason
            if self.capture and callback_capture.capturing(st.node):
                # Already taking a callback request (the person is what the caller asked for): the
                # escalation changes nothing, the capture's question stands.
                fx.append(Say(st.last_prompt))
            else:
                self._goto(st, fx, "handoff", event.at)
        elif isinstance(event, ActionResult):
            self._on_result(st, fx, event)
        elif isinstance(event, NoInput):
            st.confirm_end = False  # what is asked again is the node's question, not "end the call?"
            self._no_input(st, fx, event)
        elif isinstance(event, KeysPressed):
            st.silences = 0
            self._on_keys(st, fx, event)
        else:
            st.silences = 0
            self._on_heard(st, fx, event)
        return st, fx

    def hints(self, st: DialogState) -> str:
        """What the caller is likely to say next, for speech recognition (the listening node's vocabulary)."""
        node = self.nodes.get(st.node or "")
        yes_no = self.flow.settings.yes_no_hints
        if isinstance(node, AskNode):
            # A read-back ("Did you say order 4 8 1 5 2?") is answered with a yes or no (or the number again).
            return " ".join(filter(None, (node.hints, yes_no))) if st.unconfirmed is not None else node.hints
        if isinstance(node, YesNoNode):
            return " ".join(filter(None, (self.flow.settings.hints if node.hints is None else node.hints, yes_no)))
        if isinstance(node, SayNode):
            return self.flow.settings.hints if node.hints is None else node.hints
        return ""

    def no_input_secs(self, st: DialogState) -> float | None:
        """How long the current node waits in silence before asking again (None: the config's default).

        Not the node's own wait at its read-back ("Did you say order 4 8 1 5 2?"): a node may give callers time to
        look for the number, but a yes or no needs none, and a short "yes" the line lost must not cost them 12 s
        of silence (phone_blind7 en-c8)."""
        node = self.nodes.get(st.node or "")
        own = None if st.unconfirmed is not None else getattr(node, "no_input_secs", None)
        return own or self.flow.settings.no_input_secs

    def closing(self, st: DialogState) -> bool:
        """The caller's next turn comes at a `closing` node after the bot served them: their task is done, so
        unclear words there end the call politely (CLOSING_REASKS) and are not grounds for a transfer. After the
        goodbye, a caller talking over it is heard at the "anything else?" question (see step)."""
        name = (self.flow.settings.after_answer or self.flow.start) if st.finished and st.ended else st.node
        return st.served and bool(getattr(self.nodes.get(name or ""), "closing", False))

    def context(self, st: DialogState) -> dict[str, Any]:
        lang = self.flow.language
        ctx: dict[str, Any] = dict(st.variables)
        for name, var in self.flow.variables.items():
            ctx[name] = var.values.get(str(st.variables.get(var.source, "")).lower(), "")
        for name, value in st.slots.items():
            ctx[name] = slot_values.spoken(self.slot_types.get(name, ""), value, lang)
        ctx["slots"] = dict(st.slots)  # raw values (ISO dates, digit strings) for URLs and bodies
        ctx.update(st.results)
        return ctx

    # -- caller turns --------------------------------------------------------------------------------
    def _on_heard(self, st: DialogState, fx: list[Effect], ev: Heard) -> None:
        node = self.nodes.get(st.node or "")
        doubted, st.doubted = st.doubted, None  # a doubted request counts only on the very next turn
        guessed, st.guessed = st.guessed, None  # so does our guess at an unclear request
        if guessed and isinstance(node, SayNode) and self._took_guess(st, fx, node, ev, guessed):
            return None
        if st.confirm_end:
            st.confirm_end = False
            answer = self._yes_or_no(ev)
            if answer is True:
                return self._global(st, fx, "goodbye", ev.at)
            if answer is False:
                fx.append(Say(st.last_prompt))
                return None
            # Anything else: the caller went on with what they called about. Mumbling that sounds like a goodbye
            # again is not the yes we asked for (phone_blind25 en-r4: "That's well, 34 I'm...", 0.21, hung up on
            # a caller saying their order number): heard as nothing in particular.
            if ev.intent == "goodbye" and self._unclear_goodbye(st, ev):
                ev = replace(ev, intent=None)
        elif ev.intent == "goodbye" and self._unclear_goodbye(st, ev):
            # On a phone line "Hi, I would like..." cut after one word is heard as "Bye.", and mumbling can look
            # like a goodbye: never hang up on it. Unclear, so a no-match for escalation.
            st.no_match = True
            st.confirm_end = self.flow.messages.confirm_end is not None
            confirm = self._text(st, self.flow.messages.confirm_end, "__confirm_end__")
            fx.append(Say(confirm or st.last_prompt))
            return None
        if isinstance(node, AskNode) and st.unconfirmed is not None:
            return self._on_confirm(st, fx, node, ev)
        if isinstance(node, AskNode):
            value = slot_values.extract(node, ev.text, self.hours.local(ev.at).replace(tzinfo=None),
                                       self.flow.language)
            if ev.intent == "talk_to_human":
                return self._global(st, fx, ev.intent, ev.at)
            if value is not None and node.type == "digits" and self._reported_trouble(ev) \
                    and not mostly_digits(ev.text) and self._switch(st, fx, str(ev.intent), ev.text, ev.at):
                # "pobraliście mi dwa razy, z karty zeszło … prawie trzy tysiące" to "the order number again,
                # please": a double charge (payment_problem 0.88) whose number words the parser read as 2 3 0 0 0,
                # not found, asked again, never handed over (escalation_blind31 pl-p05). A sure trouble report in a
                # sentence that is not mostly digits is the report.
                return None
            if st.survey == "asked" and value is None and (
                    ev.intent in ("deny", "goodbye") or slot_values.yes_no(ev.text, self.flow.language) is False):
                return self._end_survey(st, fx, ev.at)  # "no thanks": not asked again, goodbye at once
            guessed = False  # the value is not simply what the best transcript says
            if value is None and node.type in PREFILL_TYPES:
                # The best transcript does not fit ("4 8 1 2" for five digits): the first one that does.
                local = self.hours.local(ev.at).replace(tzinfo=None)
                value = next((v for alt in ev.alternatives
                              if (v := slot_values.extract(node, alt, local, self.flow.language)) is not None), None)
                guessed = value is not None
            if value is None and node.date_slot and not (ev.intent and self._clear_new_request(ev)
                                                         and len(tokens(ev.text)) > DAY_ONLY_WORDS) \
                    and (day := slot_values.date_with_time(ev.text, self.hours.local(ev.at).replace(tzinfo=None))):
                # "The 30th." to "and at what time?": the day again (or another one), not a new request (read as a
                # fault report 0.67 and sent to technical support, phone_blind22 en-r4). The day is kept and the
                # time asked for it; understood, so not a no-match for escalation.
                st.slots[node.date_slot] = day
                self._no_match(st, fx, ev.at)
                st.no_match = False
                return None
            if value is None and node.type == "digits":
                value = slot_values.completed_digits(node, st.partial.get(node.slot, ""), ev.text)
                # Digits kept from the request itself were never said back to the caller: read the whole back.
                guessed = guessed or (value is not None and st.visits.pop(f"__begun__{node.slot}", 0) > 0)
            if value is None and node.type == "digits":
                value = next((v for alt in (ev.text, *ev.alternatives)
                              if (v := slot_values.soundalike_digits(alt, node)) is not None), None)
                guessed = guessed or value is not None
            if value is None and node.type == "yes_no" and ev.intent in ("affirm", "deny"):
                value = ev.intent == "affirm"  # "sure", "no dobra": the yes/no words the parser lacks
            if value is None and node.type in PREFILL_TYPES and not st.visits.get(f"__go_ahead__{node.slot}") \
                    and slot_values.bare_yes_no(ev.text, self.flow.language) is True:
                # A bare "yes" to "what is your order number?": the caller's "Yes, …" was cut at its comma and
                # the digits are on their way, or they wait to be asked. Ask once more; no failed answer.
                st.visits[f"__go_ahead__{node.slot}"] = 1
                fx.append(Say(st.last_prompt))
                return None
            if value is None and node.accept and slot_values.yes_no(ev.text, self.flow.language) is True:
                # "Yes, that works for me" to "at what time? We have slots from 9 to 4": the time the flow offers
                # (phone_blind19 en-r6, blind21 en-r5 lost "around eleven" on the line and heard the time asked
                # again, then went to a person). A bare "yes" above is asked once more first.
                return self._fill(st, fx, node, node.accept, ev.at, ev.text)
            if value is None and node.on_no is not None and self._declined(node, ev):
                return self._goto(st, fx, node.on_no, ev.at)  # "no, leave it": not asked again
            if value is None and self._asks_for_help(st, node, ev):
                # "How do I do that?" to "what is the number of the order you want to return?" (phone_blind26
                # en-r8, then handed over as not understood): where to find the number and how the task goes, once.
                # A how-question was understood: not a no-match. "I don't have it" still is one: where to find it
                # is said, but a caller who has no answer after that reaches a person at the next miss
                # (escalation_blind9 en-p11, a confused caller); a second time is a failed answer, as below.
                fx.append(Say(self._text(st, node.help, self._help_said_key(st))))
                st.no_match = slot_values.cannot_answer(ev.text)
                return None
            if value is None and node.type in PREFILL_TYPES and (slot_values.cannot_answer(ev.text) or (
                    ev.intent == "help" and st.visits.get(self._help_said_key(st)))):
                # "I don't have the number": not a new topic. Nor, once the node's help was said, "I don't understand
                # any of this": the global help menu again would keep a lost caller from a person (a failed answer).
                return self._no_match(st, fx, ev.at)
            if value is not None and node.type != "free_text":
                st.partial.pop(node.slot, None)
                if self._needs_confirm(node, ev, guessed):
                    return self._ask_confirm(st, fx, str(value))
                return self._fill(st, fx, node, value, ev.at, ev.text,
                                  answer=self._said_instead(ev) if value is False else None)
            if ev.intent in ANYWHERE and not (node.type == "digits" and parse_digits(ev.text)):
                # At a number question a turn with digits in it is the caller's go at the number, whatever its
                # other words sound like ("That's well, 34 I'm...", goodbye 0.76): asked again below, not obeyed.
                return self._global(st, fx, ev.intent, ev.at)
            if node.type == "free_text" and value is not None:
                # Free text takes anything, except a clear new request ("when are you open?").
                if ev.intent and ev.confidence >= FREE_TEXT_SWITCH and self._switch(st, fx, ev.intent, ev.text, ev.at):
                    return None
                return self._fill(st, fx, node, value, ev.at, ev.text)
            # Not the menu here: "one two three" for a five-digit number is a bad answer, not another topic; a
            # turn of digits wins over what its other few words sound like ("to jest 4 8 1 2" read as a complaint),
            # and so does a turn with a digit in it that no intent is sure of (whisper's "I'm, I'm, I'm Hero One."
            # for "nine oh two one oh" on an 8 kHz line, complaint 0.47: asked again, not sent to complaints).
            heard = parse_digits(ev.text) if node.type == "digits" else ""
            numberish = heard and (mostly_digits(ev.text) or ev.confidence < FREE_TEXT_SWITCH)
            if ev.intent and not numberish and self._clear_new_request(ev) \
                    and not self._doubt_switch(st, ev, doubted) and self._switch(st, fx, ev.intent, ev.text, ev.at):
                return None
            if heard:
                self._no_match(st, fx, ev.at, reask=self._wrong_length(st, node, heard))
                # It counts toward the node's attempts, but the caller was understood (a number, a digit short):
                # not a no-match for escalation, and what the classifier made of it does not matter.
                st.no_match = False
                return None
            return self._no_match(st, fx, ev.at)
        if isinstance(node, YesNoNode):
            return self._on_yes_no(st, fx, node, ev, doubted)
        if isinstance(node, SayNode):
            # A bare order number at the menu: its status, not "I can't help with that". Also with a "sure" or
            # "hi" before it ("Be sure, it's 48.15.2.", phone_blind19 en-r1), which the classifier takes for a yes.
            if (ev.intent is None or ev.intent in SMALL_TALK_INTENTS) and node.number_intent \
                    and number_only(ev.text) and self._switch(
                        st, fx, node.number_intent, ev.text, ev.at, routes=node.routes):
                return None
            if ev.intent in ANYWHERE and ev.intent not in node.routes:
                return self._global(st, fx, ev.intent, ev.at)
            if ev.intent and self._switch(st, fx, ev.intent, ev.text, ev.at, routes=node.routes):
                return None
            if self._guess(st, fx, ev):
                return None
            return self._no_match(st, fx, ev.at, out_of_scope=self._foreign(ev))
        # Not listening (should not happen while an action runs): keep the caller informed.
        fx.append(Say(st.last_prompt))
        return None

    def _on_yes_no(self, st: DialogState, fx: list[Effect], node: YesNoNode, ev: Heard,
                   doubted: str | None = None) -> None:
        """The answer to a yes/no question, unless the caller clearly asks for something else instead."""
        value = slot_values.yes_no(ev.text, self.flow.language)
        if ev.intent == "talk_to_human" and "talk_to_human" not in node.routes:
            return self._global(st, fx, ev.intent, ev.at)
        chosen = self.nodes.get(node.on_yes)
        offered = str(self._known(st, chosen) or "") if isinstance(chosen, AskNode) and chosen.type == "digits" else ""
        if offered and len(said := parse_digits(ev.text)) == len(offered):
            # "Is it about order 4 8 1 5 2?" answered with a number: that one is a yes ("the order number is
            # 48152"), another one a no with the number to use instead.
            st.intents.append("affirm" if said == offered else "deny")
            if said == offered:
                return self._goto(st, fx, node.on_yes, ev.at)
            return self._goto(st, fx, node.on_no, ev.at, trigger=said)
        if node.closing and ev.intent in (None, "goodbye", "repeat", *SMALL_TALK_INTENTS) \
                and slot_values.asks_more(ev.text):
            # "ok thanks, and one more thing" to "anything else?": a yes, never the goodbye the thank-you sounds
            # like (escalation_blind23 en-p16 was hung up on).
            st.intents.append("affirm")
            return self._goto(st, fx, node.on_yes, ev.at)
        if st.node == self.flow.settings.after_answer and slot_values.approves(ev.text) \
                and "thanks" in self.flow.intents:
            # "Perfect." after the answer: a thank-you (the classifier heard a product in it, about_product), not a
            # yes to "anything else?" and not a new request.
            return self._global(st, fx, "thanks", ev.at)
        # "no, I'd like to send something back" is a return; a bare "yes" is an answer.
        request = ev.intent is not None and ev.intent not in ANYWHERE
        said_more = len(ev.text.split()) > 3  # more than a yes/no phrase: the rest is the request
        # A plain yes or no to a read-back wins over the topic words that echo it ("yes that's my address all
        # good", "to nie jest mój numer"); after "anything else?" the words after a yes are the new request.
        answered = st.node != self.flow.settings.after_answer and slot_values.clear_answer(ev.text, self.flow.language)
        # After a task is done ("anything else?"), a new task heard with a low ASR score is asked about first, as at
        # an open question: "Yes please, send me the reset link" cut in two, its tail heard "Send me my request,
        # links." (0.24) was taken for a return and the served caller went to a person (phone_blind23 en-r7).
        if request and not answered and (value is None or said_more or ev.confidence >= FREE_TEXT_SWITCH) \
                and not (node.closing and self._doubt_switch(st, ev, doubted)) \
                and self._switch(st, fx, str(ev.intent), ev.text, ev.at, routes=node.routes):
            return None
        if value is False and ev.intent is None and said_more and not answered \
                and not slot_values.answers_first(ev.text) and not slot_values.declines(ev.text):
            value = None  # "to mi nic nie mówi, …": a sentence with a negated verb is no "no" (no hang-up on it)
        if value is False and ev.intent is None and st.node == self.flow.settings.after_answer \
                and not slot_values.declines(ev.text) and slot_values.says_more_than_no(ev.text):
            value = None  # "nie, na końcu jest jedynka…" to "anything else?": a correction, never a goodbye
        closing = ev.intent in ("goodbye", "thanks")
        # More than a yes and a thank-you, even in three words ("dobra, sprawdzę, dzięki"): the rest is the news.
        not_bare = said_more or slot_values.bare_yes_no(ev.text, self.flow.language) is None
        if value is True and closing and not_bare and slot_values.only_acknowledges(ev.text):
            value = False  # "ok, I'll use the link, thanks" to "shall I connect you?": noted, and declined
        if value is None and ev.intent in ("affirm", "deny"):
            value = ev.intent == "affirm"
        if value is False and ev.intent == "goodbye" and not_bare and "goodbye" not in node.routes \
                and not isinstance(self.nodes.get(node.on_no), EndNode):
            # "no, all sorted, just wanted to say thanks, bye" to "shall we call you on …?": the caller declines
            # and leaves; the "no" answers more than this one question (which would ask for another number).
            return self._global(st, fx, "goodbye", ev.at)
        if value is not None:
            st.intents.append("affirm" if value else "deny")
            target = node.on_yes if value else node.on_no
            if isinstance(self.nodes.get(target), EndNode):
                st.reason = "caller_goodbye"  # "no" to "anything else?": the caller closes the call
            # "No, it's 1 2 3 4 5" to "is it about order 4 8 1 5 2?": the number said instead is the answer to the
            # question the no leads to.
            said_instead = ev.text if value is False and (parse_digits(ev.text) or self._says_when(node, ev)) else None
            return self._goto(st, fx, target, ev.at, trigger=said_instead,
                              answer=self._said_instead(ev) if value is False else None)
        if self._says_when(node, ev):
            # "Monday, around 11 in the morning" to "So I'll move it to Friday at 9 am. Is that right?": the day or
            # time said instead is a no, and the answer to the questions the no leads to, read back again
            # (phone_blind28 en-r4 was told "I can't help with that here" and agreed to the day it wanted to leave).
            st.intents.append("deny")
            return self._goto(st, fx, node.on_no, ev.at, trigger=ev.text)
        if ev.intent in ANYWHERE and ev.intent not in node.routes:
            return self._global(st, fx, ev.intent, ev.at)
        # Two or three unclear words are a yes or no the line garbled, not a request we don't handle: the question
        # again, not the list of everything the bot can do (phone_blind14 en-b6: "Yes, that works." heard "C.S.").
        return self._no_match(st, fx, ev.at, out_of_scope=self._foreign(ev) and said_more)

    def _says_when(self, node: YesNoNode, ev: Heard) -> bool:
        """The turn gives a day or a time, and the question's no asks for one (a booking read back)."""
        asks = self.nodes.get(node.on_no)
        return isinstance(asks, AskNode) and asks.type in ("date", "time") and slot_values.extract(
            asks, ev.text, self.hours.local(ev.at).replace(tzinfo=None), self.flow.language) is not None

    def _declined(self, node: AskNode, ev: Heard) -> bool:
        """A turn that answers the question with a no and nothing the slot could take: "no", "nie, dziękuję",
        "I don't have another number" (not "no, it's 4 8 1 5 2", nor "no, I want to return something")."""
        if node.type == "digits" and parse_digits(ev.text):
            return False
        if slot_values.cannot_answer(ev.text):
            return True
        no = slot_values.yes_no(ev.text, self.flow.language) is False or ev.intent == "deny"
        return no and ev.intent in (None, "deny", "thanks")  # "no, bye" is a goodbye; "no, I want…" a request

    def _needs_confirm(self, node: AskNode, ev: Heard, guessed: bool) -> bool:
        """Read the number back first? `uncertain`: when the bot may have misheard it (see CONFIRM_MODES)."""
        if node.type != "digits" or node.confirm == "never":
            return False
        if node.confirm == "always":
            return True
        below = self.flow.settings.confirm_below or 0.0
        low = ev.asr_confidence is not None and ev.asr_confidence < below
        return low or guessed or self_corrected(ev.text)

    def _ask_confirm(self, st: DialogState, fx: list[Effect], value: str) -> None:
        """'Did you say order 4 8 1 5 2?': the question the caller's next turn answers (see _on_confirm)."""
        node = self.nodes[st.node or ""]
        st.unconfirmed = value
        variants = node.confirm_prompt
        text = variants[st.visits.get("__confirm__", 0) % len(variants)] if isinstance(variants, list) else variants
        st.visits["__confirm__"] = st.visits.get("__confirm__", 0) + 1
        fx.append(Say(templates.render(text or "", {**self.context(st), "heard": " ".join(value)}, self.filters)))
        st.last_prompt = fx[-1].text  # type: ignore[union-attr]

    def _on_confirm(self, st: DialogState, fx: list[Effect], node: AskNode, ev: Heard) -> None:
        """The answer to "did you say ...?": yes, no, or the number again (the same: yes; another: confirm it)."""
        value = slot_values.extract(node, ev.text, self.hours.local(ev.at).replace(tzinfo=None), self.flow.language)
        if value is not None:
            if value == st.unconfirmed:
                return self._confirmed(st, fx, node, True, ev.at)
            return self._ask_confirm(st, fx, str(value))  # "no, 4 8 1 5 3": read that one back
        answer = self._yes_or_no(ev)
        if answer is not None:
            return self._confirmed(st, fx, node, answer, ev.at)
        if ev.intent in ANYWHERE:
            return self._global(st, fx, ev.intent, ev.at)  # "repeat", a person, ...; still waiting for yes/no
        return self._no_match(st, fx, ev.at, reask=st.last_prompt)

    def _confirmed(self, st: DialogState, fx: list[Effect], node: AskNode, yes: bool, at: datetime) -> None:
        value, st.unconfirmed = st.unconfirmed, None
        if yes:
            return self._fill(st, fx, node, value, at)
        m = self.flow.messages
        reask = self._text(st, m.confirm_rejected, "__confirm_rejected__") if m.confirm_rejected else (
            templates.render(node.reprompts[-1], self.context(st), self.filters) if node.reprompts else None)
        # A misheard number counts toward the node's attempts (so it ends with a person, not a loop), but the
        # caller was understood: not a no-match for escalation.
        self._no_match(st, fx, at, reask=reask)
        st.no_match = False
        return None

    def _on_keys(self, st: DialogState, fx: list[Effect], ev: KeysPressed) -> None:
        node = self.nodes.get(st.node or "")
        # 0 is the keypad's universal "give me a person", except where it answers the question (NPS 0-10).
        zero_answers = isinstance(node, AskNode) and node.type == "number" and node.min_value is not None \
            and node.min_value <= 0
        if ev.digits.strip("#") == "0" and not zero_answers:
            return self._global(st, fx, "talk_to_human", ev.at)
        if isinstance(node, AskNode):
            value = slot_values.from_dtmf(node, ev.digits)
            if value is not None:  # typed: exact, used without reading it back
                st.unconfirmed = None
                return self._fill(st, fx, node, value, ev.at)
            if st.unconfirmed is not None and ev.digits.strip("#") in ("1", "2"):  # 1 = yes, 2 = no, as at yes/no
                return self._confirmed(st, fx, node, ev.digits.strip("#") == "1", ev.at)
        if isinstance(node, SayNode) and (intent := node.keys.get(ev.digits.strip("#"))):
            # The keypad menu ("press 1 for order status"): the key is the caller saying that intent.
            if intent in ANYWHERE and intent not in node.routes:
                return self._global(st, fx, intent, ev.at)
            if self._switch(st, fx, intent, "", ev.at, routes=node.routes):
                return None
        if isinstance(node, YesNoNode) and ev.digits.strip("#") in ("1", "2"):
            return self._goto(st, fx, node.on_yes if ev.digits.strip("#") == "1" else node.on_no, ev.at)
        instead = self.nodes.get(node.on_no) if isinstance(node, YesNoNode) else None
        if isinstance(instead, AskNode) and instead.type == "digits" and len(ev.digits.strip("#")) > 1:
            # The order number typed at "is it about order 4 8 1 5 2?": a no, and the number it leads to asking.
            return self._goto(st, fx, node.on_no, ev.at, trigger=ev.digits.strip("#"))  # type: ignore[union-attr]
        return self._no_match(st, fx, ev.at)

    def _on_result(self, st: DialogState, fx: list[Effect], ev: ActionResult) -> None:
        node = self.nodes.get(ev.node)
        if not isinstance(node, ActionNode) or st.node != ev.node:
            return
        if ev.ok:
            st.served = True
            if node.result:
                st.results[node.result] = ev.data
                st.verified[node.result] = True
            return self._goto(st, fx, node.next, ev.at)
        if ev.status is not None and ev.status in node.on_status:
            if node.result:
                st.results[node.result] = ev.data if isinstance(ev.data, dict) else {}
            return self._goto(st, fx, node.on_status[ev.status], ev.at)
        fx.append(Say(self._text(st, self.flow.messages.action_failed, "__action_failed__")))
        st.reason = "action_failed"
        return self._goto(st, fx, node.on_error, ev.at)

    def _global(self, st: DialogState, fx: list[Effect], intent: str, at: datetime) -> None:
        spec = self.flow.intents.get(intent)
        st.intents.append(intent)
        if intent == "repeat":
            fx.append(Say(st.last_prompt))
        elif intent == "help":
            fx.append(Say(self._text(st, self.flow.messages.help, "__help__")))
            fx.append(Say(st.last_prompt))
        elif intent == "talk_to_human":
            st.reason = "explicit_request"
            self._goto(st, fx, (spec.goto if spec else None) or "handoff", at)
        elif intent == "goodbye":
            st.reason = "caller_goodbye"
            self._goto(st, fx, (spec.goto if spec else None) or "goodbye", at)
        elif intent in ("affirm", "deny"):  # a yes or no with no yes/no question open
            st.intents.pop()
            self._no_match(st, fx, at)
        else:  # small talk: answer it, then the question again (or, asked to wait, wait quietly)
            if spec and spec.answer:
                fx.append(Say(self._text(st, spec.answer, f"__answer_{intent}__")))
            if intent == "hold_on":
                st.holding = True
            else:
                fx.append(Say(st.last_prompt))

    def _reported_trouble(self, ev: Heard) -> bool:
        """The turn is a trouble report (an intent that `reports_trouble`) the classifier is sure of."""
        spec = self.flow.intents.get(str(ev.intent))
        return spec is not None and spec.reports_trouble and ev.confidence >= FREE_TEXT_SWITCH

    @staticmethod
    def _clear_new_request(ev: Heard) -> bool:
        """Leave an open question for another topic only on a clear request: a word or two the classifier is
        unsure of ("Clean.", whisper's guess at line noise, read as technical_fault 0.47) is a bad answer, asked
        again, never a transfer to technical support."""
        return len(tokens(ev.text)) > SHORT_TURN_WORDS or ev.confidence >= FREE_TEXT_SWITCH

    def _guess(self, st: DialogState, fx: list[Effect], ev: Heard) -> bool:
        """An unclear request whose best guess is a routine task: "Is it about an order?" (once a call) rather than
        "Sorry, I didn't catch that". Unclear all the same, for escalation; not a clearly foreign request."""
        spec = self.flow.intents.get(ev.best or "")
        if ev.intent is not None or spec is None or spec.guess is None or ev.confidence < GUESS_MIN \
                or self._foreign(ev) or st.visits.get("__guess__"):
            return False
        st.visits["__guess__"] = 1
        st.guessed = ev.best
        st.no_match = True
        fx.append(Say(self._text(st, spec.guess, f"__guess_{ev.best}__")))
        return True

    def _took_guess(self, st: DialogState, fx: list[Effect], node: SayNode, ev: Heard, guessed: str) -> bool:
        """The answer to our guess: a yes takes the guessed task (with what else the turn says: "yes, it's 4 8 1 5
        2"); a plain no asks the open question again. A turn that asks for something clearly is handled as usual."""
        answer = self._yes_or_no(ev)
        asks_other = ev.intent is not None and ev.intent not in (guessed, *SMALL_TALK_INTENTS)
        if answer is None or asks_other:
            return False
        if answer:
            # A yes counts alone ("yes please") or with words that make sense: the guessed task, or a number of a
            # few digits. "mhm ten tam dy wy" (escalation_blind19 pl-p19, a caller the bot cannot make out; its
            # "ten" parses as 10) is no yes.
            if slot_values.bare_yes_no(ev.text, self.flow.language) is not True and ev.intent != guessed \
                    and len(parse_digits(ev.text) or "") < GUESS_YES_DIGITS:
                return False
            return self._switch(st, fx, guessed, ev.text, ev.at, routes=node.routes)
        if not slot_values.says_more_than_no(ev.text):
            fx.append(Say(st.last_prompt))
            return True
        return False

    def _yes_or_no(self, ev: Heard) -> bool | None:
        """The yes or no a turn says: its words, else the classifier's affirm/deny ("sure", "no dobra")."""
        answer = slot_values.yes_no(ev.text, self.flow.language)
        if answer is None and ev.intent in ("affirm", "deny"):
            answer = ev.intent == "affirm"
        return answer

    def _unclear_goodbye(self, st: DialogState, ev: Heard) -> bool:
        """A goodbye not to obey at once: a first word cut off, or heard with a low ASR score (GOODBYE_ASR_MIN)."""
        return self._early_fragment(st, ev.text) or (ev.asr_confidence is not None
                                                     and ev.asr_confidence < GOODBYE_ASR_MIN)

    @staticmethod
    def _foreign(ev: Heard) -> bool:
        """A request we do not handle, heard clearly enough to say so (OUT_OF_SCOPE_ASR_MIN)."""
        return ev.out_of_scope and (ev.asr_confidence is None or ev.asr_confidence >= OUT_OF_SCOPE_ASR_MIN)

    def _doubt_switch(self, st: DialogState, ev: Heard, doubted: str | None) -> bool:
        """Hold back a switch to another task heard with a low ASR score (SWITCH_ASR_MIN) unless the caller asked
        for the same on the turn before. An intent that only answers ("how much is delivery?") and comes back to
        the question costs nothing when misheard: never held back."""
        spec = self.flow.intents.get(str(ev.intent))
        leaves = spec is not None and spec.goto is not None and not spec.answer
        if not leaves or ev.asr_confidence is None or ev.asr_confidence >= SWITCH_ASR_MIN or ev.intent == doubted:
            return False
        st.doubted = ev.intent
        return True

    def _switch(self, st: DialogState, fx: list[Effect], intent: str, text: str, at: datetime,
                routes: dict[str, str] | None = None) -> bool:
        """The caller asked for something else: answer it and resume, or go where the intent leads."""
        spec = self.flow.intents.get(intent)
        target = (routes or {}).get(intent) or (spec.goto if spec else None)
        if target is not None and target == st.node:
            return False  # "my order number is..." at the order-number question: not a new request
        if st.survey == "asked" and (spec and (spec.answer or target)):
            st.survey = "left"  # a new request instead of a score: the survey is over, the call goes on
        if spec and (spec.answer or target):
            st.intents.append(intent)  # the history holds what the caller asked for, not every guess
        if spec and spec.answer and not (routes or {}).get(intent):
            st.served = True
            fx.append(Say(self._text(st, spec.answer, f"__answer_{intent}__")))
            node = self.nodes.get(st.node or "")
            after = self.flow.settings.after_answer
            if after and isinstance(node, SayNode | YesNoNode):
                self._goto(st, fx, after, at)  # "Anything else?" as a real yes/no question
                return True
            resume = self.flow.messages.anything_else if isinstance(node, SayNode | YesNoNode) else None
            fx.append(Say(self._text(st, resume, "__anything_else__") if resume else st.last_prompt))
            if resume:
                st.last_prompt = fx[-1].text  # type: ignore[union-attr]
            return True
        if target:
            self._goto(st, fx, target, at, trigger=text)
            return True
        return False

    @staticmethod
    def _help_said_key(st: DialogState) -> str:
        """The visits entry of the current ask node's `help` (said once)."""
        return f"__help_{st.node}__"

    def _asks_for_help(self, st: DialogState, node: AskNode, ev: Heard) -> bool:
        """The caller has no answer ("I don't have the number") or asks how this task goes ("how do I do that?",
        "how long do I have to send it back?"), and the node has `help` not said yet. A how-question about another
        task ("how long does delivery take?") is that request, not this."""
        if not node.help or st.visits.get(self._help_said_key(st)):
            return False
        if ev.intent == "help" or slot_values.cannot_answer(ev.text):
            return True
        spec = self.flow.intents.get(ev.intent or "")
        return slot_values.asks_how(ev.text) and (ev.intent is None or (spec is not None and spec.goto == st.node))

    def _early_fragment(self, st: DialogState, text: str) -> bool:
        """A one- or two-word "bye" before the caller asked for anything: likely a cut-off greeting."""
        return not st.intents and not st.served and len(tokens(text)) <= EARLY_BYE_WORDS

    def _wrong_length(self, st: DialogState, node: AskNode, heard: str) -> str | None:
        """'I heard 4 8 1 2, that's 4 digits...': the re-ask for a number with digits missing (or extra).

        Too few digits are kept: the next turn may be the rest of the number (completed_digits)."""
        lo = node.length or node.min_length or 1
        hi = node.length or node.max_length or 32
        if len(heard) < lo:
            st.partial[node.slot] = heard
        else:
            st.partial.pop(node.slot, None)
        if self.flow.messages.wrong_length is None or len(heard) > 2 * hi:
            # Twice the digits a number has is whisper looping on unclear audio ("5, 5, 5, 4, 7, 5, 5, 5, 5, …",
            # phone_blind9 pl-n3), not a caller's number: reading it back helps nobody, the plain re-ask does.
            return None
        ctx = {**self.context(st), "heard": " ".join(heard), "count": len(heard),
               "length": lo if len(heard) < lo else hi}
        variants = self.flow.messages.wrong_length
        text = variants[st.attempts % len(variants)] if isinstance(variants, list) else variants
        return templates.render(text, ctx, self.filters)

    def _no_match(self, st: DialogState, fx: list[Effect], at: datetime, reask: str | None = None,
                  out_of_scope: bool = False) -> None:
        st.no_match = True
        st.attempts += 1
        node = self.nodes.get(st.node or "")
        limit = (node.max_attempts if isinstance(node, AskNode) else None) or self.flow.settings.max_attempts
        if self.closing(st) and (st.attempts > CLOSING_REASKS or st.attempts >= limit):
            return self._close_unclear(st, fx)  # instead of the handoff, also for a flow asking fewer times
        if st.attempts >= limit:
            st.reason = "no_match"
            return self._goto(st, fx, node.on_fail if isinstance(node, AskNode) else "handoff", at)
        if reask:
            fx.append(Say(reask))
        elif out_of_scope and (menu := self.flow.messages.out_of_scope):
            # not a topic we handle: say what we do handle, then ask again
            fx.append(Say(self._text(st, menu, "__out_of_scope__")))
            fx.append(Say(st.last_prompt))
        elif isinstance(node, AskNode) and node.reprompts:
            text = node.reprompts[(st.attempts - 1) % len(node.reprompts)]
            fx.append(Say(templates.render(text, self.context(st), self.filters)))
        else:
            variant = self.flow.messages.no_match[(st.attempts - 1) % len(self.flow.messages.no_match)]
            fx.append(Say(templates.render(variant, self.context(st), self.filters)))
            fx.append(Say(st.last_prompt))
        self._keypad_menu(st, fx, node)
        return None

    def _keypad_menu(self, st: DialogState, fx: list[Effect], node: Any) -> None:
        """After a turn the bot could not use: the node's keypad menu ("or press 1 for ..."), just before the
        question said again (the reply still ends on the question). Not after silence: the no-input steps stay
        short, and their `help` already names the keypad's 0."""
        if isinstance(node, SayNode) and node.keys_say and fx and isinstance(fx[-1], Say):
            fx.insert(len(fx) - 1, Say(self._text(st, node.keys_say, "__keys__")))

    def _no_input(self, st: DialogState, fx: list[Effect], ev: NoInput) -> None:
        """Silence or noise: ask again, then ask in other words, then hand over (a callback after hours)."""
        node = self.nodes.get(st.node or "")
        if not isinstance(node, AskNode | SayNode | YesNoNode) or (isinstance(node, SayNode) and node.next is not None):
            return None  # not waiting for the caller (an action is running): nothing to ask again
        if st.holding and not ev.noise:
            st.holding = False  # they asked us to wait ("one moment"): one timer of silence is theirs
            return None
        st.silences += 1
        if st.silences >= self.flow.settings.no_input_attempts:
            if st.survey == "asked":  # a served caller silent at the survey: goodbye, not a person
                return self._end_survey(st, fx, ev.at)
            if self.closing(st):  # a served caller silent at "anything else?": most have put the phone down
                return self._close_unclear(st, fx)
            st.reason = "no_input"
            return self._goto(st, fx, "handoff", ev.at)
        m = self.flow.messages
        variants = m.no_input or m.no_match
        opener: Text = variants[(st.silences - 1) % len(variants)]
        if ev.noise and m.noisy_line:
            opener = m.noisy_line
        fx.append(Say(self._text(st, opener, "__noisy__" if ev.noise else "__no_input__")))
        if st.silences == 1:
            fx.append(Say(st.last_prompt))
        elif isinstance(node, AskNode) and node.reprompts:  # the question in other words
            fx.append(Say(templates.render(node.reprompts[0], self.context(st), self.filters)))
        else:  # what the caller can say here, then the question
            fx.append(Say(self._text(st, m.help, "__help__")))
            fx.append(Say(st.last_prompt))
        return None

    def _said_instead(self, ev: Heard) -> str | None:
        """What a "no" to a read-back says instead ("No, it's Polna 5 in Sopot"), for the free-text question the
        no leads back to: read back again, not asked again (escalation_blind32 en-p20 was asked three times).
        Not a new request, nor "no, I don't know it"."""
        if ev.intent not in (None, "deny") or slot_values.cannot_answer(ev.text):
            return None
        return slot_values.said_instead(ev.text)

    def _fill(self, st: DialogState, fx: list[Effect], node: AskNode, value: Any, at: datetime,
              text: str | None = None, answer: str | None = None) -> None:
        st.slots[node.slot] = value
        if node.date_slot and text and (day := slot_values.date_with_time(
                text, self.hours.local(at).replace(tzinfo=None))):
            st.slots[node.date_slot] = day  # "może być trzydziestego rano": the time, and another day
        # The same answer may already hold the next slot too ("tomorrow at 3 pm" fills date and time); not a
        # next question of the same type, which the same words would answer again (a survey's "four").
        following = self.nodes.get(node.next)
        same_type = isinstance(following, AskNode) and following.type == node.type
        self._goto(st, fx, node.next, at, trigger=None if same_type else text, answer=answer)

    # -- moving between nodes -------------------------------------------------------------------------
    def _goto(self, st: DialogState, fx: list[Effect], name: str, at: datetime, trigger: str | None = None,
              answer: str | None = None) -> None:
        """Enter node `name` and run on to the next one that waits for the caller. `trigger`: the turn that led
        here, read for a value the ask nodes on the way may take; `answer`: what a "no" to a read-back said
        instead, the answer to the first ask node when that asks for free text."""
        for _ in range(MAX_CHAIN):
            if self.capture:
                name = callback_capture.enter(name, st.variables, self.hours, at, self.flow.language,
                                              st.reason)
            node = self.nodes[name]
            st.node, st.attempts, st.silences, st.unconfirmed = name, 0, 0, None
            if isinstance(node, YesNoNode):
                fx.append(Say(self._text(st, node.say, name)))
                st.last_prompt = fx[-1].text  # type: ignore[union-attr]
                return
            if isinstance(node, SayNode):
                fx.append(Say(self._text(st, node.say, name)))
                if node.next is None:
                    st.last_prompt = fx[-1].text  # type: ignore[union-attr]
                    return
                name = node.next
            elif isinstance(node, AskNode):
                if node.on_no is None:  # with on_no, a "no" keeps the earlier value (the handoff shows it)
                    st.slots.pop(node.slot, None)  # re-entering an ask (caller changed their mind) asks again
                st.partial.pop(node.slot, None)
                st.visits.pop(f"__begun__{node.slot}", None)
                value = self._known(st, node)
                if value is None and answer is not None and node.type == "free_text":
                    value = slot_values.extract(node, answer, self.hours.local(at).replace(tzinfo=None),
                                                self.flow.language)
                answer = None
                if value is None and trigger and node.type in PREFILL_TYPES:
                    said = without_clauses(trigger, node.prefill_ignore) if node.prefill_ignore else trigger
                    value = slot_values.extract(node, said, self.hours.local(at).replace(tzinfo=None),
                                               self.flow.language)
                if value is None and trigger:
                    # "Could you check order 55?": the turn ended on the first part of the number (cut at the
                    # caller's pause on the line); kept, so "…501 for me" completes it (completed_digits).
                    begun = trailing_digits(trigger)
                    if len(begun) >= MIN_BEGUN_DIGITS and slot_values.partly_fills(node, begun):
                        st.partial[node.slot] = begun
                        st.visits[f"__begun__{node.slot}"] = 1
                if value is None and node.before_asking and node.slot not in st.partial \
                        and not st.visits.get(f"__before__{name}"):
                    st.visits[f"__before__{name}"] = 1  # once a call: its paths come back here to ask
                    name = node.before_asking
                    continue
                if value is None:
                    fx.append(Say(self._text(st, node.prompt, name)))
                    st.last_prompt = fx[-1].text  # type: ignore[union-attr]
                    return
                st.slots[node.slot] = value
                name = node.next
            elif isinstance(node, BranchNode):
                name = next((c.goto for c in node.cases if self._holds(st, c.when)), node.default)
            elif isinstance(node, ActionNode):
                if node.say:
                    fx.append(Say(self._text(st, node.say, name)))
                fx.append(RunAction(name, node.action, self.context(st)))
                return
            elif isinstance(node, TransferNode):
                if st.survey == "asked":
                    st.survey = "left"  # to a person ("0", "a human please") in the middle of the survey
                reason = st.reason if name == "handoff" and st.reason else node.reason
                if not self._staffed(st, reason, at):
                    st.reason = reason
                    name = "callback"
                    continue
                if node.say:
                    fx.append(Say(self._text(st, node.say, name)))
                fx.append(Transfer(reason))
                st.finished, st.reason = True, reason
                return
            elif isinstance(node, CallbackNode):
                number = str(st.slots.get(node.number_slot, "")) if node.number_slot else ""
                if self.capture and not callback_capture.dialable(number or str(st.variables.get("caller_number")
                                                                                 or "")) \
                        and self.flow.messages.callback_no_number is not None:
                    # No number to call (withheld and not given): never promise a call that cannot happen.
                    fx.append(Say(self._text(st, self.flow.messages.callback_no_number, name)))
                    fx.append(End("callback_no_number"))
                    st.finished = True
                    return
                chosen = callback_capture.chosen_time(st.variables, st.slots.get(node.choice_slot or ""))
                due = chosen or self.hours.next_open(at)
                st.variables["callback_time"] = say_datetime(due, self.flow.language) if due else ""
                fx.append(Say(self._text(st, node.say, name)))
                reason = st.reason or "callback"
                topic = node.topic or next((i for i in reversed(st.intents) if i not in ANYWHERE), reason)
                fx.append(Callback(reason, topic, due, number))
                st.finished, st.reason = True, reason
                return
            elif isinstance(node, EndNode):
                if self._survey_due(st):
                    st.survey = "asked"  # once per call: its own end node is not diverted again
                    name = self.flow.settings.survey  # type: ignore[assignment]
                    continue
                if st.survey == "asked":
                    st.survey = "done"
                fx.append(Say(self._text(st, node.say, name)))
                fx.append(End(st.reason or "completed"))
                st.finished = st.ended = True
                return
        raise RuntimeError(f"flow {self.flow.id}: more than {MAX_CHAIN} nodes without waiting for the caller")

    def _staffed(self, st: DialogState, reason: str, at: datetime) -> bool:
        """Can a person take this transfer now: business hours, or the line of its skill (or a fallback)."""
        if self.hours.is_open(at):
            return True
        intent = next((i for i in reversed(st.intents) if i not in ANYWHERE), None)
        return self.staffed is not None and self.staffed(reason, intent, at)

    def _survey_due(self, st: DialogState) -> bool:
        """The call ends after the bot served the caller: ask the survey first, if this call was picked for it
        (the session binds the variable `survey` from [survey] enabled/share and the caller's past answers)."""
        return bool(self.flow.settings.survey and st.variables.get("survey") and st.served and not st.survey)

    def _close_unclear(self, st: DialogState, fx: list[Effect]) -> None:
        """End the call of a served caller whose last words were unclear: the door stays open (messages.unclear_close,
        "call again or press 0 for a person"), no survey. Like any goodbye, the line keeps the call up for a caller
        who talks over it (voicebot/pipeline/media_io.py) and the dialog listens on (step)."""
        m = self.flow.messages
        st.reason = "unclear_close"
        fx.append(Say(self._text(st, m.unclear_close or m.goodbye, "__unclear_close__")))
        fx.append(End(st.reason))
        st.attempts = st.silences = 0
        st.finished = st.ended = True

    def _end_survey(self, st: DialogState, fx: list[Effect], at: datetime) -> None:
        st.survey = "declined"
        st.reason = st.reason or "caller_goodbye"
        self._goto(st, fx, "goodbye", at)

    def _known(self, st: DialogState, node: AskNode) -> Any:
        """The answer the call already has (the returning caller's profile), so the question is skipped."""
        if node.known is None:
            return None
        value = templates.lookup({**st.variables, **st.results}, node.known)
        return None if value in (None, "") else value

    def case_update(self, st: DialogState) -> tuple[dict[str, Any] | None, bool]:
        """What this call leaves for the caller's next one (flow `profile`): (a new open case or None, whether
        the open case is closed)."""
        profile = self.flow.profile
        if profile is None:
            return None, False
        ctx = self.context(st)
        for case in profile.cases:
            if self._holds(st, case.when):
                fields = {k: templates.render(v, ctx, self.filters) for k, v in case.fields.items()}
                return {"kind": case.kind, **fields}, False
        return None, any(self._holds(st, c) for c in profile.close_when)

    def _holds(self, st: DialogState, cond: Condition) -> bool:
        if cond.intent is not None:
            return bool(st.intents) and st.intents[-1] == cond.intent
        if cond.visited is not None:
            return st.visits.get(cond.visited, 0) > 0
        if cond.slot is not None:
            value = st.slots.get(cond.slot)
        elif cond.var is not None:
            value = templates.lookup(st.results, cond.var)
        else:
            return False
        if cond.exists is not None:
            return (value is not None) == cond.exists
        if cond.one_of is not None:
            return value in cond.one_of
        return value == cond.equals

    def _text(self, st: DialogState, text: Text | None, key: str) -> str:
        """Pick a variant (lists rotate per visit, so a repeated prompt is worded differently) and fill it."""
        if text is None:
            return ""
        n = st.visits.get(key, 0)
        st.visits[key] = n + 1
        chosen = text[n % len(text)] if isinstance(text, list) else text
        return templates.render(chosen, self.context(st), self.filters)
