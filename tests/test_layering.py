"""The packages layer the way the README's picture says, and no import hides inside a function.

Read from the source with `ast` (nothing is imported), so a wrong arrow fails here before it turns into an
import cycle at run time. Each rule is shown failing on a deliberately wrong import at the bottom.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("telephony", "voicebot")

# layer (a module prefix) -> the prefixes it must never import. Everything reads top-down: telephony/ (wire) <-
# voicebot/lines <- pipeline (audio) <- dialog (meaning) <- escalation (decision) <- store (Redis) <- web (HTTP);
# voicebot/app.py, the composition root, imports them all and nothing imports it but the CLI.
OURS = ("telephony", "voicebot")
OURS_BUT_CONFIG = ("telephony", *(f"voicebot.{m}" for m in (
    "app", "appkeys", "web", "lines", "pipeline", "dialog", "escalation", "store", "call_session", "callback_offer",
    "commands", "models", "drain", "lifecycle", "cluster", "jobs")))
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "telephony": ("voicebot",),  # wire only: could be published on its own
    "voicebot.config": OURS,
    "voicebot.store": ("telephony", "voicebot.app", "voicebot.appkeys", "voicebot.web", "voicebot.lines",
                       "voicebot.pipeline", "voicebot.dialog", "voicebot.escalation", "voicebot.call_session",
                       "voicebot.callback_offer", "voicebot.commands", "voicebot.models"),
    "voicebot.dialog": ("telephony", "voicebot.app", "voicebot.appkeys", "voicebot.web", "voicebot.lines",
                        "voicebot.pipeline", "voicebot.escalation", "voicebot.commands"),
    "voicebot.escalation": ("telephony", "voicebot.app", "voicebot.appkeys", "voicebot.web", "voicebot.lines",
                            "voicebot.pipeline", "voicebot.commands"),
    "voicebot.pipeline": ("telephony", "voicebot.app", "voicebot.appkeys", "voicebot.web", "voicebot.lines",
                          "voicebot.commands"),
    "voicebot.web": ("telephony", "voicebot.app", "voicebot.lines", "voicebot.pipeline", "voicebot.commands",
                     "voicebot.jobs"),
    "voicebot.lines": ("voicebot.app", "voicebot.commands"),
    # background jobs of a server process (retention, flow publication): on the stores, never HTTP or a line
    "voicebot.jobs": ("telephony", "voicebot.app", "voicebot.web", "voicebot.lines", "voicebot.pipeline",
                      "voicebot.commands"),
    "voicebot.appkeys": ("voicebot.app", "voicebot.commands"),
    # The process around the layers: the worker's drain (shared by the lines, the pipeline and /health: it knows
    # only the settings), the serve loop that runs whatever app it is handed, and the cluster tooling that starts
    # workers as processes and renders Kamailio's config (it never imports the server).
    "voicebot.drain": (*OURS_BUT_CONFIG,),
    "voicebot.lifecycle": ("telephony", "voicebot.app", "voicebot.appkeys", "voicebot.web", "voicebot.lines",
                           "voicebot.pipeline", "voicebot.commands", "voicebot.cluster"),
    "voicebot.cluster": (*OURS_BUT_CONFIG,),
    "voicebot.native_memory": OURS,  # the C allocator's settings: used by serve and the pipeline, imports nothing
}
# Only the store's own modules and the settings: the store is the bottom of the application.
STORE_MAY_IMPORT = ("voicebot.store", "voicebot.config")

# The one place an import may sit inside a function: the CLI's subcommands load heavy libraries only when the
# subcommand runs, so `voicebot --help` and light subcommands (users, privacy, flows validate) start fast.
CLI = ("voicebot.commands.",)
CLI_LAZY_HEAVY = {
    "voicebot.app": "the whole server: pipecat, onnxruntime, scikit-learn",
    "voicebot.pipeline": "pipecat, onnxruntime, faster-whisper, piper",
    "voicebot.lines": "the pipeline (pipecat)",
    "voicebot.dialog.loader": "scikit-learn NLU training",
    "voicebot.dialog.registry": "scikit-learn NLU training",
    "voicebot.dialog.flowtests": "scikit-learn NLU training",
}


def _under(name: str, prefixes: tuple[str, ...] | str) -> bool:
    prefixes = (prefixes,) if isinstance(prefixes, str) else prefixes
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _sources() -> dict[str, str]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            found[module] = path.read_text()
    return found


def _imports(source: str) -> list[tuple[str, int, bool]]:
    """(imported module, line, inside a function?) for every import, also under `if TYPE_CHECKING:`.
    `from a import b` counts as importing `a` and `a.b` (b may be a module: `from voicebot import app`)."""
    out: list[tuple[str, int, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                out.extend((alias.name, child.lineno, in_function) for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                out.append((child.module, child.lineno, in_function))
                # `from voicebot import app` imports voicebot.app
                out.extend((f"{child.module}.{alias.name}", child.lineno, in_function) for alias in child.names)
            else:
                visit(child, inner)

    visit(ast.parse(source), False)
    return out


def layering_violations(sources: dict[str, str]) -> list[str]:
    problems = []
    for module, source in sources.items():
        rules = [(layer, banned) for layer, banned in FORBIDDEN.items() if _under(module, layer)]
        for imported, line, _ in _imports(source):
            if _under(module, "voicebot.store") and _under(imported, OURS) and not _under(imported, STORE_MAY_IMPORT):
                problems.append(f"{module}:{line} imports {imported} (the store imports only the store and config)")
                continue
            for layer, banned in rules:
                if _under(imported, banned) and not _under(imported, layer):
                    problems.append(f"{module}:{line} imports {imported} ({layer} must not import it)")
    return sorted(set(problems))


def function_import_violations(sources: dict[str, str]) -> list[str]:
    problems = []
    for module, source in sources.items():
        for imported, line, in_function in _imports(source):
            if not in_function:
                continue
            if module.startswith(CLI) and _under(imported, tuple(CLI_LAZY_HEAVY)):
                continue
            problems.append(f"{module}:{line} imports inside a function")
    return sorted(set(problems))


def test_every_arrow_runs_down() -> None:
    assert layering_violations(_sources()) == []


def test_no_import_inside_a_function_except_the_clis_heavy_ones() -> None:
    assert function_import_violations(_sources()) == []


def test_a_wrong_arrow_is_caught() -> None:
    sources = _sources()
    wrong = {
        "telephony.sip.bad": "from voicebot.config import SipSettings\n",  # the wire reaching into the app
        "voicebot.store.bad": "from voicebot.dialog.types import CallInfo\n",  # the store above config
        "voicebot.dialog.bad": "if True:\n    import voicebot.escalation.tracker\n",  # dialog calls its protocol
        "voicebot.web.bad": "from voicebot.lines import sip\n",  # web serving a line's internals
        "voicebot.pipeline.bad": "from voicebot import app\n",  # anything but the CLI importing the root
        "voicebot.drain.bad": "from voicebot.pipeline.frames import MaintenanceFrame\n",  # the drain above config
        "voicebot.cluster.bad": "from voicebot.app import create_app\n",  # tooling importing the server
        "voicebot.jobs.bad": "from voicebot.web.render import render\n",  # a background job serving pages
    }
    found = layering_violations({**sources, **wrong})
    assert sorted({p.split(":")[0] for p in found}) == sorted(wrong), found


def test_an_import_hidden_in_a_function_is_caught() -> None:
    hidden = "def transfer():\n    from telephony.sip.transfer import transfer_call\n"
    assert function_import_violations({"telephony.sip.call": hidden}) == [
        "telephony.sip.call:2 imports inside a function"]
    # The CLI may load a heavy library lazily, but not a light module it could import at the top.
    cli = "def run():\n    import voicebot.app\n    from voicebot.store.calls import CallStore\n"
    assert function_import_violations({"voicebot.commands.x": cli}) == [
        "voicebot.commands.x:3 imports inside a function"]
