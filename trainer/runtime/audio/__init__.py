"""Audio in: decoding any supported file to mono float32, and cutting it into windows."""

from trainer.runtime.audio.decode import (
    AUDIO_EXTENSIONS,
    DecodedAudio,
    DecodedWindows,
    UnreadableAudio,
    decodable_duration,
    decode,
    decode_windows,
)
from trainer.runtime.audio.windows import (
    DEFAULT_MAX_WINDOWS,
    WindowChoice,
    Windows,
    WindowSpec,
    cut_windows,
    plan_windows,
)

__all__ = [
    "AUDIO_EXTENSIONS",
    "DEFAULT_MAX_WINDOWS",
    "DecodedAudio",
    "DecodedWindows",
    "UnreadableAudio",
    "decodable_duration",
    "decode",
    "decode_windows",
    "WindowChoice",
    "WindowSpec",
    "Windows",
    "cut_windows",
    "plan_windows",
]
