"""The flow editor's view of the dialog engine: validation with line numbers, and the flow's test cases.

The validator and test runner belong to voicebot.dialog; this module only adapts their answers to what
the editor shows (line -> message) and never validates flows itself.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from voicebot.config import Settings
from voicebot.dialog.flowtests import load_test_files, run_flow_tests
from voicebot.dialog.validate import FlowInvalid, parse_flow
from voicebot.store.flows import FlowStore

FLOW_FILE_RE = re.compile(r"^(?P<flow>[a-z0-9_-]+)\.(?P<lang>[a-z]{2})\.ya?ml$")


@dataclass(frozen=True)
class Problem:
    line: int | None
    message: str


@dataclass(frozen=True)
class TestReport:
    passed: int
    failures: list[str]

    @property
    def ok(self) -> bool:
        return not self.failures


class FlowChecker:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def validate(self, flow_id: str, lang: str, text: str) -> list[Problem]:
        """Every problem the dialog engine finds, each with its line in `text` when known."""
        try:
            flow = parse_flow(text, file=f"{flow_id}.{lang}.yaml",
                              flows_dir=self.settings.path(self.settings.dialog.flows_dir))
        except FlowInvalid as exc:
            return [Problem(e.line, f"{e.path}: {e.message}" if e.path else e.message) for e in exc.errors]
        except yaml.YAMLError:  # e.g. control characters: the YAML reader refuses them before parsing
            return _yaml_problems(text) or [Problem(None, "not readable as YAML")]
        problems = []
        if getattr(flow, "id", flow_id) != flow_id:
            problems.append(Problem(1, f"id: must be {flow_id!r} (the flow being edited)"))
        if getattr(flow, "language", lang) != lang:
            problems.append(Problem(1, f"language: must be {lang!r} (the flow being edited)"))
        return problems

    def tests_dir(self) -> Path:
        return self.settings.path(self.settings.dialog.flows_dir) / "tests"

    async def run_tests(self, flow_id: str, lang: str, text: str) -> TestReport:
        """Run the flow's test conversations (dialogs/tests/*.yaml) against `text`, not the live version.

        A flow with no test conversation cannot be published: "no failures" would then prove nothing.
        """
        try:
            files = [f for f in await asyncio.to_thread(load_test_files, self.tests_dir(), flow_id)
                     if f.language == lang]
        except ValueError as exc:
            return TestReport(0, [str(exc)])
        if not files:
            return TestReport(0, [f"no test conversations for {flow_id}/{lang} under {self.tests_dir()}"])
        passed, failures = 0, []
        for tf in files:
            try:
                results = await run_flow_tests(text, tf, settings=self.settings)
            except FlowInvalid as exc:
                return TestReport(0, [f"does not validate: {e}" for e in exc.errors])
            for r in results:
                if r.passed:
                    passed += 1
                else:
                    failures.append(f"{r.name}: " + "; ".join(r.failures))
        return TestReport(passed, failures)


def _yaml_problems(text: str) -> list[Problem]:
    try:
        yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        return [Problem(mark.line + 1 if mark else None, str(exc.problem or exc))]
    except yaml.YAMLError as exc:
        return [Problem(None, str(exc))]
    return []


async def seed_flows(store: FlowStore, settings: Settings) -> int:
    """Import `dialogs/{flow}.{lang}.yaml` files that Redis does not know yet (first start)."""
    imported = 0
    for flow_id, lang, text in await asyncio.to_thread(read_flow_files, settings.path(settings.dialog.flows_dir)):
        if await store.seed(flow_id, lang, text):
            imported += 1
    return imported


def read_flow_files(directory: Path) -> list[tuple[str, str, str]]:
    """(flow id, language, YAML text) for each `{flow}.{lang}.yaml` in `directory`."""
    if not directory.is_dir():
        return []
    out = []
    for path in sorted(directory.iterdir()):
        m = FLOW_FILE_RE.match(path.name)
        if m:
            out.append((m["flow"], m["lang"], path.read_text(encoding="utf-8")))
    return out
