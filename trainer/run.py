"""Train one method on one split of one dataset and measure it on the test songs.

A dataset is any source that can say which songs it has, their genres, and produce method inputs
for a list of songs through a feature pipeline (``FeatureTable`` for the CSV, ``AudioDataset``
for audio folders). Test metrics are per song: a song's probabilities are the mean over its rows
(windows or segments), exactly as the tagger averages a track's windows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from trainer.data.splits import Split, inner_validation
from trainer.evaluate import classification_metrics
from trainer.methods import create, get
from trainer.methods.base import Arrays, Hooks, Method
from trainer.runtime.features import FeaturePipeline
from trainer.runtime.features import make as make_pipeline


class SongSource(Protocol):
    source: str
    songs: np.ndarray
    genres: np.ndarray

    @property
    def labels(self) -> list[str]: ...

    def feeds(self, pipeline_name: str) -> bool: ...

    def arrays(self, songs, pipeline: FeaturePipeline, labels: list[str], augment: bool = False) -> Arrays: ...


@dataclass
class RunResult:
    method: Method
    pipeline: FeaturePipeline
    split: Split
    seed: int
    metrics: dict[str, Any]
    train_seconds: float
    n_train: int
    n_valid: int
    history: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """What report.json records about the run (everything but the model itself)."""
        spec = self.method.spec
        return {
            "method": spec.name,
            "seed_report": spec.seed,
            "summary": spec.summary,
            "config": self.method.config_dict(),
            "pipeline": self.pipeline.describe(),
            "pretrained": self.method.pretrained,
            "split": {"name": self.split.name, "protocol": self.split.protocol, **self.split.sizes(),
                      "dropped": list(self.split.dropped)},
            "seed": self.seed,
            "n_train": self.n_train,
            "n_valid": self.n_valid,
            "n_test": self.metrics["n_test"],
            "train_seconds": round(self.train_seconds, 3),
            "published_accuracy": spec.published_accuracy,
            "seed_protocol": spec.seed_protocol,
            **{k: self.metrics[k] for k in ("accuracy", "macro_f1", "per_genre", "confusion_matrix", "labels")},
            **({"row_accuracy": self.metrics["row_accuracy"]} if "row_accuracy" in self.metrics else {}),
            "history": self.history,
        }


def seeded_overrides(config: Any, seed: int) -> dict[str, Any]:
    """Put the run's seed into whichever seed fields the method's config has."""
    overrides: dict[str, Any] = {}
    if hasattr(config, "seed"):
        overrides["seed"] = seed
    if hasattr(config, "train"):
        overrides["train.seed"] = seed
    return overrides


def song_probabilities(proba: np.ndarray, songs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean row probabilities per song, songs in first-seen order."""
    order = list(dict.fromkeys(songs.tolist()))
    index = {s: i for i, s in enumerate(order)}
    sums = np.zeros((len(order), proba.shape[1]))
    counts = np.zeros(len(order))
    rows = np.asarray([index[s] for s in songs.tolist()])
    np.add.at(sums, rows, proba)
    np.add.at(counts, rows, 1)
    return np.asarray(order), sums / counts[:, None]


def run_method(
    name: str,
    data: SongSource,
    split: Split,
    seed: int = 0,
    overrides: dict[str, Any] | None = None,
    hooks: Hooks | None = None,
) -> RunResult:
    """Fit ``name`` on ``split.train`` (``split.valid`` for early stopping) and test on ``split.test``."""
    spec = get(name)
    labels = data.labels
    config_overrides = {**seeded_overrides(spec.config, seed), **(overrides or {})}
    method = create(name, labels, **config_overrides)
    pipeline = make_pipeline(spec.pipeline, **spec.pipeline_params)
    genre_of = dict(zip(data.songs.tolist(), data.genres.tolist()))
    train_songs, valid_songs = list(split.train), list(split.valid)
    if method.uses_validation and not valid_songs:
        train_songs, valid_songs = inner_validation(train_songs, [genre_of[s] for s in train_songs], seed)
    if not method.uses_validation:
        train_songs, valid_songs = train_songs + valid_songs, []
    history: list[dict[str, Any]] = []
    user_on_epoch = hooks.on_epoch if hooks else None

    def on_epoch(log) -> None:
        history.append(dict(log.__dict__))
        if user_on_epoch is not None:
            user_on_epoch(log)

    train = data.arrays(train_songs, pipeline, labels, augment=bool(getattr(method.config, "augment", False)))
    valid = data.arrays(valid_songs, pipeline, labels) if valid_songs else None
    test = data.arrays(list(split.test), pipeline, labels)
    started = time.perf_counter()
    method.fit(train, valid, Hooks(on_epoch=on_epoch, cancel=hooks.cancel if hooks else None))
    train_seconds = time.perf_counter() - started
    row_proba = method.predict_proba(test.x)
    test_songs, proba = song_probabilities(row_proba, test.songs)
    y_true = np.asarray([labels.index(genre_of[s]) for s in test_songs])
    metrics = classification_metrics(y_true, proba, labels)
    if len(test.songs) != len(test_songs):
        metrics["row_accuracy"] = float((row_proba.argmax(1) == test.y).mean())
    return RunResult(method, pipeline, split, seed, metrics, train_seconds,
                     n_train=len(train_songs), n_valid=len(valid_songs), history=history)


def train_to_folder(name: str, data: SongSource, split: Split, out: Path, *, seed: int = 0,
                    overrides: dict[str, Any] | None = None, hooks: Hooks | None = None,
                    export_bundle: bool = True) -> dict[str, Any]:
    """``genre-trainer train`` and the app's retraining: run, write the report folder (report.json,
    confusion matrix) and export the bundle into ``out/bundle``; returns the run's summary. The
    bundle records how the data was windowed, so the tagger cuts tracks the same way."""
    from trainer import bundle
    from trainer.report import write_run

    result = run_method(name, data, split, seed=seed, overrides=overrides, hooks=hooks)
    summary = result.summary()
    write_run(out, summary)
    if export_bundle:
        window = getattr(data, "window", None)
        bundle.export(out / "bundle", result.method, result.pipeline,
                      metrics={k: summary[k] for k in ("accuracy", "macro_f1", "n_test", "split")},
                      training_data=f"{data.source}: {result.n_train} training songs of split {split.name}",
                      window=window.to_dict() if window is not None else None)
    return summary
