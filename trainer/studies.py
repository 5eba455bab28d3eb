"""Seed 004's robustness studies: bootstrap refits and the training-set-size curve.

Both keep the test songs fixed and vary only what the method is trained on, so the spread they
show is the method's sensitivity to its training data, measured on one song-level test set.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from trainer.data.splits import Split  # noqa: E402
from trainer.evaluate import spread  # noqa: E402
from trainer.run import SongSource, run_method  # noqa: E402

Progress = Callable[[int, int], None]


def bootstrap(method: str, data: SongSource, split: Split, n: int = 100, seed: int = 0,
              overrides: dict[str, Any] | None = None, progress: Progress | None = None) -> dict[str, Any]:
    """Refit ``n`` times on training songs drawn with replacement; test each refit on ``split.test``."""
    rng = np.random.default_rng(seed)
    train = np.asarray(split.train + split.valid)
    accuracies = []
    for i in range(n):
        drawn = tuple(rng.choice(train, size=len(train), replace=True).tolist())
        sample = dataclasses.replace(split, train=drawn, valid=(), protocol=f"{split.protocol}; bootstrap draw {i}")
        accuracies.append(run_method(method, data, sample, seed=seed + i, overrides=overrides).metrics["accuracy"])
        if progress:
            progress(i + 1, n)
    stats = spread(accuracies)
    stats.update(median=float(np.median(accuracies)), ci95=[float(np.percentile(accuracies, 2.5)),
                                                           float(np.percentile(accuracies, 97.5))])
    return {"method": method, "split": split.name, "n_test": len(split.test), "n_refits": n,
            "accuracies": accuracies, "stats": stats}


def size_curve(method: str, data: SongSource, split: Split, fractions: tuple[float, ...] = tuple(np.linspace(0.1, 0.9, 9)),
               seeds: int = 3, overrides: dict[str, Any] | None = None,
               progress: Progress | None = None) -> dict[str, Any]:
    """Accuracy against the share of training songs kept (stratified subsets, several seeds)."""
    from sklearn.model_selection import train_test_split

    genre_of = dict(zip(data.songs.tolist(), data.genres.tolist()))
    train = list(split.train + split.valid)
    points = []
    total, done = len(fractions) * seeds, 0
    for fraction in fractions:
        accuracies = []
        for s in range(seeds):
            kept, _ = train_test_split(train, train_size=float(fraction), random_state=s,
                                       stratify=[genre_of[t] for t in train])
            sub = dataclasses.replace(split, train=tuple(sorted(kept)), valid=())
            accuracies.append(run_method(method, data, sub, seed=s, overrides=overrides).metrics["accuracy"])
            done += 1
            if progress:
                progress(done, total)
        points.append({"fraction": float(fraction), "n_train": len(kept), **spread(accuracies)})
    return {"method": method, "split": split.name, "n_test": len(split.test), "points": points}


def plot_bootstrap(result: dict[str, Any], path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=110)
    ax.hist(np.asarray(result["accuracies"]) * 100, bins=20, color="#4a7ab5")
    median = result["stats"]["median"] * 100
    ax.axvline(median, color="black", linestyle="--", label=f"median {median:.1f}%")
    ax.set_xlabel(f"test accuracy % ({result['n_test']} songs, split {result['split']})")
    ax.set_ylabel("refits")
    ax.set_title(f"{result['method']}: {result['n_refits']} bootstrap refits", fontsize=9)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_size_curve(result: dict[str, Any], path: Path) -> Path:
    points = result["points"]
    x = [p["n_train"] for p in points]
    mean = np.asarray([p["mean"] for p in points]) * 100
    std = np.asarray([p["std"] for p in points]) * 100
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=110)
    ax.errorbar(x, mean, yerr=std, marker="o", capsize=3)
    ax.set_xlabel("training songs")
    ax.set_ylabel(f"test accuracy % ({result['n_test']} songs)")
    ax.set_title(f"{result['method']}: accuracy against training-set size (split {result['split']})", fontsize=9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
