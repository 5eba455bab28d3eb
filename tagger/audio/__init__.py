"""Audio in: decoding any supported file to mono float32, and cutting it into windows."""

from tagger.audio.decode import AUDIO_EXTENSIONS, DecodedAudio, DecodedWindows, UnreadableAudio, decodable_duration, decode, decode_windows
from tagger.audio.windows import DEFAULT_MAX_WINDOWS, WindowSpec, Windows, cut_windows, plan_windows

__all__ = [
    "AUDIO_EXTENSIONS",
    "DEFAULT_MAX_WINDOWS",
    "DecodedAudio",
    "DecodedWindows",
    "UnreadableAudio",
    "decodable_duration",
    "decode",
    "decode_windows",
    "WindowSpec",
    "Windows",
    "cut_windows",
    "plan_windows",
]
