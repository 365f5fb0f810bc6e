"""Log lines cannot be forged: a newline (or any control character) in wire data stays inside its line,
and PII in a log message is redacted like a transcript."""

from __future__ import annotations

import io
import logging
import subprocess
import sys

from voicebot import log_lines
from voicebot.config import PROJECT_ROOT
from voicebot.store.redact import redact


def test_a_newline_in_a_call_sid_cannot_start_a_fake_log_line() -> None:
    out = io.StringIO()
    logger = logging.getLogger("test.log_lines")
    logger.propagate = False
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    log_lines.install(redact, logger)
    try:
        forged = "CA1\n2026-12-02 01:00:00,000 INFO voicebot.web.security: admin logged in\x1b[2J"
        logger.warning("twilio call %s: start refused, caller said %s", forged, "PESEL 44051401359")
        try:
            raise ValueError("bad\nthing")
        except ValueError:
            logger.exception("failed for %s", "CA2\r\nINFO fake")
    finally:
        logger.removeHandler(handler)
    lines = out.getvalue().splitlines()
    assert lines[0] == ("WARNING test.log_lines: twilio call CA1\\x0a2026-12-02 01:00:00,000 INFO voicebot.web."
                        "security: admin logged in\\x1b[2J: start refused, caller said PESEL [PESEL]")
    assert lines[1] == "ERROR test.log_lines: failed for CA2\\x0d\\x0aINFO fake"
    assert lines[2].startswith("Traceback")  # our own traceback keeps its lines
    assert not any(line.startswith("INFO") or "admin logged in" in line for line in lines[1:])


CLI_WITH_A_LOGGING_COMMAND = """
import logging, sys
import voicebot.cli as cli

def command(args, settings):
    logging.getLogger("x").warning("sid %s", "A\\nB PESEL 44051401359")
    return 0

parser = cli.build_parser()
parse = parser.parse_args
def parse_args(argv=None):
    args = parse(["users", "list"])
    args.func = command
    return args
parser.parse_args = parse_args
cli.build_parser = lambda: parser
sys.exit(cli.main([]))
"""


def test_the_command_line_installs_the_filter() -> None:
    done = subprocess.run([sys.executable, "-c", CLI_WITH_A_LOGGING_COMMAND], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=60, env={"PATH": "/usr/bin:/bin", "VOICEBOT_CONFIG": "/nonexistent.toml"})
    assert done.returncode == 0, done.stderr
    assert "sid A\\x0aB PESEL [PESEL]" in done.stderr, done.stderr
