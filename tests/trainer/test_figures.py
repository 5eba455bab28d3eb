"""Report figures are written as valid PNGs of a sensible size."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from PIL import Image

from trainer.data.synthetic import STYLES, render
from trainer.figures import clip_figures, confusion_matrix_figure, umap_figure


def _png_size(path) -> tuple[int, int]:
    with Image.open(path) as image:
        assert image.format == "PNG"
        image.verify()
        return image.size


def test_seed_001_clip_views(tmp_path):
    clip = render(STYLES[3], 3.0, np.random.default_rng(0))
    written = clip_figures(clip, 22050, tmp_path, stem="techno")
    assert set(written) == {"waveform", "spectrogram", "log-spectrogram", "rolloff", "chroma"}
    for view, path in written.items():
        assert path == tmp_path / f"techno-{view}.png"
        width, height = _png_size(path)
        assert 600 <= width <= 1400 and 250 <= height <= 600


def test_confusion_matrix(tmp_path):
    matrix = np.array([[8, 2, 0], [1, 7, 2], [0, 0, 10]])
    path = confusion_matrix_figure(matrix, ["blues", "jazz", "rock"], tmp_path / "sub" / "cm.png")
    width, height = _png_size(path)
    assert 300 <= width <= 1200 and 300 <= height <= 1200
    with pytest.raises(ValueError, match="labels"):
        confusion_matrix_figure(matrix, ["blues", "jazz"], tmp_path / "bad.png")


class _FakeUmap:
    """Stands in for umap-learn, whose first fit spends ~15 s compiling; checks the arguments."""

    class UMAP:
        def __init__(self, *, n_neighbors, random_state, n_jobs, precomputed_knn):
            indices, distances, _ = precomputed_knn
            assert indices.shape == distances.shape == (45, n_neighbors)

        def fit_transform(self, x):
            return x[:, :2]


def test_umap_map(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "umap", _FakeUmap)
    rng = np.random.default_rng(0)
    features = np.concatenate([rng.normal(3 * k, 1.0, (15, 6)) for k in range(3)])
    genres = np.repeat(["classical", "jazz", "rock"], 15)
    width, height = _png_size(umap_figure(features, genres, tmp_path / "umap.png", n_neighbors=8))
    assert 400 <= width <= 1000 and 400 <= height <= 1000


def test_umap_missing_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "umap", None)
    with pytest.raises(RuntimeError, match="umap-learn"):
        umap_figure(np.zeros((5, 2)), ["a"] * 5, tmp_path / "umap.png")
