"""`voicebot simulate` and `voicebot flows test` as a user runs them (subprocesses, real demo CRM)."""

from __future__ import annotations

import json
import subprocess
import sys

from voicebot.config import PROJECT_ROOT

SCRIPT = """where is my order
four eight one five two
thanks, bye
one more line after the end

chcę rozmawiać z konsultantem
#dtmf 0
"""


def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "voicebot", *args], input=stdin, capture_output=True, text=True,
                          cwd=PROJECT_ROOT, timeout=120)


def test_simulate_jsonl_one_object_per_line_with_greeting_as_turn_0() -> None:
    done = run("simulate", "--flow", "customer_service", "--lang", "en", "--jsonl", "--now", "2026-11-25T10:00",
               stdin=SCRIPT)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(r["call"], r["turn"]) for r in rows] == [(1, 0), (1, 1), (1, 2), (1, 3), (1, 4), (2, 0), (2, 1), (2, 2)]
    for key in ("caller", "intent", "confidence", "slots", "node", "reply", "action", "reason", "frustration",
                "signals"):
        assert all(key in r for r in rows), key
    assert rows[0]["caller"] == "" and "automated assistant" in rows[0]["reply"]
    assert rows[1]["intent"] == "order_status" and rows[1]["node"] == "ask_order"
    assert rows[2]["slots"] == {"order_number": "48152"} and "coffee grinder" in rows[2]["reply"]
    assert rows[3]["action"] == "end" and rows[4]["action"] == "end"
    assert rows[6]["caller"] == "chcę rozmawiać z konsultantem"
    assert rows[7]["caller"] == "#dtmf 0"


def test_simulate_after_hours_polish_human_readable() -> None:
    # A person asked for on Sunday: the number confirmed, the first time offered taken.
    done = run("simulate", "--lang", "pl", "--now", "2026-11-29T12:00",
               stdin="chcę rozmawiać z człowiekiem\ntak\npierwszy\n")
    assert done.returncode == 0, done.stderr
    assert "--- call 1 ---" in done.stdout and "<callback: explicit_request>" in done.stdout
    assert "poniedziałek, 30 listopada o 8:00" in done.stdout


def test_flows_test_passes_for_the_default_flow_with_40_plus_conversations() -> None:
    done = run("flows", "test", "--flow", "customer_service")
    assert done.returncode == 0, done.stdout + done.stderr
    passed, total = done.stdout.strip().splitlines()[-1].split()[0].split("/")
    assert passed == total and int(total) >= 40
    assert " en " in done.stdout and " pl " in done.stdout


def test_flows_test_fails_with_a_table_when_a_conversation_breaks(tmp_path) -> None:
    (tmp_path / "bad.yaml").write_text(
        "flow: customer_service\nlanguage: en\ncases:\n"
        "  - name: wrong expectation\n    turns:\n      - {say: where is my order, node: menu}\n",
        encoding="utf-8")
    done = run("flows", "test", "--tests", str(tmp_path))
    assert done.returncode == 1
    assert "FAIL" in done.stdout and "node 'ask_order', expected 'menu'" in done.stdout
