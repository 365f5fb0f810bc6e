"""Escalation policy: when to hand a caller to a human, and the handoff package the human receives."""

from voicebot.escalation.tracker import Tracker, make_tracker

__all__ = ["Tracker", "make_tracker"]
