"""Build the shipped GTZAN-10 xgboost model: choose among the CSV methods on the fault-filtered split's
validation songs (no artist shared with training; the smallest bundle within one standard error
of the best), measure the winner on its test songs and by
10-fold, train it on every usable CSV row, export it to resources/.

Usage: python scripts/build_default_model.py [--data ../shared/data/gtzan/features_30_sec.csv]
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import tempfile
from pathlib import Path

import numpy as np

from trainer import bundle
from trainer.data.feature_table import load_csv
from trainer.data.splits import Split, filtered_split, kfold_splits
from trainer.evaluate import spread
from trainer.methods import create
from trainer.methods.base import Arrays
from trainer.run import run_method
from trainer.runtime.features import make
from trainer.runtime.resources import SHIPPED_BUNDLES

CANDIDATES = ("xgboost", "xgboost-tuned", "rf", "feature-nn")
# `length` is the clip file's sample count: it says which batch of GTZAN files a clip came from
# (every pop clip has 661504 samples), not what the music sounds like, and every tagged window
# has the same length; the shipped model must not learn it.
SETTINGS = {"drop_columns": ("length",)}


def main() -> None:
    repo = Path(__file__).resolve().parents[1]
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=repo.parent / "shared/data/gtzan/features_30_sec.csv")
    parser.add_argument("--out", type=Path, default=SHIPPED_BUNDLES["gtzan10-xgboost"])
    args = parser.parse_args()

    table, dropped = load_csv(args.data).usable()
    split = filtered_split(args.data.parent / "splits", available=table.songs)
    # Choosing on random folds would reward memorising artists; the filtered validation songs
    # share none with the training songs, so the choice is made there and the test stays unseen.
    choose = Split("filtered-valid", split.train, (), split.valid, protocol="filtered train -> filtered valid")
    selection, sizes = {}, {}
    for name in CANDIDATES:
        result = run_method(name, table, choose, seed=0, overrides=SETTINGS)
        selection[name] = result.metrics["accuracy"]
        with tempfile.TemporaryDirectory() as tmp:
            bundle.export(Path(tmp) / "b", result.method, result.pipeline, metrics={}, training_data="")
            sizes[name] = sum(f.stat().st_size for f in (Path(tmp) / "b").iterdir()) / 2**20
        print(f"{name:14s} filtered valid {selection[name]:.1%} over {len(split.valid)} songs, bundle {sizes[name]:.1f} MiB")
    # A desktop app loads this model at every start: among the candidates within one standard
    # error of the most accurate, the smallest bundle wins.
    top = max(selection.values())
    error = math.sqrt(top * (1 - top) / len(split.valid))
    best = min((n for n in CANDIDATES if selection[n] >= top - error), key=sizes.get)

    filtered = run_method(best, table, split, seed=0, overrides=SETTINGS)
    print(f"{best} on the filtered test: {filtered.metrics['accuracy']:.1%} over {filtered.metrics['n_test']} songs")
    folds = kfold_splits(table.songs, table.genres, k=10, seed=0)
    ten_fold = spread([run_method(best, table, fold, seed=0, overrides=SETTINGS).metrics["accuracy"] for fold in folds])
    print(f"{best} 10-fold {ten_fold['mean']:.1%} ± {ten_fold['std']:.1%}")

    labels = table.labels
    method = create(best, labels, **SETTINGS)
    everything = Arrays(table.x, table.y(labels), table.songs)
    method.fit(everything, None)
    metrics = {
        "filtered_test": {"accuracy": filtered.metrics["accuracy"], "macro_f1": filtered.metrics["macro_f1"],
                          "n_test": filtered.metrics["n_test"], "n_train": filtered.n_train,
                          "split": "fault-filtered (Kereliuk et al. 2015), " + (
                              "valid for early stopping" if filtered.n_valid else "train+valid for training")},
        "ten_fold": {**ten_fold, "protocol": "stratified 10-fold by song over the usable rows", "n_songs": len(table.songs)},
        "candidates_filtered_valid": {**selection, "n_valid": len(split.valid)},
        "candidates_bundle_mib": sizes,
    }
    if args.out.exists():
        shutil.rmtree(args.out)
    bundle.export(args.out, method, make("gtzan-csv"), metrics=metrics,
                  training_data=(f"GTZAN features_30_sec.csv: {len(table.songs)} usable clips of 10 genres "
                                 f"(dropped {len(dropped)}: {', '.join(dropped)})"),
                  notes="Trained on all usable rows; the figures come from held-out runs of the same recipe.")
    card = f"""# GTZAN-10 xgboost: {best} on GTZAN features

**What it is.** `{best}` ({method.spec.summary}) over 57 of the 58 GTZAN CSV features (all but
`length`, which tells which batch of files a clip came from rather than how it sounds), standard
scaled. Features are librosa's defaults on 30-second windows at 22050 Hz mono (the tagger
computes them with its torch engine, which matches librosa within the tested tolerances); the
tagger averages window probabilities over a track.

**Data.** GTZAN (Tzanetakis & Cook 2002), `features_30_sec.csv`: {len(table.songs)} of 1000 clips,
10 genres ({', '.join(labels)}). Dropped: one copy of each of GTZAN's repeated clips and the
unreadable `jazz.00054` ({len(dropped)} rows).

**How well it does** (held-out runs of the same recipe; the shipped weights are then refit on all rows):

| protocol | accuracy | test songs |
|---|---:|---:|
| fault-filtered split (no shared artists or repeated clips across sets) | {filtered.metrics['accuracy']:.1%} (macro-F1 {filtered.metrics['macro_f1']:.3f}) | {filtered.metrics['n_test']} |
| stratified 10-fold by song | {ten_fold['mean']:.1%} ± {ten_fold['std']:.1%} | {len(table.songs)} (each once) |

Chosen among {', '.join(CANDIDATES)} by accuracy on the filtered split's {len(split.valid)} validation
songs ({', '.join(f"{n} {a:.1%} in {sizes[n]:.1f} MiB" for n, a in selection.items())}):
the smallest bundle within one standard error ({error:.1%}) of the best, as the app loads it at
every start. The filtered split is the honest figure: random folds let one artist sit on both
sides, which is why 10-fold reads higher.

**Limits.** Only GTZAN's 10 genres exist for this model; anything else (electronic, folk, soul,
ambient...) is forced into one of them. GTZAN's clips are 30-second excerpts mostly from
2000-2001 and earlier, 100 per genre, with known mislabelings and repeated artists; expect much
lower accuracy on modern or mixed-genre music than the figures above. Confidence is the mean
window probability, not a calibrated probability.
"""
    (args.out / "MODEL_CARD.md").write_text(card)
    print(json.dumps(metrics["filtered_test"], indent=1))
    print(f"exported {args.out}")


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
