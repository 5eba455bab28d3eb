"""Hyper-parameter grids (seed 000 searched one for its image CNN), chosen on validation only.

``grid_search`` trains a method once per setting of the grid on one song-level split, picks the
setting with the best validation accuracy, and reports that setting's test accuracy: the test
songs never take part in the choice. Methods that early-stop are scored by their best validation
accuracy (per window); the others are trained on the training songs and scored on the validation
songs, and only the chosen setting is then trained on train + validation and tested. Settings
that cannot be built for the input (e.g. too many stride-2 blocks for the image size) are
recorded with the reason and skipped.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np

from trainer.data.splits import Split, inner_validation
from trainer.methods import get
from trainer.methods.image_nets import CNN_IMAGE_GRID
from trainer.run import run_method

# The grids the seeds published, by method name.
GRIDS: dict[str, dict[str, tuple]] = {"cnn-image": CNN_IMAGE_GRID}


def grid_settings(grid: dict[str, tuple], limit: int | None = None, seed: int = 0) -> list[dict[str, Any]]:
    """Every combination of the grid's values, or ``limit`` of them drawn at random (seeded)."""
    keys = list(grid)
    settings = [dict(zip(keys, values)) for values in itertools.product(*(grid[k] for k in keys))]
    if limit is not None and limit < len(settings):
        chosen = np.random.default_rng(seed).choice(len(settings), size=limit, replace=False)
        settings = [settings[i] for i in sorted(chosen)]
    return settings


def grid_search(name: str, data, split: Split, grid: dict[str, tuple] | None = None, seed: int = 0,
                limit: int | None = None, overrides: dict[str, Any] | None = None,
                progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Run ``name`` for each setting; return every trial and the one best on validation."""
    grid = grid or GRIDS[name]
    settings = grid_settings(grid, limit, seed)
    early_stops = get(name).family.uses_validation
    choose = split if early_stops else _validation_as_test(data, split, seed)
    trials: list[dict[str, Any]] = []
    for i, setting in enumerate(settings):
        try:
            result = run_method(name, data, choose, seed=seed, overrides={**(overrides or {}), **setting})
        except ValueError as exc:
            trials.append({"setting": setting, "error": str(exc)})
        else:
            trial = {"setting": setting, "epochs": len(result.history), "train_seconds": round(result.train_seconds, 3)}
            if early_stops:
                scores = [h["valid_accuracy"] for h in result.history if h.get("valid_accuracy") is not None]
                trial.update(valid_accuracy=max(scores) if scores else None,
                             test_accuracy=result.metrics["accuracy"], n_test=result.metrics["n_test"])
            else:
                trial.update(valid_accuracy=result.metrics["accuracy"])
            trials.append(trial)
        if progress:
            progress(i + 1, len(settings))
    ranked = _ranked(trials)
    best = ranked[0] if ranked else None
    if best is not None and not early_stops:
        final = run_method(name, data, split, seed=seed, overrides={**(overrides or {}), **best["setting"]})
        best.update(test_accuracy=final.metrics["accuracy"], n_test=final.metrics["n_test"])
    return {"method": name, "split": split.name, "protocol": split.protocol, "seed": seed,
            "grid": {k: list(v) for k, v in grid.items()}, "n_settings": len(settings),
            "best": best, "trials": trials}


def _validation_as_test(data, split: Split, seed: int) -> Split:
    """Train songs only, with the validation songs (or a stratified tenth of train) as the test part."""
    train, valid = list(split.train), list(split.valid)
    if not valid:
        genre_of = dict(zip(data.songs.tolist(), data.genres.tolist()))
        train, valid = inner_validation(train, [genre_of[s] for s in train], seed)
    return Split(f"{split.name}-validation", tuple(train), (), tuple(valid),
                 protocol=f"{split.protocol}; scored on the validation songs")


def _ranked(trials: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted((t for t in trials if t.get("valid_accuracy") is not None),
                  key=lambda t: t["valid_accuracy"], reverse=True)


def grid_table(result: dict[str, Any], top: int = 10) -> str:
    """The ``top`` settings by validation accuracy, with their test accuracy, as Markdown."""
    keys = list(result["grid"])
    lines = ["| " + " | ".join(keys) + " | valid | test |", "|" + "---|" * (len(keys) + 2)]
    for t in _ranked(result["trials"])[:top]:
        test = f"{t['test_accuracy']:.1%}" if "test_accuracy" in t else "–"
        lines.append("| " + " | ".join(f"{t['setting'][k]:g}" if isinstance(t["setting"][k], float)
                                       else str(t["setting"][k]) for k in keys)
                     + f" | {t['valid_accuracy']:.1%} | {test} |")
    failed = sum(1 for t in result["trials"] if "error" in t)
    if failed:
        lines.append(f"\n{failed} setting(s) could not be built for this input and were skipped.")
    return "\n".join(lines)
