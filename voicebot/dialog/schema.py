"""The flow file format (dialogs/<flow>.<lang>.yaml) as typed pydantic models.

Structural rules live here (types, required keys); rules that need the whole flow (reachability,
targets, template variables) live in `validate.py`, so each can report its own named error.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from voicebot.config import BusinessHoursSettings

SLOT_TYPES = ("digits", "number", "date", "time", "yes_no", "choice", "contact", "free_text")
GLOBAL_INTENTS = ("talk_to_human", "repeat", "help", "goodbye")
# Small talk understood at every listening node when the flow defines the intent (optional, unlike the
# globals above). Greeting, thanks, "who am I talking to" and "wait a moment" are answered with the intent's
# `answer`; affirm/deny answer the yes/no question just asked (see YesNoNode) and carry no effect elsewhere.
SMALL_TALK_INTENTS = ("greeting", "thanks", "who_are_you", "hold_on", "affirm", "deny")
# Steps every flow has without writing them; a flow may override one by defining a node with its name.
BUILTIN_NODES = ("handoff", "callback", "goodbye")
# Template variables messages.wrong_length may use: the digits heard, how many, how many expected.
WRONG_LENGTH_VARIABLES = ("heard", "count", "length")
# When a spoken digits answer is read back for a yes/no before it is used (AskNode.confirm): `uncertain` = only
# when the bot may have misheard (low ASR confidence, a number taken from an n-best alternative, a
# self-correction), `always`, `never`. Keypad answers are exact and never confirmed.
CONFIRM_MODES = ("uncertain", "always", "never")
# Template variable a node's confirm_prompt may use: the digits heard, read one by one ("4 8 1 5 2").
CONFIRM_VARIABLES = ("heard",)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


Text = str | list[str]  # a list = variants, used in turn so repeated prompts do not sound robotic


class Webhook(_Model):
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "GET"
    url: str = Field(description="URL template, e.g. '{crm_url}/orders/{order_number}'")
    body: dict[str, Any] | None = Field(None, description="JSON body; string values are templates")
    timeout: float = Field(3.0, gt=0, le=30)
    retries: int = Field(1, ge=0, le=5)


class IntentDef(_Model):
    examples: list[str] = Field(min_length=1)
    goto: str | None = None  # node to go to when the caller asks for this
    answer: Text | None = None  # short answer; the conversation then resumes where it was
    faq: str | None = None  # answer from the FAQ data file (dialogs/faq/<lang>.yaml) under this topic
    # Taken only above this NLU confidence (else the turn is unclear and the caller is asked again): for an
    # intent that hands the caller over at once and shares words with routine requests ("moje konto").
    min_confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    # A report of trouble (a failed payment, a fault, a complaint) that hands over at once: a turn that only
    # asks whether or how something can be done ("and can I pay by BLIK?") is not taken as one.
    reports_trouble: bool = False
    # Taken only for a turn with no word of trouble or negation in it (else the next best intent): a turn that
    # only names a product ("the sofa i ordered") is not a fault, one that says what is wrong with it is.
    untroubled: bool = False
    # "Is it about an order?": asked when the classifier's best guess for a turn at an open question is this intent
    # but not sure enough to act on (voicebot/dialog/core.py GUESS_MIN); a yes takes the intent. None: not guessed.
    guess: Text | None = None


class VariableDef(_Model):
    """A template variable chosen from a setting, e.g. the recording notice from privacy.record_audio."""

    source: str  # built-in variable name, e.g. record_audio
    values: dict[str, str]  # str(value) lower-cased -> text


class Condition(_Model):
    intent: str | None = None
    slot: str | None = None
    var: str | None = None  # dotted path into action results, e.g. order.status
    equals: Any = None
    one_of: list[Any] | None = None
    exists: bool | None = None
    visited: str | None = None  # holds once the call has said this node's text (e.g. asked its question)


class Case(_Model):
    when: Condition
    goto: str


class SayNode(_Model):
    kind: Literal["say"]
    say: Text
    next: str | None = None  # None: listen, and route the caller's answer by intent
    routes: dict[str, str] = Field(default_factory=dict)  # intent -> node, overriding the intent's goto
    hints: str | None = None  # what callers say here, for speech recognition; None = settings.hints
    no_input_secs: float | None = Field(None, gt=0, le=600)  # silence before asking again (else the flow's)
    # Keypad menu: key -> intent ("1": order_status), pressed at any time while the bot listens here.
    keys: dict[str, str] = Field(default_factory=dict)
    # The keypad menu read out ("press 1 for ..."), before the question is asked again when the caller was not
    # understood here: speech first, the keypad for callers speech recognition fails.
    keys_say: Text | None = None
    # A turn that is only a number ("48152", "cztery osiem jeden pięć dwa") and no intent: the caller saying this
    # intent with that number (an ask node it leads to takes the number, as from "where is order 48152").
    number_intent: str | None = None
    # See YesNoNode.closing.
    closing: bool = False


class YesNoNode(_Model):
    """A yes/no question: "yes"/"sure"/"tak tak śmiało" go to `on_yes`, "no"/"nie, dziękuję" to `on_no`; any other
    request is routed as at a say node ("no, I want to return something" is a return, not a no)."""

    kind: Literal["yes_no"]
    say: Text
    on_yes: str  # ("yes"/"no" as YAML keys would read as booleans)
    on_no: str
    routes: dict[str, str] = Field(default_factory=dict)
    hints: str | None = None  # what callers say here, for speech recognition; None = settings.hints
    no_input_secs: float | None = Field(None, gt=0, le=600)  # silence before asking again (else the flow's)
    # The caller's task is done when the call is here ("anything else?") once the bot has served them: words it
    # cannot make sense of are asked about once, then the call ends with messages.unclear_close (and so does
    # silence past no_input_attempts) instead of a transfer; a trouble signal (a complaint, asking for a person,
    # the keypad's 0, frustration) still goes to a person (voicebot/escalation/tracker.py).
    closing: bool = False


class AskNode(_Model):
    kind: Literal["ask"]
    slot: str
    type: str
    prompt: Text = ""
    reprompts: list[str] = Field(default_factory=list)
    length: int | None = Field(None, ge=1, le=32)
    min_length: int | None = Field(None, ge=1)
    max_length: int | None = Field(None, ge=1)
    # type number: the answers allowed (a survey's 1-5); outside them the caller is asked again
    min_value: int | None = None
    max_value: int | None = None
    choices: dict[str, list[str]] = Field(default_factory=dict)
    # type time: the bookable hours ("09:00".."16:00"); a time outside them is asked again (or a part of the day
    # said with it, from `choices`), not read back and then refused as taken
    earliest: str | None = None
    latest: str | None = None
    # type time: the date slot asked before; a date said with the time ("może być trzydziestego rano", "Thursday
    # afternoon then") replaces it, so the caller's correction is not lost
    date_slot: str | None = None
    # type time: the time a yes takes ("yes, that works for me" to "we have slots from 9 to 4", where the clock time
    # was lost on the line); the flow's confirmation question reads it back. Not taken from an earlier answer.
    accept: str | None = None
    max_attempts: int | None = Field(None, ge=1, le=10)
    no_input_secs: float | None = Field(None, gt=0, le=600)  # silence before asking again (else the flow's)
    next: str
    on_fail: str = "handoff"
    # A plain "no" / "I don't have it" to the question goes here instead of asking again: "Could you say the
    # digits again?" after an order was not found, where the caller may give up on the number. None: asked again.
    on_no: str | None = None
    hints: str = ""  # what callers say here, for speech recognition (never digits: whisper would copy them)
    # Said once at this question when the caller asks how or where ("How do I do that?", "where do I find it?") or
    # says they do not have the answer: where to find it, what happens with it, the keypad, a colleague; it ends
    # on the question. Without it such a turn is a failed answer, asked again.
    help: Text | None = None
    # Words of a clause that speaks of what exists already ("I've got a technician coming on Friday, can we move
    # it?"): a value in such a clause of the request that led here is not this question's answer (no prefill from
    # it). Folded words; a trailing `*` matches any ending ("umówion*").
    prefill_ignore: list[str] = Field(default_factory=list)
    # A variable that may already hold the answer (e.g. caller.case.order_number, from the returning caller's
    # profile): when it has a value the slot takes it and the question is not asked.
    known: str | None = None
    # A node the call goes to once, instead of asking, when the answer is not known yet: an action that may find
    # it ("the latest order on the number you're calling from", offered to the caller), whose paths come back here
    # (then the question is asked). Not when the request already said the answer or began it.
    before_asking: str | None = None
    confirm: str = "never"  # read a spoken number back before using it: one of CONFIRM_MODES (validate.py)
    confirm_prompt: Text | None = None  # "Did you say order {heard}?"; needed unless confirm is never


class BranchNode(_Model):
    kind: Literal["branch"]
    cases: list[Case] = Field(min_length=1)
    default: str


class ActionNode(_Model):
    kind: Literal["action"]
    action: str
    say: Text | None = None  # said before the action runs ("one moment")
    result: str | None = None  # variable holding the response JSON
    next: str
    on_error: str = "handoff"
    on_status: dict[int, str] = Field(default_factory=dict)  # e.g. 404 -> not_found


class TransferNode(_Model):
    kind: Literal["transfer"]
    say: Text | None = None
    reason: str = "flow_transfer"


class CallbackNode(_Model):
    kind: Literal["callback"]
    say: Text
    topic: str | None = None
    number_slot: str | None = None  # the number the caller gave (else the one they called from)
    choice_slot: str | None = None  # which of the offered times they chose (voicebot/dialog/callback_capture.py)


class EndNode(_Model):
    kind: Literal["end"]
    say: Text


Node = Annotated[
    SayNode | YesNoNode | AskNode | BranchNode | ActionNode | TransferNode | CallbackNode | EndNode,
    Field(discriminator="kind"),
]


class Messages(_Model):
    no_match: list[str] = Field(min_length=1)
    help: Text
    anything_else: Text
    handoff: Text  # the bridging sentence before a transfer
    callback_offer: Text  # outside the human line's hours; may use {callback_time}
    goodbye: Text
    action_failed: Text  # said when a webhook fails, before the node's on_error
    # A digits answer with too few/many digits: "I heard {heard}, that's {count} digits..." ({length} expected).
    # Without it the node's reprompts are used.
    wrong_length: Text | None = None
    # A lone "bye" before the caller asked for anything is often a cut-off "Hi, ..." on a phone line:
    # the bot asks this instead of hanging up. Without it the bot repeats its question.
    confirm_end: Text | None = None
    # Said as the call ends at a `closing` node after unclear words (or silence) from a served caller: the door
    # stays open ("call again, press 0 for a person"). Missing: the goodbye.
    unclear_close: Text | None = None
    # Said when the caller is silent past the no-input timer: variant n on the n-th silence in a row (the
    # question follows, reworded from the second on). Missing: the no_match variants are used.
    no_input: list[str] | None = None
    noisy_line: Text | None = None  # said for a turn of noise without words (missing: no_input / no_match)
    # Said (then the last question again) when the caller asks for something the bot does not do: the
    # "I can help with ..." menu. Without it an out-of-scope turn gets a no_match message.
    out_of_scope: Text | None = None
    # Taking a callback request (voicebot/dialog/callback_capture.py): "shall we call you on {caller_number}?",
    # "say the number digit by digit", "I heard {callback_number}, right?", "I can call you {callback_option_1},
    # {callback_option_2} or {callback_option_3}; which suits you?" with callback_choices {"1": [first, ...]},
    # and what to say when there is no number to call. Without callback_offer_times: book the next opening.
    callback_confirm_number: Text | None = None
    callback_ask_number: Text | None = None
    callback_read_back: Text | None = None
    callback_offer_times: Text | None = None
    callback_choices: dict[str, list[str]] = Field(default_factory=dict)
    callback_no_number: Text | None = None
    # Left on an answering machine by an outbound callback (`callbacks.voicemail_message`); plain text, no
    # variables. Without it the bot hangs up on voicemail without a word.
    voicemail: Text | None = None

    # Said when the caller answers "no" to a node's confirm_prompt, before the number is asked again (offer the
    # keypad here). Without it the node's reprompts (else its prompt) are used.
    confirm_rejected: Text | None = None


class CaseDef(_Model):
    """A case this call leaves open for the caller's next call (e.g. a return): kept in the caller profile."""

    kind: str = Field(pattern=r"^[a-z][a-z0-9_]*$")  # read back as {caller.case.kind}
    when: Condition  # checked on the call's final state
    fields: dict[str, str] = Field(default_factory=dict)  # name -> template, read back as {caller.case.NAME}


class ProfileDef(_Model):
    """Returning callers (voicebot/store/callers.py): what a call remembers for the next call from its number.

    The next call sees the profile as the `caller` variable: {caller.name}, {caller.case.kind}, {caller.case.*}."""

    # A webhook (in `actions`) that finds the caller in the CRM by {caller_number}; run at the end of a call
    # while the profile has no name. Its JSON answer is the `customer` variable of `name`.
    lookup: str | None = None
    name: str = ""  # template for the name to greet by, e.g. "{customer.first_name}"
    cases: list[CaseDef] = Field(default_factory=list)  # first one whose `when` holds opens a case
    close_when: list[Condition] = Field(default_factory=list)  # any holds (and no new case): the case is closed


class FlowSettings(_Model):
    nlu_threshold: float = Field(0.5, ge=0, le=1)
    max_attempts: int = Field(3, ge=1, le=10)
    # Silence after a question before the bot asks again; None = [dialog] no_input_secs of the config.
    no_input_secs: float | None = Field(None, gt=0, le=600)
    no_input_attempts: int = Field(3, ge=1, le=10)  # silent/noisy turns in a row at one node, then a person
    # Node to go to after answering a question at a listening node (e.g. a yes/no "anything else?" node);
    # without it the answer is followed by messages.anything_else and the caller stays where they were.
    after_answer: str | None = None
    escalation: dict[str, Any] | None = None  # override of [escalation] for this flow
    business_hours: BusinessHoursSettings | None = None
    # Words callers say at the flow's listening say-nodes (menu, "anything else?"): given to speech
    # recognition as the text before the caller's turn, so an 8 kHz "opening hours on Saturday" is not heard
    # as "opening hour months after day". A node's own `hints` replaces it.
    hints: str = ""
    # The yes and no words, added after the hints at a yes/no question and a number read-back: espeak-ng's "Yes."
    # at 8 kHz was heard "D.A." / "EF." with the menu words alone (3 of 10 voices), never with them (bench/README).
    yes_no_hints: str = ""
    # Node where the post-call survey starts ([survey] in the config turns it on): a call the bot served goes
    # there once instead of its end node. "No" or a goodbye at a survey question ends the call at once.
    survey: str | None = None
    # ASR confidence below which a spoken number at a `confirm: uncertain` node is read back first. Required
    # by such nodes; calibrated on phone audio (bench/phone_asr.py, bench/results/phone.md).
    confirm_below: float | None = Field(None, ge=0, le=1)


class LanguageOffer(_Model):
    """The greeting ends with "To continue in English, press 9", said in that language's voice: a caller who does
    not speak the line's language chooses theirs on the keypad (whisper base hears their first words as a hint only,
    and a Polish number is answered in Polish whoever calls it). Honoured until the caller's first words or keys."""

    language: Literal["pl", "en"]
    key: str = Field(pattern=r"^[1-9*#]$")
    say: str = Field(min_length=1)  # in `language`, naming the key


class Flow(_Model):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    language: Literal["pl", "en"]
    description: str = ""
    greeting: Text
    start: str
    intents: dict[str, IntentDef]
    out_of_scope: list[str] = Field(default_factory=list)
    # Things the shop does not deal in (words or phrases, `word*` = any ending): a turn naming one is out of
    # scope unless an intent is very sure (voicebot/dialog/nlu.py FOREIGN_TOPIC_OVERRIDE).
    out_of_scope_topics: list[str] = Field(default_factory=list)
    nodes: dict[str, Node]
    actions: dict[str, Webhook] = Field(default_factory=dict)
    variables: dict[str, VariableDef] = Field(default_factory=dict)
    messages: Messages
    settings: FlowSettings = FlowSettings()
    profile: ProfileDef | None = None
    # Other languages this flow exists in, offered on the keypad at the end of the greeting (see LanguageOffer).
    language_offers: list[LanguageOffer] = Field(default_factory=list)
