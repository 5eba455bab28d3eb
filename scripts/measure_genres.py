"""Measure the shipped models on the real GTZAN audio at hand, to choose the MusiCNN taggers' genre
thresholds and the default model.

Runs each shipped bundle on the 30 full clips and the 499 excerpts in ``../shared/data/gtzan``.
For each MusiCNN tagger: how often its top genre is the GTZAN label where that label maps (MSD:
blues, country, hiphop, jazz, metal, pop, rock, a rock or metal sub-genre counting for its family;
MTT: classical, country, metal, pop, rock), and, for each threshold, the precision and recall of
its picked genres (at most ``--max-genres``).
For the GTZAN-10 classifiers: how often their top genre is the label, on the same mapped items
and on all 10 genres. Each figure is given on the clips, the excerpts, both, and the songs the
GTZAN-10 head was not trained on. Prints one JSON document.

    python scripts/measure_genres.py > measure.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from tagger.engine import Classifier, TrackResult
from tagger.genres import pick
from trainer.data.audio import probe
from trainer.data.splits import random_split
from trainer.runtime.resources import RESOURCES

GTZAN = Path(__file__).resolve().parents[2] / "shared" / "data" / "gtzan"
#: GTZAN label -> the MSD display genres that count as agreeing with it (the first is its own name)
MSD_FAMILIES = {
    "blues": ["Blues"], "country": ["Country"], "hiphop": ["Hip-Hop"], "jazz": ["Jazz"],
    "metal": ["Metal", "Heavy Metal"], "pop": ["Pop", "Indie Pop"],
    "rock": ["Rock", "Classic Rock", "Hard Rock", "Alternative Rock", "Indie Rock", "Progressive Rock"],
}
#: The same for the MagnaTagATune tagger, whose genres are fewer (it has classical, MSD has not).
MTT_FAMILIES = {"classical": ["Classical"], "country": ["Country"], "metal": ["Metal"], "pop": ["Pop"],
                "rock": ["Rock", "Metal"]}
TAGGERS = {"musicnn-msd": MSD_FAMILIES, "musicnn-mtt": MTT_FAMILIES}
THRESHOLDS = [round(t, 2) for t in np.arange(0.05, 0.55, 0.05)]


SUBSETS = ("clips", "excerpts", "all", "head_test")


def items(root: Path) -> list[tuple[set[str], Path, str]]:
    """(subsets, path, GTZAN label) of the readable clips and every excerpt. ``head_test``: the
    songs the shipped GTZAN-10 head never saw (its 100 test songs: the stratified seed-0 split of
    ``scripts/build_gtzan10_musicnn.py``), the one subset where all three models are on unseen songs."""
    clips = [("clips", p) for p in sorted((root / "genres_original").glob("*/*.0000?.wav"))]
    excerpts = [("excerpts", p) for p in sorted((root / "excerpts").glob("*/*.wav"))]
    found = [(s, p) for s, p in clips + excerpts if probe(p)[1] is None]
    genre_of = {p.stem: p.parent.name for _, p in found}
    songs = sorted(genre_of)
    held_out = set(random_split(songs, [genre_of[s] for s in songs], "random-80-20", seed=0).test)
    return [({s, "all"} | ({"head_test"} if p.stem in held_out else set()), p, p.parent.name) for s, p in found]


def run(bundle: Path, todo: list[tuple[str, Path, str]]) -> list[TrackResult | None]:
    classifier = Classifier.load(bundle, device="cpu")
    found = {Path(r.path): r for r in classifier.classify_paths([p for _, p, _ in todo], workers=1)
             if isinstance(r, TrackResult)}
    return [found.get(p) for _, p, _ in todo]


def agreement(hits: list[bool]) -> dict:
    return {"n": len(hits), "agree": int(sum(hits)), "rate": round(float(np.mean(hits)), 3) if hits else None}


def measure_tagger(todo: list, results: list, max_genres: int, families: dict[str, list[str]]) -> dict:
    by_set: dict = {}
    for subset in SUBSETS:
        rows = [(label, r) for (s, _, label), r in zip(todo, results)
                if r is not None and label in families and subset in s]
        strict = [r.top(1)[0][0] == families[label][0] for label, r in rows]
        family = [r.top(1)[0][0] in families[label] for label, r in rows]
        curve = []
        for t in THRESHOLDS:
            picked = [(label, pick(r.top(len(r.labels)), t, max_genres)) for label, r in rows]
            right = sum(g in families[label] for label, genres in picked for g in genres)
            n_picked = sum(len(genres) for _, genres in picked)
            recall = float(np.mean([any(g in families[label] for g in genres) for label, genres in picked]))
            precision = right / n_picked if n_picked else 0.0
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
            curve.append({"threshold": t, "precision": round(precision, 3), "recall": round(recall, 3),
                          "f1": round(f1, 3), "none_picked": sum(not g for _, g in picked)})
        by_set[subset] = {"top_genre_strict": agreement(strict), "top_genre_family": agreement(family),
                          "thresholds": curve}
    unmapped = [r.top(2) for (_, _, label), r in zip(todo, results) if r is not None and label not in families]
    by_set["unmapped_top_genres"] = dict(zip(*np.unique([t[0][0] for t in unmapped], return_counts=True)))
    by_set["unmapped_top_genres"] = {k: int(v) for k, v in by_set["unmapped_top_genres"].items()}
    return by_set


def measure_gtzan(todo: list, results: list) -> dict:
    out = {}
    for subset in SUBSETS:
        rows = [(label, r) for (s, _, label), r in zip(todo, results) if r is not None and subset in s]
        out[subset] = {"mapped_genres": agreement([r.top(1)[0][0] == label for label, r in rows if label in MSD_FAMILIES]),
                       "all_10": agreement([r.top(1)[0][0] == label for label, r in rows])}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=GTZAN)
    parser.add_argument("--max-genres", type=int, default=2)
    parser.add_argument("--models", nargs="+", default=[*TAGGERS, "gtzan10-musicnn", "gtzan10-xgboost"],
                        help="shipped bundles to measure (default: all four)")
    args = parser.parse_args()
    todo = items(args.data)
    report: dict = {"items": {s: sum(s in t[0] for t in todo) for s in SUBSETS}}
    for name in args.models:
        results = run(RESOURCES / name, todo)
        report[name] = (measure_tagger(todo, results, args.max_genres, TAGGERS[name]) if name in TAGGERS
                        else measure_gtzan(todo, results))
        print(name, "done", file=sys.stderr)
    json.dump(report, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
