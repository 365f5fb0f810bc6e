"""What a call needs from its process, passed to `voicebot.pipeline.call.run_call`.

Built once per process (by `voicebot serve`, `voicebot call`, or a test) and shared by every call:
the models are loaded once, the dialog engine holds compiled flows, the store holds the Redis client.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from voicebot.call_session import HandoffWriter
from voicebot.callback_offer import CallbackOffer
from voicebot.config import Settings
from voicebot.dialog.types import DialogEngine
from voicebot.drain import Drain
from voicebot.store.calls import CallStore
from voicebot.store.recordings import RecordingIndex


@dataclass
class CallServices:
    settings: Settings
    models: Any  # voicebot.pipeline.models.SharedModels (Any here to keep this module import-light)
    dialog: DialogEngine
    store: CallStore | None = None
    write_handoff: HandoffWriter | None = None
    # Books a callback when a transfer fails (the human line did not answer); None: the caller is asked
    # to call again instead.
    callbacks: CallbackOffer | None = None
    # The worker's drain (SIGTERM): calls register while they run and hand over when it says so.
    drain: Drain | None = None
    # Where call recordings are indexed (privacy.record_audio on and a store); None: calls are not recorded.
    recordings: RecordingIndex | None = None
