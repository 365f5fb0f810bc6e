"""FAQ answers an admin edits without touching a flow: `dialogs/faq/<lang>.yaml` maps a topic to its answer.

A flow intent with `faq: delivery` answers with the text under `answers.delivery` of its language's file.
The file is validated like a flow (every problem with its line), and the answer is copied into the flow
when it loads, so a changed answer goes live with the next reload like any flow edit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from voicebot.dialog.yamlpos import YamlSyntaxError, load_positioned

FAQ_FOLDER = "faq"  # under the flows folder; not a flow itself (the registry reads only top-level *.yaml)
_TOPIC = re.compile(r"^[a-z][a-z0-9_]*$")

Answer = str | list[str]


@dataclass(frozen=True)
class FaqProblem:
    file: str
    line: int
    path: str
    message: str


def faq_file(flows_dir: Path, language: str) -> Path:
    return flows_dir / FAQ_FOLDER / f"{language}.yaml"


def load_faq(path: Path, language: str) -> tuple[dict[str, Answer], list[FaqProblem]]:
    """The answers by topic, and every problem found (an answer with a problem is left out)."""
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        return {}, [FaqProblem(file, 1, "", f"cannot read the FAQ file: {exc.strerror or exc}")]
    try:
        doc = load_positioned(text)
    except YamlSyntaxError as exc:
        return {}, [FaqProblem(file, exc.line, "", exc.message)]
    data = doc.data
    if not isinstance(data, dict) or not isinstance(data.get("answers"), dict):
        return {}, [FaqProblem(file, 1, "answers", "a FAQ file needs 'answers': a mapping of topic -> answer")]
    problems = [FaqProblem(file, doc.line_of(k), k, "unknown key (allowed: language, answers)")
                for k in data if k not in ("language", "answers")]
    if data.get("language", language) != language:
        problems.append(FaqProblem(file, doc.line_of("language"), "language",
                                   f"language must be {language!r} (the file name says so)"))
    answers: dict[str, Answer] = {}
    for topic, answer in data["answers"].items():
        where = f"answers.{topic}"
        if not isinstance(topic, str) or not _TOPIC.match(topic):
            problems.append(FaqProblem(file, doc.line_of(where), where,
                                       "a topic is lower-case letters, digits and _ (e.g. delivery_cost)"))
        elif not _is_text(answer):
            problems.append(FaqProblem(file, doc.line_of(where), where,
                                       "an answer is a non-empty text or a list of non-empty texts"))
        else:
            answers[topic] = answer
    return answers, problems


def _is_text(value: object) -> bool:
    if isinstance(value, str):
        return bool(value.strip())
    return isinstance(value, list) and bool(value) and all(isinstance(v, str) and v.strip() for v in value)
