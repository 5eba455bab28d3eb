"""Helpers shared by the tests: where the shared data lives, and audio files in every format."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import soundfile as sf

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"
GTZAN = SHARED / "data" / "gtzan"

# Every format the tagger promises to read, with the container it is written in.
FORMATS = ("wav", "flac", "ogg", "opus", "mp3", "m4a", "aiff")


def gtzan_dir() -> Path:
    """The shared GTZAN folder; fails loudly (never skips) when the checkout lacks it."""
    if not (GTZAN / "features_30_sec.csv").is_file():
        raise FileNotFoundError(
            f"shared GTZAN data not found at {GTZAN}: the tests expect ../shared beside the repo"
        )
    return GTZAN


def tone(duration_s: float, sample_rate: int = 44100, freq: float = 440.0, channels: int = 1) -> np.ndarray:
    """A quiet sine (frames, channels) with a little noise, so lossy encoders keep some content."""
    t = np.arange(int(round(duration_s * sample_rate))) / sample_rate
    rng = np.random.default_rng(int(freq))
    x = 0.3 * np.sin(2 * np.pi * freq * t) + 0.01 * rng.standard_normal(len(t))
    return np.repeat(x[:, None], channels, axis=1).astype(np.float32)


def write_audio(path: Path, samples: np.ndarray, sample_rate: int) -> Path:
    """Write ``samples`` (frames[, channels]) to ``path`` in the format its suffix names.

    WAV, FLAC, Ogg Vorbis and AIFF go through soundfile; MP3, Opus and M4A/AAC through ffmpeg
    from a temporary WAV, as a user's ripper would produce them.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = path.suffix.lower().lstrip(".")
    native = {"wav": ("WAV", "PCM_16"), "flac": ("FLAC", "PCM_16"), "ogg": ("OGG", "VORBIS"),
              "aiff": ("AIFF", "PCM_16"), "aif": ("AIFF", "PCM_16")}
    if fmt in native:
        container, subtype = native[fmt]
        sf.write(str(path), samples, sample_rate, format=container, subtype=subtype)
        return path
    codec = {"mp3": ["-c:a", "libmp3lame", "-b:a", "128k"], "opus": ["-c:a", "libopus", "-b:a", "96k"],
             "m4a": ["-c:a", "aac", "-b:a", "128k"]}[fmt]
    tmp = path.with_suffix(".src.wav")
    sf.write(str(tmp), samples, sample_rate, subtype="PCM_16")
    try:
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(tmp), *codec, str(path)], check=True)
    finally:
        tmp.unlink()
    return path
