"""Offline voicebot call center: telephony -> pipeline -> dialog -> escalation -> store -> web."""

__version__ = "0.1.0"
