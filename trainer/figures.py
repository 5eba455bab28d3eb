"""Report figures: seed 001's views of a clip, confusion matrices, and seed 003's UMAP map.

Figures are drawn on ``matplotlib.figure.Figure`` objects (no pyplot state, safe off the GUI
thread) and written as PNG; every function returns the path(s) it wrote.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

DPI = 100


def _save(figure: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=DPI, bbox_inches="tight")
    return path


def clip_figures(samples: np.ndarray, sample_rate: int, out_dir: Path | str, stem: str = "clip") -> dict[str, Path]:
    """Seed 001's five views of a mono clip, written as ``<out_dir>/<stem>-<view>.png``.

    Views: ``waveform``; ``spectrogram`` (STFT magnitude in dB, linear frequency axis);
    ``log-spectrogram`` (the same on a log frequency axis); ``rolloff`` (the 85% spectral rolloff
    frequency in Hz over time, drawn on the log spectrogram); ``chroma`` (12 pitch classes).
    """
    import librosa
    import librosa.display

    y = np.asarray(samples, dtype=np.float32)
    out = Path(out_dir)
    db = librosa.amplitude_to_db(np.abs(librosa.stft(y)), ref=np.max)
    rolloff = librosa.feature.spectral_rolloff(y=y, sr=sample_rate)[0]
    chroma = librosa.feature.chroma_stft(y=y, sr=sample_rate)
    written = {}

    def draw(title: str) -> tuple[Figure, Axes]:
        figure = Figure(figsize=(10, 4))
        ax = figure.add_subplot()
        ax.set_title(title)
        return figure, ax

    figure, ax = draw("Waveform")
    librosa.display.waveshow(y, sr=sample_rate, ax=ax)
    ax.set_ylabel("amplitude")
    written["waveform"] = _save(figure, out / f"{stem}-waveform.png")

    for view, axis, title in (("spectrogram", "linear", "Spectrogram (linear frequency)"),
                              ("log-spectrogram", "log", "Spectrogram (log frequency)")):
        figure, ax = draw(title)
        mesh = librosa.display.specshow(db, sr=sample_rate, x_axis="time", y_axis=axis, ax=ax)
        figure.colorbar(mesh, ax=ax, format="%+2.0f dB")
        written[view] = _save(figure, out / f"{stem}-{view}.png")

    figure, ax = draw("Spectral rolloff (85%)")
    librosa.display.specshow(db, sr=sample_rate, x_axis="time", y_axis="log", ax=ax)
    ax.plot(librosa.times_like(rolloff, sr=sample_rate), rolloff, color="white", linewidth=1.5, label="rolloff")
    ax.legend(loc="upper right")
    written["rolloff"] = _save(figure, out / f"{stem}-rolloff.png")

    figure, ax = draw("Chromagram")
    mesh = librosa.display.specshow(chroma, sr=sample_rate, x_axis="time", y_axis="chroma", ax=ax, cmap="coolwarm")
    figure.colorbar(mesh, ax=ax)
    written["chroma"] = _save(figure, out / f"{stem}-chroma.png")
    return written


def confusion_matrix_figure(matrix: np.ndarray, labels: Sequence[str], path: Path | str,
                            normalize: bool = True, title: str = "Confusion matrix") -> Path:
    """Draw a (k, k) confusion matrix (rows true, columns predicted) with counts in each cell;
    ``normalize`` colours each row by its share so rare genres read as clearly as common ones."""
    counts = np.asarray(matrix)
    if counts.shape != (len(labels), len(labels)):
        raise ValueError(f"a {counts.shape} matrix for {len(labels)} labels")
    rows = counts.sum(axis=1, keepdims=True)
    shade = counts / np.maximum(rows, 1) if normalize else counts
    size = max(5.0, 0.6 * len(labels) + 2)
    figure = Figure(figsize=(size, size))
    ax = figure.add_subplot()
    image = ax.imshow(shade, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of true genre" if normalize else "songs")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    threshold = shade.max() / 2 if shade.size else 0
    for (i, j), value in np.ndenumerate(counts):
        ax.text(j, i, f"{value:g}", ha="center", va="center", color="white" if shade[i, j] > threshold else "black")
    return _save(figure, Path(path))


def umap_figure(features: np.ndarray, genres: Sequence[str], path: Path | str, seed: int = 0,
                n_neighbors: int = 15, title: str = "UMAP of clip features") -> Path:
    """Seed 003's map: standardised feature vectors (n, d) embedded in 2-D by UMAP, one colour a
    genre. Needs umap-learn (the ``figures`` extra). Neighbours are found exactly with
    scikit-learn, which for a few thousand clips is faster than UMAP's approximate search."""
    try:
        import umap
    except ImportError as exc:
        raise RuntimeError("the UMAP map needs umap-learn: pip install 'genre-tagger[figures]'") from exc
    from sklearn.neighbors import NearestNeighbors
    from sklearn.preprocessing import StandardScaler

    x = StandardScaler().fit_transform(np.asarray(features, dtype=np.float64).reshape(len(features), -1))
    if len(x) < 4:
        raise ValueError("a UMAP map needs at least 4 clips")
    k = min(n_neighbors, len(x) - 1)
    distances, indices = NearestNeighbors(n_neighbors=k).fit(x).kneighbors(x)
    with warnings.catch_warnings():  # no search index is passed, so UMAP warns that transform() is off
        warnings.filterwarnings("ignore", message="precomputed_knn", category=UserWarning)
        points = umap.UMAP(n_neighbors=k, random_state=seed, n_jobs=1,
                           precomputed_knn=(indices, distances, None)).fit_transform(x)
    names = np.asarray(genres)
    kinds = sorted(set(names))
    colours = matplotlib.colormaps["tab10" if len(kinds) <= 10 else "tab20"]
    figure = Figure(figsize=(7, 6))
    ax = figure.add_subplot()
    for i, genre in enumerate(kinds):
        chosen = names == genre
        ax.scatter(points[chosen, 0], points[chosen, 1], s=12, label=genre, color=colours(i % colours.N))
    ax.legend(markerscale=2, fontsize="small", loc="best")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title)
    return _save(figure, Path(path))
