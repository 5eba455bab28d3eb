import os

# The GUI tests draw offscreen; set before any Qt import.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest

from tests.support import gtzan_dir


@pytest.fixture(scope="session")
def real_clips() -> dict[str, np.ndarray]:
    """The readable real GTZAN clips in ../shared, decoded once: song id -> samples at 22050 Hz."""
    from trainer.runtime.audio import decode

    folder = gtzan_dir() / "genres_original"
    files = sorted(p for p in folder.rglob("*.wav") if p.name != "jazz.00054.wav")
    assert len(files) == 30, f"expected 30 readable clips in {folder}, found {len(files)}"
    return {p.stem: decode(p, 22050).samples for p in files}


@pytest.fixture(scope="session")
def librosa_rows(real_clips) -> dict[str, np.ndarray]:
    """The reference (librosa) GTZAN features of every real clip, computed once per session."""
    from concurrent.futures import ProcessPoolExecutor

    from trainer.runtime.features.gtzan_csv import librosa_features

    with ProcessPoolExecutor(2) as pool:
        rows = list(pool.map(librosa_features, real_clips.values()))
    return dict(zip(real_clips, rows))
