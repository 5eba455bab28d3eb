"""Heads on MusiCNN embeddings: how a window's patches reach each head, training on real excerpts,
bundles that give the same probabilities after loading, and the shipped GTZAN-10 head on held-out
real clips through the tagger's command line."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.stats import binom

from tagger.cli import main
from tests.support import REPO_ROOT, gtzan_dir
from trainer.bundle import export
from trainer.methods import create
from trainer.methods.base import Arrays
from trainer.runtime import bundle
from trainer.runtime.audio import WindowSpec, cut_windows, decode
from trainer.runtime.features import make
from trainer.runtime.models.embedding_heads import fill_absent

GTZAN10 = REPO_ROOT / "resources" / "gtzan10-musicnn"
GENRES = ["classical", "metal", "reggae"]


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    """See ``tests/trainer/conftest.py``."""


def windows_of(paths) -> np.ndarray:
    """30-s windows at 16 kHz of each file, as the tagger cuts them."""
    return np.concatenate([cut_windows(decode(p, 16000).samples, 16000, WindowSpec()).frames for p in paths])


@pytest.fixture(scope="module")
def excerpts() -> Arrays:
    """Four real excerpts of each of three genres (one patch each) and one 30-s clip (ten)."""
    paths, labels = [], []
    for i, genre in enumerate(GENRES):
        for n in range(1, 5):
            paths.append(gtzan_dir() / "excerpts" / genre / f"{genre}.{n:05d}.wav")
            labels.append(i)
    paths.append(gtzan_dir() / "genres_original" / "classical" / "classical.00000.wav")
    labels.append(0)
    return Arrays(windows_of(paths), np.array(labels), np.array([p.stem for p in paths]))


def test_absent_patches_are_filled_by_the_present_ones_in_order():
    x = np.full((1, 2, 5), np.nan, dtype=np.float32)
    x[0, :, :2] = [[1, 2], [3, 4]]
    np.testing.assert_array_equal(fill_absent(x)[0], [[1, 2, 1, 2, 1], [3, 4, 3, 4, 3]])


def test_a_per_patch_head_averages_its_patches_probabilities():
    rng = np.random.default_rng(0)
    frames = rng.standard_normal((12, 200, 3)).astype(np.float32)
    frames[:6, :, 2] = np.nan
    method = create("probe-musicnn", GENRES, device="cpu")
    method.fit_frames(Arrays(frames, np.arange(12) % 3, np.arange(12).astype(str)), None)
    patches = [[k for k in range(3) if not np.isnan(frames[i, 0, k])] for i in range(12)]
    expected = [np.mean([method.head.predict_proba(frames[i : i + 1, :, [k]])[0] for k in ks], axis=0)
                for i, ks in enumerate(patches)]
    np.testing.assert_allclose(method.head.predict_proba(frames), expected, atol=1e-6)


@pytest.mark.parametrize("name", ["rf-mean-musicnn", "bigru-attn-musicnn", "probe-musicnn"])
def test_a_head_trained_on_real_excerpts_round_trips_as_a_bundle(name, excerpts, tmp_path_factory):
    cache = tmp_path_factory.getbasetemp() / "musicnn-embeddings"   # shared: each window is embedded once
    method = create(name, GENRES, device="cpu", cache_dir=str(cache))
    method.fit(excerpts, excerpts)
    before = method.predict_proba(excerpts.x)
    assert before.shape == (len(excerpts), 3)
    np.testing.assert_allclose(before.sum(axis=1), 1.0, atol=1e-5)
    assert (before.argmax(axis=1) == excerpts.y).mean() > 0.5   # it learned its own examples
    folder = export(tmp_path_factory.mktemp(name) / "bundle", method, make("waveform", sample_rate=16000),
                           metrics={}, training_data="13 GTZAN excerpts and clips")
    assert (folder / "encoder" / "musicnn.safetensors").read_bytes() == (
        REPO_ROOT / "resources" / "musicnn-msd" / "musicnn.safetensors").read_bytes()
    loaded = bundle.load(folder, device="cpu")
    np.testing.assert_allclose(loaded.predict_proba(excerpts.x), before, atol=1e-6)


def chance_margin(n: int, p: float, alpha: float = 0.01) -> int:
    """The fewest correct of ``n`` that guessing at ``p`` reaches with probability below ``alpha``."""
    return next(k for k in range(n + 1) if binom.sf(k - 1, n, p) < alpha)


def test_shipped_gtzan10_head_classifies_its_held_out_real_clips(capsys):
    meta = json.loads((GTZAN10 / "bundle.json").read_text())
    held_out = set(meta["metrics"]["test_song_ids"])
    clips = sorted(p for p in (gtzan_dir() / "genres_original").glob("*/*.wav") if p.stem in held_out)
    assert len(clips) >= 4
    code = main(["classify", *map(str, clips), "--model", str(GTZAN10), "--json", "--workers", "0",
                 "--device", "cpu"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["failures"] == []
    predicted = {t["path"]: t["top"][0]["genre"] for t in out["tracks"]}
    correct = sum(predicted[str(p)] == p.parent.name for p in clips)
    assert correct >= chance_margin(len(clips), 1 / len(meta["labels"])), predicted
