"""All flows of a process, by (flow id, language), with every version kept.

A broken file never replaces a working flow: `reload()` keeps the previous version and reports the
errors. Sessions hold the `LoadedFlow` they started with, so a live call finishes on its version.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from voicebot.config import BusinessHoursSettings
from voicebot.dialog.core import FlowMachine, Staffed
from voicebot.dialog.hours import BusinessHours
from voicebot.dialog.nlu import IntentClassifier
from voicebot.dialog.schema import Flow
from voicebot.dialog.validate import FlowError, FlowInvalid, parse_flow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedFlow:
    flow: Flow
    machine: FlowMachine
    nlu: IntentClassifier
    version: int
    sha: str
    source: str  # file path or "<published>"
    text: str
    train_secs: float

    @property
    def key(self) -> tuple[str, str]:
        return self.flow.id, self.flow.language


def compile_flow(text: str, source: str, default_hours: BusinessHoursSettings, actions: Iterable[str] = (),
                 version: int = 1, flows_dir: Path | None = None, staffed: Staffed | None = None) -> LoadedFlow:
    """Validate, train the NLU and build the state machine; raise FlowInvalid on any error.

    `flows_dir` holds the FAQ files (default: the folder of `source`); `staffed`: see FlowMachine."""
    return build_loaded(parse_flow(text, source, actions, flows_dir), text, source, default_hours, version,
                        staffed)


def build_loaded(flow: Flow, text: str, source: str, default_hours: BusinessHoursSettings,
                 version: int = 1, staffed: Staffed | None = None) -> LoadedFlow:
    """Train the NLU and build the state machine for an already validated flow."""
    t0 = time.perf_counter()
    examples = {name: list(i.examples) for name, i in flow.intents.items()}
    nlu = IntentClassifier(examples, list(flow.out_of_scope), flow.settings.nlu_threshold, flow.language,
                           tuple(flow.out_of_scope_topics),
                           {name: i.min_confidence for name, i in flow.intents.items() if i.min_confidence is not None},
                           frozenset(name for name, i in flow.intents.items() if i.reports_trouble),
                           frozenset(name for name, i in flow.intents.items() if i.untroubled),
                           frozenset(name for name, i in flow.intents.items() if i.faq))
    train = time.perf_counter() - t0
    hours = BusinessHours.from_settings(flow.settings.business_hours or default_hours)
    # The FAQ answers count: an edited FAQ file makes a new version even though the flow text is the same.
    sha = _sha(text + flow.model_dump_json(include={"intents"}))
    return LoadedFlow(flow, FlowMachine(flow, hours, staffed), nlu, version, sha, source, text, train)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass
class FlowRegistry:
    directory: Path
    default_hours: BusinessHoursSettings = field(default_factory=BusinessHoursSettings)
    actions: frozenset[str] = frozenset()
    staffed: Staffed | None = None  # skill lines' own hours (FlowMachine); None: business hours only
    _versions: dict[tuple[str, str], list[LoadedFlow]] = field(default_factory=dict)

    def files(self) -> list[Path]:
        return sorted(p for p in self.directory.glob("*.yaml") if p.is_file())

    def reload(self) -> list[FlowError]:
        """(Re)load every flow file; return the errors. A file with errors leaves its flow as it was."""
        errors: list[FlowError] = []
        for path in self.files():
            text = path.read_text(encoding="utf-8")
            try:
                self.publish(text, str(path))
            except FlowInvalid as exc:
                log.error("flow %s not loaded:\n%s", path, exc)
                errors += exc.errors
        return errors

    def publish(self, text: str, source: str = "<published>") -> LoadedFlow:
        """Make `text` the live version of its flow (unchanged text keeps the current version)."""
        loaded = compile_flow(text, source, self.default_hours, self.actions, flows_dir=self.directory,
                              staffed=self.staffed)
        history = self._versions.setdefault(loaded.key, [])
        if history and history[-1].sha == loaded.sha:
            return history[-1]
        loaded = LoadedFlow(**{**loaded.__dict__, "version": len(history) + 1})
        history.append(loaded)
        log.info("flow %s.%s version %d live (NLU trained in %.2fs)", *loaded.key, loaded.version, loaded.train_secs)
        return loaded

    def get(self, flow_id: str, language: str) -> LoadedFlow | None:
        history = self._versions.get((flow_id, language))
        return history[-1] if history else None

    def versions(self, flow_id: str, language: str) -> list[LoadedFlow]:
        return list(self._versions.get((flow_id, language), []))

    def languages(self, flow_id: str) -> list[str]:
        return sorted(lang for (fid, lang) in self._versions if fid == flow_id)

    def flow_ids(self) -> list[str]:
        return sorted({fid for fid, _ in self._versions})
