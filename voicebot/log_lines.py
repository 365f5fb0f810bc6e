"""Log lines nobody can forge or fill with PII: one filter on the process's log handlers.

Text from callers and the wire (a Twilio callSid, a SIP header, an exception message quoting them) ends
up in log messages. A newline in it would start a fake line ("... INFO ...: admin logged in"); terminal
escapes would rewrite what an operator sees. The filter formats each message once, escapes every control
character (``\\n`` -> ``\\x0a``), and, with privacy.redact_pii on, runs the transcript's PII redaction over
it. Tracebacks (`exc_info`) keep their own lines: they are ours, and the message above them is escaped.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

# C0 controls, DEL, C1 controls and the Unicode line/paragraph separators.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def escape_controls(text: str) -> str:
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group(0)):02x}" if ord(m.group(0)) < 0x100
                        else f"\\u{ord(m.group(0)):04x}", text)


class SafeLines(logging.Filter):
    def __init__(self, redact: Callable[[str], str] | None = None) -> None:
        super().__init__()
        self.redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: let the handler report it as logging does
            return True
        clean = escape_controls(self.redact(message) if self.redact else message)
        if clean != message or record.args:
            record.msg, record.args = clean, None
        return True


def install(redact: Callable[[str], str] | None = None, logger: logging.Logger | None = None) -> SafeLines:
    """Put the filter on every handler of `logger` (the root logger): it sees all records, whatever logger."""
    safe = SafeLines(redact)
    for handler in (logger or logging.getLogger()).handlers:
        for old in [f for f in handler.filters if isinstance(f, SafeLines)]:
            handler.removeFilter(old)
        handler.addFilter(safe)
    return safe
