"""Offline voicebot call center: telephony (wire) -> lines -> pipeline -> dialog -> escalation -> store -> web.

`voicebot.app` is the composition root that builds them; `telephony/` (a separate package) imports nothing from here.
"""

__version__ = "0.1.0"
