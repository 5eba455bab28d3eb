"""Song-level splits: windows or segments of one song never straddle train and test.

Splits are lists of song ids (``blues.00029``). Named splits:

* ``random-80-20``: seed 004's protocol, stratified 80/20 (a validation set, where a method needs
  one, is cut from train, 10% of it);
* ``random-70-20-10``: seed 000's 70/20/10 train/valid/test;
* ``random-80-10-10``: seed 001's 80/9/10 (rounded to 80/10/10);
* ``filtered``: the fault-filtered split of Kereliuk et al. 2015 (``splits/*_filtered.txt``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

RANDOM_SPLITS: dict[str, tuple[float, float, float]] = {
    "random-80-20": (0.8, 0.0, 0.2),
    "random-70-20-10": (0.7, 0.2, 0.1),
    "random-80-10-10": (0.8, 0.1, 0.1),
}
SPLIT_NAMES = (*RANDOM_SPLITS, "filtered")
# Where a protocol has no validation set, this share of train is held out for early stopping.
INNER_VALID_SHARE = 0.1


@dataclass(frozen=True)
class Split:
    """Song ids per part; ``protocol`` says how it was made (for reports)."""

    name: str
    train: tuple[str, ...]
    valid: tuple[str, ...]
    test: tuple[str, ...]
    protocol: str = ""
    dropped: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        parts = [set(self.train), set(self.valid), set(self.test)]
        if parts[0] & parts[2] or parts[0] & parts[1] or parts[1] & parts[2]:
            raise ValueError(f"split {self.name!r} puts one song in two parts")

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "valid": len(self.valid), "test": len(self.test)}


def _stratified(ids: np.ndarray, labels: np.ndarray, size: float | int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.model_selection import (
        train_test_split,  # here: naming the splits must not load scikit-learn
    )

    return train_test_split(ids, test_size=size, stratify=labels, random_state=seed)


def random_split(song_ids: Sequence[str], labels: Sequence[str], name: str = "random-80-20", seed: int = 0) -> Split:
    """A seeded, stratified split of songs at the ratios of the named protocol."""
    train_r, valid_r, test_r = RANDOM_SPLITS[name]
    ids, y = np.asarray(song_ids), np.asarray(labels)
    lookup = dict(zip(ids, y))
    # absolute counts, so 70/20/10 of 1000 songs is exactly 700/200/100
    rest, test = _stratified(ids, y, int(round(test_r * len(ids))), seed)
    if valid_r == 0:
        train, valid = rest, np.asarray([], dtype=ids.dtype)
    else:
        train, valid = _stratified(rest, np.asarray([lookup[i] for i in rest]), int(round(valid_r * len(ids))), seed)
    return Split(name, tuple(sorted(train)), tuple(sorted(valid)), tuple(sorted(test)),
                 protocol=f"stratified random {int(train_r*100)}/{int(valid_r*100)}/{int(test_r*100)} by song, seed {seed}")


def song_id(entry: str) -> str:
    """``blues/blues.00029.wav`` or ``blues.00029.wav`` -> ``blues.00029``."""
    name = entry.strip().rsplit("/", 1)[-1]
    for suffix in (".wav", ".au"):
        name = name.removesuffix(suffix)
    return name


def filtered_split(splits_dir: Path, available: Sequence[str] | None = None) -> Split:
    """The fault-filtered split; songs not in ``available`` (e.g. unreadable) are dropped and listed."""
    parts = {}
    for part in ("train", "valid", "test"):
        path = Path(splits_dir) / f"{part}_filtered.txt"
        if not path.is_file():
            raise FileNotFoundError(f"filtered split list missing: {path}")
        parts[part] = [song_id(line) for line in path.read_text().splitlines() if line.strip()]
    dropped: list[str] = []
    if available is not None:
        keep = set(available)
        dropped = sorted(s for ids in parts.values() for s in ids if s not in keep)
        parts = {k: [s for s in v if s in keep] for k, v in parts.items()}
    empty = [part for part in ("train", "test") if not parts[part]]
    if empty:
        raise ValueError(f"the filtered split lists GTZAN's own songs and keeps no {' or '.join(empty)} songs "
                         f"among these {len(available or ())}; use a random split (e.g. random-80-20)")
    return Split("filtered", tuple(parts["train"]), tuple(parts["valid"]), tuple(parts["test"]),
                 protocol="fault-filtered split (Kereliuk et al. 2015)", dropped=tuple(dropped))


def inner_validation(train: Sequence[str], labels: Sequence[str], seed: int = 0,
                     share: float = INNER_VALID_SHARE) -> tuple[list[str], list[str]]:
    """Hold ``share`` of the training songs out for early stopping (stratified, seeded)."""
    fit, valid = _stratified(np.asarray(train), np.asarray(labels), share, seed)
    return sorted(fit), sorted(valid)


def kfold_splits(song_ids: Sequence[str], labels: Sequence[str], k: int = 10, seed: int = 0) -> list[Split]:
    """Stratified k-fold by song: each song is tested exactly once."""
    from sklearn.model_selection import StratifiedKFold

    ids, y = np.asarray(song_ids), np.asarray(labels)
    folds = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    return [Split(f"fold-{i + 1}-of-{k}", tuple(sorted(ids[tr])), (), tuple(sorted(ids[te])),
                  protocol=f"stratified {k}-fold by song, seed {seed}")
            for i, (tr, te) in enumerate(folds.split(ids, y))]


def make_split(name: str, song_ids: Sequence[str], labels: Sequence[str], seed: int = 0,
               splits_dir: Path | None = None) -> Split:
    """Build a named split over the given songs."""
    if name == "filtered":
        if splits_dir is None:
            raise ValueError("the filtered split needs the folder of *_filtered.txt lists")
        return filtered_split(splits_dir, available=song_ids)
    if name not in RANDOM_SPLITS:
        raise KeyError(f"unknown split {name!r}; known: {', '.join(SPLIT_NAMES)}")
    return random_split(song_ids, labels, name, seed)
