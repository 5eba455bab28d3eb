"""Audio in: decoding any supported file to mono float32, and cutting it into windows."""

from tagger.audio.decode import AUDIO_EXTENSIONS, DecodedAudio, UnreadableAudio, decode
from tagger.audio.windows import WindowSpec, Windows, cut_windows

__all__ = [
    "AUDIO_EXTENSIONS",
    "DecodedAudio",
    "UnreadableAudio",
    "decode",
    "WindowSpec",
    "Windows",
    "cut_windows",
]
