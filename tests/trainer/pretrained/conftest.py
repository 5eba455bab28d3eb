"""Shared by the pretrained-method tests: a tiny synthetic audio set with a song-level split, a
tiny randomly initialised wav2vec2 saved as a user's weights folder, and bundle helpers."""

from pathlib import Path

import numpy as np
import pytest
import torch

from tagger.engine import Classifier
from trainer import bundle
from trainer.data.audio_source import AudioSource, open_audio_source
from trainer.data.splits import Split
from trainer.data.synthetic import generate
from trainer.runtime.audio import WindowSpec

CLIP_S = 1.5
WINDOW = {"length_s": CLIP_S, "hop_s": CLIP_S}


@pytest.fixture(autouse=True)
def _tiny_networks_one_thread(one_torch_thread):
    """See ``tests/trainer/conftest.py``."""


@pytest.fixture(scope="session")
def clips(tmp_path_factory) -> Path:
    """Four 1.5-s clips of each of the six synthetic genres, at 16 kHz."""
    return generate(tmp_path_factory.mktemp("clips"), n_per_class=4, duration_s=CLIP_S, sample_rate=16000)


@pytest.fixture(scope="session")
def source(clips, tmp_path_factory) -> AudioSource:
    return open_audio_source(clips, window=WindowSpec(CLIP_S, CLIP_S), cache_dir=tmp_path_factory.mktemp("features"))


@pytest.fixture(scope="session")
def split(source) -> Split:
    """Per genre: two songs to train on, one to validate, one to test."""
    songs: dict[str, list[str]] = {}
    for song, genre in zip(source.songs.tolist(), source.genres.tolist()):
        songs.setdefault(genre, []).append(song)
    return Split("tiny", tuple(s for v in songs.values() for s in v[:2]), tuple(v[2] for v in songs.values()),
                 tuple(v[3] for v in songs.values()), protocol="2/1/1 songs per genre")


@pytest.fixture(scope="session")
def tiny_wav2vec2(tmp_path_factory) -> Path:
    """A 2-layer wav2vec2 (hidden size 32) saved as a user's weights folder."""
    from transformers import Wav2Vec2Model

    from trainer.runtime.features.embeddings import wav2vec2_config

    folder = tmp_path_factory.mktemp("wav2vec2-tiny")
    torch.manual_seed(1)
    Wav2Vec2Model(wav2vec2_config("tiny")).save_pretrained(folder)
    return folder


def export(result, folder: Path) -> Path:
    """A run's model as a bundle, the way ``genre-trainer train`` exports it."""
    return bundle.export(folder, result.method, result.pipeline, metrics={"accuracy": result.metrics["accuracy"]},
                         training_data="synthetic clips", window=WINDOW)


def classify(bundle_folder: Path, path: Path) -> tuple[Classifier, np.ndarray]:
    """Load a bundle as the tagger does and classify one file; returns the classifier and the
    track's genre distribution."""
    classifier = Classifier.load(bundle_folder, device="cpu")
    (track,) = classifier.classify_paths([path], workers=0)
    assert track.probs.shape == (len(classifier.labels),)
    assert track.probs.sum() == pytest.approx(1.0, abs=1e-5)
    return classifier, track.probs


def files_in(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
