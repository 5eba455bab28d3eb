"""Seed 003's rows on pretrained embeddings: the extractors' contract, the cache, bundles."""

import sys
import types

import numpy as np
import pytest

from tests.trainer.pretrained.conftest import classify, export, files_in
from trainer.methods import create, get
from trainer.run import run_method
from trainer.runtime.errors import MethodUnavailable
from trainer.runtime.features.embeddings import (
    EncodecMaeFrames,
    Wav2Vec2Frames,
    open_wav2vec2,
)

LABELS = ["ambient", "march", "reggae", "swing", "techno", "waltz"]


def test_wav2vec2_frames_are_dim_by_frames_of_the_first_seconds(tiny_wav2vec2):
    embedder = Wav2Vec2Frames(open_wav2vec2(str(tiny_wav2vec2)), str(tiny_wav2vec2), seconds=1.0, device="cpu")
    rng = np.random.default_rng(0)
    windows = rng.standard_normal((2, 32000)).astype(np.float32)
    frames = embedder(windows)
    assert frames.shape == (2, 32, 49) and frames.dtype == np.float32
    later = windows.copy()
    later[:, 16000:] = 0.0
    np.testing.assert_allclose(embedder(later), frames, atol=1e-5)
    first_layer = Wav2Vec2Frames(embedder.model, str(tiny_wav2vec2), layer=0, seconds=1.0, device="cpu")
    assert first_layer(windows).shape == frames.shape and not np.allclose(first_layer(windows), frames)


class StandIn:
    """The published package's model interface: one clip in, (frames, 768) out at 75 frames a second."""

    def __init__(self) -> None:
        self.lengths: list[int] = []

    def extract_features_from_array(self, audio: np.ndarray) -> np.ndarray:
        self.lengths.append(len(audio))
        return np.full((len(audio) // 320, 768), float(audio[:10].sum()), dtype=np.float32)


@pytest.fixture
def encodecmae_package(monkeypatch) -> StandIn:
    """A stand-in ``encodecmae`` module (the real package is not installable here)."""
    model = StandIn()
    module = types.ModuleType("encodecmae")
    module.load_model = lambda name, device="cpu": model
    monkeypatch.setitem(sys.modules, "encodecmae", module)
    return model


def test_encodecmae_frames_are_768_by_frames_of_the_first_15_s(encodecmae_package):
    embedder = EncodecMaeFrames("base", device="cpu")
    frames = embedder(np.ones((2, 24000 * 20), dtype=np.float32))
    assert frames.shape == (2, 768, 1125) and encodecmae_package.lengths == [15 * 24000] * 2


def test_encodecmae_methods_are_registered_with_the_seeds_figures(encodecmae_package):
    assert get("bigru-attn-encodecmae").published_accuracy == 85.0
    assert get("rf-mean-encodecmae").published_accuracy == 79.0 and get("rf-mean-wav2vec2").published_accuracy == 66.0
    method = create("bigru-attn-encodecmae", LABELS)
    assert method.pretrained is True and method.head.config.hidden == 32 and method.head.config.cell == "gru"
    assert get("bigru-attn-encodecmae").pipeline_params == {"sample_rate": 24000}


def test_without_the_encodecmae_package_the_method_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "encodecmae", None)
    with pytest.raises(MethodUnavailable, match="pip install git\\+https://github.com/habla-liaa/encodecmae"):
        create("rf-mean-encodecmae", LABELS)


def test_embeddings_are_cached_on_disk_and_reused_by_every_head_and_seed(tmp_path, source, split, tiny_wav2vec2,
                                                                           monkeypatch):
    overrides = {"weights": str(tiny_wav2vec2), "cache_dir": str(tmp_path / "embeddings"), "seconds": 1.0}
    first = run_method("rf-mean-wav2vec2", source, split, seed=0, overrides=overrides)
    stored = list((tmp_path / "embeddings").rglob("*.npy"))
    assert len(stored) >= len(source.songs)  # one entry per window embedded: every song's, at least
    assert np.load(stored[0]).shape == (32, 49)

    def no_encoder(self, windows):
        raise AssertionError("the cache should have served every window")

    monkeypatch.setattr(Wav2Vec2Frames, "embed", no_encoder)
    again = run_method("bigru-attn-wav2vec2", source, split, seed=1, overrides={**overrides, "head.train.epochs": 1})
    assert again.metrics["n_test"] == first.metrics["n_test"] == 6


@pytest.mark.parametrize("name, overrides", [
    ("rf-mean-wav2vec2", {"head.n_estimators": 20}),
    ("transformer-wav2vec2", {"head.train.epochs": 1}),
])
def test_embedding_bundles_carry_their_encoder_and_tag_a_file(tmp_path, source, split, clips, tiny_wav2vec2,
                                                               name, overrides):
    result = run_method(name, source, split, seed=0, overrides={"weights": str(tiny_wav2vec2), **overrides})
    folder = export(result, tmp_path / "bundle")
    assert {"encoder/config.json", "encoder/model.safetensors"} <= files_in(folder)
    assert all(f.endswith((".json", ".safetensors", ".skops")) for f in files_in(folder))
    song = clips / "waltz" / "waltz.00003.wav"
    classifier, probs = classify(folder, song)
    assert classifier.bundle.model.cache is None
    windows = source.arrays([song.stem], result.pipeline, source.labels).x
    np.testing.assert_allclose(probs, result.method.predict_proba(windows).mean(axis=0), atol=1e-5)
