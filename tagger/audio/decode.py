"""Decode any supported audio file to mono float32 at a requested sample rate.

soundfile (libsndfile) reads WAV, FLAC, Ogg Vorbis, Opus, MP3 and AIFF quickly; M4A/AAC and
anything libsndfile refuses go through torchcodec (FFmpeg). Both paths return the file's native
rate, and a single resampler (soxr, the same one ``librosa.load`` uses by default) brings every
format to the rate the model was trained at, so no format gets a different resampling.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

AUDIO_EXTENSIONS = frozenset(
    {".mp3", ".flac", ".ogg", ".oga", ".opus", ".m4a", ".mp4", ".aac", ".wav", ".aif", ".aiff", ".au"}
)


class UnreadableAudio(Exception):
    """A file that cannot be decoded; ``reason`` is a short sentence for the user."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = Path(path)
        self.reason = reason


@dataclass(frozen=True)
class DecodedAudio:
    """Mono float32 samples at ``sample_rate``; ``source_rate`` and ``channels`` describe the file."""

    samples: np.ndarray
    sample_rate: int
    source_rate: int
    channels: int

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate


def _read_soundfile(path: Path) -> tuple[np.ndarray, int]:
    data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    return data, int(rate)


def _read_ffmpeg(path: Path) -> tuple[np.ndarray, int]:
    from torchcodec.decoders import AudioDecoder  # imported lazily: FFmpeg libraries load slowly

    decoder = AudioDecoder(str(path))
    rate = decoder.metadata.sample_rate
    samples = decoder.get_all_samples()
    return samples.data.numpy().T.astype(np.float32, copy=False), int(samples.sample_rate or rate)


def decode(path: Path | str, sample_rate: int) -> DecodedAudio:
    """Decode ``path`` to mono float32 at ``sample_rate`` Hz (channels averaged, like librosa).

    Raises ``UnreadableAudio`` with a reason for missing, empty, truncated or non-audio files.
    """
    path = Path(path)
    if not path.is_file():
        raise UnreadableAudio(path, "file not found")
    if path.stat().st_size == 0:
        raise UnreadableAudio(path, "file is empty (0 bytes)")
    errors: list[str] = []
    data: np.ndarray | None = None
    rate = 0
    for reader in (_read_soundfile, _read_ffmpeg):
        try:
            data, rate = reader(path)
            break
        except Exception as exc:  # each backend raises its own types; keep the message
            errors.append(f"{reader.__name__.removeprefix('_read_')}: {exc}".strip())
    if data is None:
        raise UnreadableAudio(path, "not a readable audio file (" + "; ".join(errors) + ")")
    if data.shape[0] == 0 or rate <= 0:
        raise UnreadableAudio(path, "no audio samples in file")
    mono = data.mean(axis=1, dtype=np.float32) if data.shape[1] > 1 else data[:, 0]
    if not np.all(np.isfinite(mono)):
        raise UnreadableAudio(path, "audio contains non-finite samples")
    if rate != sample_rate:
        mono = soxr.resample(mono, rate, sample_rate, quality="HQ").astype(np.float32, copy=False)
    return DecodedAudio(np.ascontiguousarray(mono), sample_rate, rate, int(data.shape[1]))
