"""Seed 002's leak, shown honestly: segments split at random against the song-level split.

Seed 002 cut every clip into short segments and split the *segments* at random, so segments of one
song sat in both train and test and the test score measured, in part, recognising a song already
heard. ``leak_study`` trains the same method on the same segments twice: once on the song-level
split (no song on both sides) and once on a random split of the segments with the same
proportions (the seed's protocol), and reports both accuracies on test segments side by side,
with how many test segments had a sibling from the same song in training.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.model_selection import train_test_split

from trainer.data.splits import Split, inner_validation
from trainer.evaluate import classification_metrics, spread
from trainer.methods import create, get
from trainer.methods.base import Arrays, Hooks
from trainer.run import seeded_overrides, song_probabilities
from trainer.runtime.audio import WindowSpec
from trainer.runtime.features import make as make_pipeline

# Segment length where the method's pipeline does not name one (seconds).
DEFAULT_SEGMENT_S = 3.0


def segment_seconds(name: str) -> float:
    """The method's own segment length (its pipeline's ``segment_s``), else ``DEFAULT_SEGMENT_S``."""
    spec = get(name)
    return float(make_pipeline(spec.pipeline, **spec.pipeline_params).params.get("segment_s", DEFAULT_SEGMENT_S))


def _fit_and_score(name: str, labels: list[str], train: Arrays, valid: Arrays | None, test: Arrays,
                   overrides: dict[str, Any], hooks: Hooks | None) -> tuple[np.ndarray, float]:
    method = create(name, labels, **overrides)
    method.fit(train, valid if method.uses_validation else None, hooks)
    proba = method.predict_proba(test.x)
    return proba, float((proba.argmax(1) == test.y).mean())


def _share_with_song_in(test: Arrays, train: Arrays) -> float:
    return float(np.isin(test.songs, train.songs).mean()) if len(test) else 0.0


def leak_study(name: str, data, split: Split, seed: int = 0, overrides: dict[str, Any] | None = None,
               segment_s: float | None = None, hooks: Hooks | None = None) -> dict[str, Any]:
    """Train ``name`` on ``segment_s`` segments of the split's songs by song and at random.

    ``data`` is an ``AudioSource`` (it needs audio to cut segments). Returns a JSON-able dict with
    ``song_split`` (test segment and test song accuracy) and ``random_segments`` (test segment
    accuracy), and ``inflation``: how many points the random split adds.
    """
    if not hasattr(data, "with_window"):
        raise ValueError("the leak study cuts audio into segments: give an audio folder, not a features table")
    spec = get(name)
    labels = data.labels
    seconds = segment_s or segment_seconds(name)
    segments = data.with_window(WindowSpec(length_s=seconds, hop_s=seconds, tail="drop"))
    pipeline = make_pipeline(spec.pipeline, **spec.pipeline_params)
    config_overrides = {**seeded_overrides(spec.config, seed), **(overrides or {})}
    songs = list(split.train) + list(split.valid) + list(split.test)
    rows = segments.arrays(songs, pipeline, labels)
    genre_of = dict(zip(data.songs.tolist(), data.genres.tolist()))

    # The song-level split: every segment of a song on one side.
    train_songs, valid_songs = list(split.train), list(split.valid)
    if not valid_songs and spec.family.uses_validation:
        train_songs, valid_songs = inner_validation(train_songs, [genre_of[s] for s in train_songs], seed)
    by_song = [rows.subset(np.isin(rows.songs, part)) for part in (train_songs, valid_songs, list(split.test))]
    proba, song_split_accuracy = _fit_and_score(name, labels, by_song[0], by_song[1] if len(by_song[1]) else None,
                                                by_song[2], config_overrides, hooks)
    test_songs, song_proba = song_probabilities(proba, by_song[2].songs)
    song_metrics = classification_metrics(np.asarray([labels.index(genre_of[s]) for s in test_songs]), song_proba,
                                           labels)

    # The seed's protocol: the same segments, split at random with the same proportions.
    n = len(rows)
    index = np.arange(n)
    test_share = len(by_song[2]) / n
    rest, test_rows = train_test_split(index, test_size=test_share, stratify=rows.y, random_state=seed)
    valid_rows = np.asarray([], dtype=int)
    if len(by_song[1]):
        rest, valid_rows = train_test_split(rest, test_size=len(by_song[1]) / len(rest), stratify=rows.y[rest],
                                            random_state=seed)
    random_parts = [rows.subset(np.isin(index, part)) for part in (rest, valid_rows, test_rows)]
    _, random_accuracy = _fit_and_score(name, labels, random_parts[0],
                                        random_parts[1] if len(random_parts[1]) else None, random_parts[2],
                                        config_overrides, hooks)
    return {
        "method": name,
        "seed_report": spec.seed,
        "published": spec.published,
        "segment_s": seconds,
        "pipeline": pipeline.describe(),
        "split": {"name": split.name, "protocol": split.protocol, **split.sizes()},
        "seed": seed,
        "n_segments": int(n),
        "song_split": {
            "segment_accuracy": song_split_accuracy,
            "song_accuracy": song_metrics["accuracy"],
            "n_test_segments": len(by_song[2]),
            "n_test_songs": song_metrics["n_test"],
            "test_segments_with_song_in_train": _share_with_song_in(by_song[2], by_song[0]),
        },
        "random_segments": {
            "segment_accuracy": random_accuracy,
            "n_test_segments": len(random_parts[2]),
            "test_segments_with_song_in_train": _share_with_song_in(random_parts[2], random_parts[0]),
        },
        "inflation": random_accuracy - song_split_accuracy,
    }


def _pct(stats: dict[str, float], signed: bool = False) -> str:
    """A mean in percent (points when ``signed``), with its standard deviation over seeds."""
    mean = f"{stats['mean'] * 100:+.1f}" if signed else f"{stats['mean'] * 100:.1f}"
    return mean if stats["n"] == 1 else f"{mean} ± {stats['std'] * 100:.1f}"


def leak_table(results: list[dict[str, Any]]) -> str:
    """A Markdown table: per method, both protocols' accuracy on test segments and the gap, each
    the mean ± standard deviation over the seeds (splits) studied."""
    by_method: dict[str, list[dict[str, Any]]] = {}
    for r in results:
        by_method.setdefault(r["method"], []).append(r)
    lines = ["| method | segment | seeds | song-level split: segments % / songs % | segments at random (seed 002) % | "
             "inflation | test songs / segments | published |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, runs in by_method.items():
        song = [r["song_split"] for r in runs]
        rand = [r["random_segments"] for r in runs]
        lines.append(
            f"| {name} | {runs[0]['segment_s']:g} s | {len(runs)} | "
            f"{_pct(spread([x['segment_accuracy'] for x in song]))} / {_pct(spread([x['song_accuracy'] for x in song]))} | "
            f"{_pct(spread([x['segment_accuracy'] for x in rand]))} | "
            f"{_pct(spread([r['inflation'] for r in runs]), signed=True)} pts | "
            f"{song[0]['n_test_songs']} / {song[0]['n_test_segments']} | {runs[0]['published'] or '–'} |")
    if results:
        first = results[0]
        seeds = sorted({r["seed"] for r in results})
        lines.append("")
        lines.append(f"Split {first['split']['name']}, seeds {', '.join(map(str, seeds))}: each seed draws its own "
                     f"song-level split ({first['split']['protocol']} for seed {first['seed']}), and the random split "
                     f"of the same segments has the same proportions. At random, "
                     f"{first['random_segments']['test_segments_with_song_in_train']:.0%} of test segments had a "
                     f"segment of the same song in training; by song, "
                     f"{first['song_split']['test_segments_with_song_in_train']:.0%}. Inflation is the random "
                     "split's segment accuracy minus the song-level split's, in points.")
    return "\n".join(lines)
