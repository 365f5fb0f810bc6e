"""Flow validation in stages: YAML (with lines) -> schema -> typed model -> semantic rules.

Every problem is a `FlowError` naming its rule, the file:line and the path inside the flow, e.g.
`dialogs/customer_service.en.yaml:42 nodes.ask_order.next: unknown node 'confrim'`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from voicebot.config import EscalationSettings
from voicebot.dialog import templates
from voicebot.dialog.faq import faq_file, load_faq
from voicebot.dialog.numbers import TENS, UNITS, tokens
from voicebot.dialog.schema import (
    BUILTIN_NODES,
    CONFIRM_MODES,
    CONFIRM_VARIABLES,
    GLOBAL_INTENTS,
    SLOT_TYPES,
    SMALL_TALK_INTENTS,
    WRONG_LENGTH_VARIABLES,
    ActionNode,
    AskNode,
    BranchNode,
    CallbackNode,
    EndNode,
    Flow,
    SayNode,
    YesNoNode,
)
from voicebot.dialog.yamlpos import PositionedYaml, YamlSyntaxError, load_positioned

NOT_DIGITS = ("o", "oh", "a", "i")  # in UNITS for "four oh one", but plain words in a hint
MIN_EXAMPLES = 3  # the classifier's calibration needs a few examples per intent
_CLOCK = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")  # a time slot's value, as the time parser writes it
MENU_KEYS = "123456789*#"  # keys a say node may map to intents; 0 always means "a person" (core._on_keys)


@dataclass(frozen=True)
class FlowError:
    rule: str  # yaml_syntax | schema | unknown_target | unreachable_node | missing_prompt | ...
    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f" {self.path}" if self.path else ""
        return f"{self.file}:{self.line}{where}: {self.message}"


class FlowInvalid(ValueError):
    def __init__(self, errors: list[FlowError]) -> None:
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors


def parse_flow(text: str, file: str = "<flow>", actions: Iterable[str] = (), flows_dir: Path | None = None) -> Flow:
    """Parse and validate a flow's YAML text; raise FlowInvalid listing every problem found.

    Intents answered from the FAQ file get its answer copied in; the file is looked up under `flows_dir`
    (default: the folder of `file`)."""
    try:
        doc = load_positioned(text)
    except YamlSyntaxError as exc:
        raise FlowInvalid([FlowError("yaml_syntax", file, exc.line, "", exc.message)]) from exc
    if not isinstance(doc.data, dict):
        raise FlowInvalid([FlowError("schema", file, 1, "", "a flow file must be a mapping")])
    try:
        flow = Flow.model_validate(doc.data)
    except ValidationError as exc:
        raise FlowInvalid(list(_schema_errors(exc, doc, file))) from exc
    flow, faq_errors = _with_faq_answers(flow, doc, file, flows_dir or Path(file).parent)
    errors = faq_errors + list(semantic_errors(flow, doc, file, set(actions)))
    if errors:
        raise FlowInvalid(errors)
    return flow


def _with_faq_answers(flow: Flow, doc: PositionedYaml, file: str, flows_dir: Path) -> tuple[Flow, list[FlowError]]:
    wanted = {name: i.faq for name, i in flow.intents.items() if i.faq}
    if not wanted:
        return flow, []
    path = faq_file(flows_dir, flow.language)
    answers, problems = load_faq(path, flow.language)
    errors = [FlowError("faq_invalid", p.file, p.line, p.path, p.message) for p in problems]
    reported = {p.path for p in problems}
    unreadable = bool(reported & {"", "answers"})  # the whole file failed: one error says so
    intents = dict(flow.intents)
    for name, topic in wanted.items():
        if topic in answers:
            intents[name] = intents[name].model_copy(update={"answer": answers[topic]})
        elif not unreadable and f"answers.{topic}" not in reported:
            errors.append(FlowError("unknown_faq_topic", file, doc.line_of(f"intents.{name}.faq"),
                                    f"intents.{name}.faq", f"no answer for topic '{topic}' in {path}"))
        if flow.intents[name].answer or flow.intents[name].goto:
            errors.append(FlowError("faq_with_answer", file, doc.line_of(f"intents.{name}"), f"intents.{name}",
                                    "an intent answered from the FAQ has no 'answer' or 'goto' of its own"))
    return flow.model_copy(update={"intents": intents}), errors


def _schema_errors(exc: ValidationError, doc: PositionedYaml, file: str) -> Iterator[FlowError]:
    for e in exc.errors():
        # Drop the discriminator tag pydantic inserts for node kinds (it is not a key in the file).
        parts: list[str] = []
        data = doc.data
        for p in e["loc"]:
            key = str(p)
            if isinstance(data, dict) and p in data:
                data = data[p]
            elif isinstance(data, list) and isinstance(p, int) and p < len(data):
                data = data[p]
            elif e["type"] not in ("missing", "extra_forbidden") or p != e["loc"][-1]:
                if parts and key in ("say", "ask", "branch", "action", "transfer", "callback", "end"):
                    continue
            parts.append(key)
        path = ".".join(parts)
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown key"
        elif e["type"] == "missing":
            msg = "required key is missing"
        yield FlowError("schema", file, doc.line_of(path), path, msg)


def semantic_errors(flow: Flow, doc: PositionedYaml, file: str, registry_actions: set[str]) -> Iterator[FlowError]:
    def err(rule: str, path: str, message: str) -> FlowError:
        return FlowError(rule, file, doc.line_of(path), path, message)

    known = set(flow.nodes) | set(BUILTIN_NODES)
    intents = set(flow.intents)

    # Targets: every place that names a node.
    edges: dict[str, list[str]] = {name: [] for name in known}
    broken = False
    for path, target, source in _targets(flow):
        if target not in known:
            broken = True
            yield err("unknown_target", path, f"unknown node '{target}'")
        elif source is not None:
            edges[source].append(target)

    for key in ("after_answer", "survey"):
        target = getattr(flow.settings, key)
        if target and target not in known:
            broken = True
            yield err("unknown_target", f"settings.{key}", f"unknown node '{target}'")
    if flow.start not in known:
        broken = True
        yield err("unknown_target", "start", f"unknown node '{flow.start}'")

    # Reachability from the start and from every intent (intents can be reached at any listening node).
    roots = [flow.start, *BUILTIN_NODES, *filter(None, [flow.settings.after_answer, flow.settings.survey])] + \
        [i.goto for i in flow.intents.values() if i.goto]
    seen: set[str] = set()
    todo = [r for r in roots if r in known]
    while todo:
        n = todo.pop()
        if n not in seen:
            seen.add(n)
            todo.extend(edges.get(n, []))
    # A broken link makes everything behind it unreachable too; report only the link itself.
    for name in flow.nodes if not broken else ():
        if name not in seen:
            yield err("unreachable_node", f"nodes.{name}", f"node '{name}' cannot be reached from start or any intent")

    if not broken:
        yield from (err("loop_without_listening", f"nodes.{n}", f"nodes {' -> '.join(cycle)} loop without ever "
                        "waiting for the caller") for n, cycle in _silent_loops(flow))

    for name in GLOBAL_INTENTS:
        if name not in intents:
            yield err("missing_global_intent", "intents", f"global intent '{name}' needs example utterances")
    for name, intent in flow.intents.items():
        if len(intent.examples) < MIN_EXAMPLES:
            yield err("too_few_examples", f"intents.{name}.examples",
                      f"intent '{name}' needs at least {MIN_EXAMPLES} examples")
        if name not in GLOBAL_INTENTS + SMALL_TALK_INTENTS and not intent.goto and not intent.answer \
                and not intent.faq:
            yield err("intent_without_effect", f"intents.{name}", f"intent '{name}' needs 'goto' or 'answer'")

    hints = [("settings.hints", flow.settings.hints), ("settings.yes_no_hints", flow.settings.yes_no_hints)] + [
        (f"nodes.{name}.hints", node.hints) for name, node in flow.nodes.items() if getattr(node, "hints", None)]
    for path, text in hints:
        if said := [w for w in tokens(text) if w.isdigit() or w in TENS or (w in UNITS and w not in NOT_DIGITS)]:
            yield err("number_in_hints", path, f"hints must not contain numbers ({', '.join(said)}): speech "
                      "recognition copies them into what the caller said")

    slots: set[str] = set()
    results: set[str] = set()
    for name, node in flow.nodes.items():
        base = f"nodes.{name}"
        if isinstance(node, AskNode):
            slots.add(node.slot)
            if node.type not in SLOT_TYPES:
                yield err("unknown_slot_type", f"{base}.type",
                          f"unknown slot type '{node.type}' (allowed: {', '.join(SLOT_TYPES)})")
            if (node.min_value is not None or node.max_value is not None) and node.type != "number":
                yield err("range_without_number", f"{base}.min_value", "min_value/max_value need type: number")
            for bound in ("earliest", "latest", "accept"):
                value = getattr(node, bound)
                if value is not None and (node.type != "time" or not _CLOCK.fullmatch(value)):
                    yield err("bad_time_bound", f"{base}.{bound}",
                              f"{bound} needs type: time and a time HH:MM, not '{value}'")
            if node.type == "choice" and not node.choices:
                yield err("choice_without_choices", f"{base}.choices", "a choice slot needs 'choices'")
            if node.type == "time" and (odd := [v for v in node.choices if not _CLOCK.fullmatch(v)]):
                yield err("time_choice_not_a_time", f"{base}.choices",
                          f"a time slot's choices map words to a time HH:MM, not {', '.join(odd)}")
            if node.date_slot and (node.type != "time" or not any(
                    isinstance(n, AskNode) and n.slot == node.date_slot and n.type == "date"
                    for n in flow.nodes.values())):
                yield err("date_slot_not_a_date", f"{base}.date_slot",
                          f"date_slot needs type: time and an ask node of type date for '{node.date_slot}'")
            if not _has_text(node.prompt):
                yield err("missing_prompt", f"{base}.prompt", f"ask node '{name}' has no prompt")
            yield from (err(rule, f"{base}.{field}", msg) for rule, field, msg in _confirm_errors(flow, node))
        elif isinstance(node, SayNode | YesNoNode | EndNode | CallbackNode) and not _has_text(node.say):
            yield err("missing_prompt", f"{base}.say", f"node '{name}' has nothing to say")
        elif isinstance(node, ActionNode):
            if node.result:
                results.add(node.result)
            if node.action not in flow.actions and node.action not in registry_actions:
                yield err("unknown_action", f"{base}.action", f"unknown action '{node.action}'")
        if isinstance(node, SayNode | YesNoNode):
            for intent in node.routes:
                if intent not in intents:
                    yield err("unknown_intent", f"{base}.routes.{intent}", f"unknown intent '{intent}'")
        if isinstance(node, SayNode):
            for key, intent in node.keys.items():
                if len(key) != 1 or key not in MENU_KEYS:
                    yield err("bad_key", f"{base}.keys.{key}", f"key '{key}' must be one of {' '.join(MENU_KEYS)} "
                              "(0 always connects a person)")
                if intent not in intents:
                    yield err("unknown_intent", f"{base}.keys.{key}", f"unknown intent '{intent}'")
            if node.number_intent is not None and node.number_intent not in intents:
                yield err("unknown_intent", f"{base}.number_intent", f"unknown intent '{node.number_intent}'")
            if node.keys_say is not None and not node.keys:
                yield err("keys_say_without_keys", f"{base}.keys_say", "keys_say reads out a keypad menu: add 'keys'")
        if isinstance(node, BranchNode):
            for i, case in enumerate(node.cases):
                if case.when.intent and case.when.intent not in intents:
                    yield err("unknown_intent", f"{base}.cases.{i}.when.intent",
                              f"unknown intent '{case.when.intent}'")

    # `known` reads the returning caller's profile or what an action found (the caller's latest order).
    for name, node in flow.nodes.items():
        if isinstance(node, AskNode) and node.known and node.known.split(".")[0] not in (
                results | {templates.PROFILE_VARIABLE}):
            yield err("undefined_variable", f"nodes.{name}.known",
                      f"'known' reads the returning caller's profile ('{templates.PROFILE_VARIABLE}.…') or an "
                      f"action's result ({', '.join(sorted(results)) or 'none in this flow'})")

    for key in (flow.settings.escalation or {}):
        if key not in EscalationSettings.model_fields:
            yield err("unknown_setting", f"settings.escalation.{key}",
                      f"unknown escalation setting '{key}' (allowed: {', '.join(EscalationSettings.model_fields)})")

    for rule, path, message in _language_offer_errors(flow):
        yield err(rule, path, message)

    defined = set(templates.BUILTIN_VARIABLES) | set(flow.variables) | slots | results | {templates.PROFILE_VARIABLE}
    yield from _profile_errors(flow, err, intents, defined)
    for var_name, var in flow.variables.items():
        if var.source not in templates.BUILTIN_VARIABLES:
            yield err("undefined_variable", f"variables.{var_name}.source", f"unknown source '{var.source}'")
    for path, text in _texts(flow):
        for name in templates.filters_in(text):
            if name not in templates.FILTERS:
                yield err("unknown_filter", path, f"unknown filter '{name}' (allowed: {', '.join(templates.FILTERS)})")
        local = WRONG_LENGTH_VARIABLES if path.startswith("messages.wrong_length") else \
            (templates.LOOKUP_VARIABLE,) if path == "profile.name" else \
            CONFIRM_VARIABLES if ".confirm_prompt" in path else ()
        for var in templates.variables_in(text):
            if var.split(".")[0] not in defined and var.split(".")[0] not in local:
                yield err("undefined_variable", path, f"undefined template variable '{var}'")


def _language_offer_errors(flow: Flow) -> Iterator[tuple[str, str, str]]:
    """A language key must mean only that language: not the flow's own language, not twice, not a menu key."""
    menu = {key: name for name, node in flow.nodes.items() if isinstance(node, SayNode) for key in node.keys}
    seen: set[str] = set()
    for i, offer in enumerate(flow.language_offers):
        path = f"language_offers.{i}"
        if offer.language == flow.language:
            yield "offers_own_language", f"{path}.language", f"the flow is in '{flow.language}' already"
        if offer.key in seen:
            yield "duplicate_language_key", f"{path}.key", f"key '{offer.key}' already chooses another language"
        seen.add(offer.key)
        if offer.key in menu:
            yield ("language_key_in_menu", f"{path}.key",
                   f"key '{offer.key}' is also a menu key of node '{menu[offer.key]}'")


def _confirm_errors(flow: Flow, node: AskNode) -> Iterator[tuple[str, str, str]]:
    """(rule, field, message) for an ask node's number confirmation (`confirm`, `confirm_prompt`)."""
    if node.confirm not in CONFIRM_MODES:
        yield "unknown_confirm_mode", "confirm", \
            f"unknown confirm mode '{node.confirm}' (allowed: {', '.join(CONFIRM_MODES)})"
        return
    if node.confirm == "never":
        return
    if node.type != "digits":
        yield "confirm_needs_digits", "confirm", f"only digits answers are read back, not '{node.type}'"
    if not _has_text(node.confirm_prompt):
        yield "missing_confirm_prompt", "confirm_prompt", "confirm needs a confirm_prompt, e.g. 'Did you say {heard}?'"
    if node.confirm == "uncertain" and flow.settings.confirm_below is None:
        yield "missing_confirm_threshold", "confirm", "confirm: uncertain needs settings.confirm_below (the ASR " \
            "confidence calibrated in bench/results/phone.md)"


def _silent_loops(flow: Flow) -> Iterator[tuple[str, list[str]]]:
    """Cycles through nodes that move on by themselves (say+next, branch): the bot would talk forever."""
    moves: dict[str, list[str]] = {}
    for name, node in flow.nodes.items():
        if isinstance(node, SayNode) and node.next:
            moves[name] = [node.next]
        elif isinstance(node, BranchNode):
            moves[name] = [c.goto for c in node.cases] + [node.default]
    reported: set[str] = set()
    for start in moves:
        stack = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for nxt in moves.get(node, []):
                if nxt == start and start not in reported:
                    reported.update(path)
                    yield start, [*path, start]
                elif nxt not in path and nxt in moves:
                    stack.append((nxt, [*path, nxt]))


def _has_text(value: str | list[str] | None) -> bool:
    if isinstance(value, list):
        return any(v.strip() for v in value)
    return bool(value and value.strip())


def _profile_errors(flow: Flow, err: Callable[[str, str, str], FlowError], intents: set[str],
                    defined: set[str]) -> Iterator[FlowError]:
    """The `profile` section: its lookup is a declared webhook, its conditions name known intents."""
    if flow.profile is None:
        return
    if flow.profile.lookup and flow.profile.lookup not in flow.actions:
        yield err("unknown_action", "profile.lookup", f"unknown webhook '{flow.profile.lookup}' (see actions)")
    conditions = [(f"profile.cases.{i}.when", c.when) for i, c in enumerate(flow.profile.cases)] + \
        [(f"profile.close_when.{i}", c) for i, c in enumerate(flow.profile.close_when)]
    for path, cond in conditions:
        if cond.intent and cond.intent not in intents:
            yield err("unknown_intent", f"{path}.intent", f"unknown intent '{cond.intent}'")
        if cond.visited and cond.visited not in flow.nodes:
            yield err("unknown_target", f"{path}.visited", f"unknown node '{cond.visited}'")
        if cond.var and cond.var.split(".")[0] not in defined:
            yield err("undefined_variable", f"{path}.var", f"undefined variable '{cond.var}'")


def _targets(flow: Flow) -> Iterator[tuple[str, str, str | None]]:
    """(path, target node, source node or None for intents)."""
    for name, intent in flow.intents.items():
        if intent.goto:
            yield f"intents.{name}.goto", intent.goto, None
    for name, node in flow.nodes.items():
        base = f"nodes.{name}"
        if isinstance(node, SayNode):
            if node.next:
                yield f"{base}.next", node.next, name
            for intent, target in node.routes.items():
                yield f"{base}.routes.{intent}", target, name
        elif isinstance(node, YesNoNode):
            yield f"{base}.on_yes", node.on_yes, name
            yield f"{base}.on_no", node.on_no, name
            for intent, target in node.routes.items():
                yield f"{base}.routes.{intent}", target, name
        elif isinstance(node, AskNode):
            yield f"{base}.next", node.next, name
            yield f"{base}.on_fail", node.on_fail, name
            if node.on_no is not None:
                yield f"{base}.on_no", node.on_no, name
            if node.before_asking is not None:
                yield f"{base}.before_asking", node.before_asking, name
        elif isinstance(node, BranchNode):
            for i, case in enumerate(node.cases):
                yield f"{base}.cases.{i}.goto", case.goto, name
            yield f"{base}.default", node.default, name
        elif isinstance(node, ActionNode):
            yield f"{base}.next", node.next, name
            yield f"{base}.on_error", node.on_error, name
            for status, target in node.on_status.items():
                yield f"{base}.on_status.{status}", target, name


def _texts(flow: Flow) -> Iterator[tuple[str, str]]:
    def each(path: str, value: object) -> Iterator[tuple[str, str]]:
        if isinstance(value, str):
            yield path, value
        elif isinstance(value, list):
            for i, v in enumerate(value):
                yield from each(f"{path}.{i}", v)
        elif isinstance(value, dict):
            for k, v in value.items():
                yield from each(f"{path}.{k}", v)

    yield from each("greeting", flow.greeting)
    for k, v in flow.messages.model_dump().items():
        yield from each(f"messages.{k}", v)
    for name, intent in flow.intents.items():
        if intent.answer:
            yield from each(f"intents.{name}.answer", intent.answer)
    for name, hook in flow.actions.items():
        yield from each(f"actions.{name}.url", hook.url)
        if hook.body:
            yield from each(f"actions.{name}.body", hook.body)
    if flow.profile is not None:
        yield from each("profile.name", flow.profile.name)
        for i, case in enumerate(flow.profile.cases):
            yield from each(f"profile.cases.{i}.fields", case.fields)
    for name, node in flow.nodes.items():
        for field in ("say", "prompt", "reprompts", "confirm_prompt", "keys_say", "help"):
            if hasattr(node, field):
                yield from each(f"nodes.{name}.{field}", getattr(node, field))

