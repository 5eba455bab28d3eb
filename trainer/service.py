"""The one training service: a ``TrainRequest`` in, a report folder, a bundle and a ``TrainOutcome`` out.

``genre-trainer train``, ``genre-tagger retrain`` and the settings' retraining window all call
``train``. Progress reaches the caller through ``send``: ``("stage", text)`` and ``("epoch",
EpochLog fields)``; ``cancelled`` is polled between epochs. The window runs ``main`` in a spawned
process, which sends the same messages through a queue, then one of ``("done", TrainOutcome
fields)``, ``("cancelled", None)`` or ``("error", message)``.

This is the trainer's only face to the app: the app imports this module and ``trainer.runtime``,
nothing else of the trainer; data reaches it as paths or as labelled files (the user's confirmed
genres are such a list, written by ``genre-tagger confirmed --csv``).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trainer.data.splits import SPLIT_NAMES
from trainer.runtime.errors import Cancelled, UserError

if TYPE_CHECKING:
    from trainer.methods import MethodSpec

__all__ = ["SPLIT_NAMES", "DEFAULT_METHODS", "TrainRequest", "TrainOutcome", "Cancelled", "train", "main",
           "methods", "main_parameters", "parse_overrides", "read_examples"]

#: The method each kind of data starts with. A library holds a few dozen confirmed tracks a genre at
#: best: a logistic head per 3-s patch on MusiCNN's embeddings (trained on a million real songs)
#: learns from that few, where methods that learn features from the audio need hundreds of songs.
#: It is the head the shipped GTZAN-10 model chose on validation songs (resources/gtzan10-musicnn).
DEFAULT_METHODS = {"gtzan": "xgboost", "folders": "logreg-musicnn", "library": "logreg-musicnn"}
#: Parameters of a method's config offered for editing, beyond its top-level numbers and words.
TRAIN_PARAMETERS = ("epochs", "batch_size", "lr", "patience")
#: Config fields never offered: the run's seed is set separately, columns are a dataset matter.
HIDDEN_PARAMETERS = ("seed", "drop_columns")

Send = Callable[[str, Any], None]


@dataclass(frozen=True)
class TrainRequest:
    """What to train, on what. The songs are ``data`` (GTZAN folders, the features CSV, folders
    per genre; several audio folders join) or, when ``examples`` is given, a list of labelled files
    (song id, path, genre), such as the user's confirmed genres, described in reports as
    ``examples_name``."""

    method: str
    out: str
    data: tuple[str, ...] = ()
    examples: tuple[tuple[str, str, str], ...] = ()
    examples_name: str = "your library"
    window_s: float | None = None
    split: str = "random-80-20"
    splits_dir: str | None = None
    seed: int = 0
    overrides: dict[str, Any] = field(default_factory=dict)
    device: str = "auto"
    export_bundle: bool = True


@dataclass(frozen=True)
class TrainOutcome:
    """The report's headline figures and where the report and the bundle are."""

    title: str
    accuracy: float
    macro_f1: float
    n_test: int
    split: str
    labels: list[str]
    report_dir: str
    confusion_png: str
    bundle: str | None


def methods() -> dict[str, MethodSpec]:
    """Every registered method by name (imports every method family: call it off the UI thread)."""
    from trainer.methods import specs

    return specs()


def main_parameters(method: str) -> dict[str, Any]:
    """The parameters worth showing for ``method``: key (as ``--set`` takes it) -> default."""
    from trainer.methods import get

    config = get(method).config
    shown = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)
             if f.name not in HIDDEN_PARAMETERS and isinstance(getattr(config, f.name), (int, float, str, type(None)))}
    train_config = getattr(config, "train", None)
    if train_config is not None:
        shown |= {f"train.{name}": getattr(train_config, name) for name in TRAIN_PARAMETERS}
    return shown


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """``key=value`` pairs; values are JSON where they parse (numbers, lists), else strings."""
    overrides: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise UserError(f"a setting is written key=value, not {pair!r}")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        overrides[key] = tuple(value) if isinstance(value, list) else value
    return overrides


def read_examples(path: Path | str) -> tuple[tuple[str, str, str], ...]:
    """Labelled files from a CSV with the columns ``path`` and ``genre`` (and ``song``, which
    groups files of one song so they never straddle train and test; default: the path). Relative
    paths are read from the CSV's folder."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UserError(f"cannot read the examples: {exc}", path) from None
    if not rows or not {"path", "genre"} <= set(rows[0]):
        raise UserError("an examples file is a CSV with a header naming at least path and genre", path)
    examples = []
    for line, row in enumerate(rows, start=2):
        audio, genre = (row.get("path") or "").strip(), (row.get("genre") or "").strip()
        if not audio or not genre:
            raise UserError(f"line {line} lacks a path or a genre", path)
        audio_path = Path(audio) if Path(audio).is_absolute() else path.parent / audio
        examples.append(((row.get("song") or "").strip() or str(audio_path), str(audio_path), genre))
    return tuple(examples)


def _open(request: TrainRequest):
    """The song source and its split the request names (a ``UserError`` says what is wrong)."""
    from trainer.data.sources import build_split, open_dataset
    from trainer.data.splits import make_split

    if request.examples:
        from trainer.data.library_source import library_source
        from trainer.runtime.audio import WindowSpec

        window = WindowSpec(length_s=request.window_s) if request.window_s else None
        try:
            data = library_source(request.examples, request.examples_name, window)
            return data, make_split(request.split, data.songs.tolist(), data.genres.tolist(), seed=request.seed)
        except ValueError as exc:  # too few songs a genre, a split that leaves no test songs
            raise UserError(str(exc)) from None
    if not request.data:
        raise UserError("nothing to train on: name a dataset or a list of labelled files")
    paths = [Path(p) for p in request.data]
    data = open_dataset(paths, window=request.window_s)
    splits_dir = Path(request.splits_dir) if request.splits_dir else None
    return data, build_split(data, request.split, request.seed, paths, splits_dir)


def train(request: TrainRequest, send: Send, cancelled: Callable[[], bool] = lambda: False) -> TrainOutcome:
    """Train ``request.method`` on the request's songs, measure it on the split's test songs, and
    write the report (and the bundle, unless asked not to) into ``request.out``."""
    from trainer.methods import get
    from trainer.methods.base import Hooks
    from trainer.report import run_title
    from trainer.run import train_to_folder

    send("stage", "reading the dataset")
    data, split = _open(request)
    overrides = dict(request.overrides)
    if hasattr(get(request.method).config, "train"):
        overrides.setdefault("train.device", request.device)
    send("stage", f"computing features and training on {len(split.train) + len(split.valid)} songs")
    hooks = Hooks(on_epoch=lambda log: send("epoch", dataclasses.asdict(log)), cancel=cancelled)
    out = Path(request.out)
    summary = train_to_folder(request.method, data, split, out, seed=request.seed, overrides=overrides,
                              hooks=hooks, export_bundle=request.export_bundle)
    if cancelled():  # methods without a training loop only notice at the end
        raise Cancelled("training cancelled")
    return TrainOutcome(run_title(summary), summary["accuracy"], summary["macro_f1"], summary["n_test"], split.name,
                        list(summary["labels"]), str(out), str(out / "confusion.png"),
                        str(out / "bundle") if request.export_bundle else None)


def main(request: TrainRequest, queue: Any, cancel: Any) -> None:
    """Process entry point; ``queue`` and ``cancel`` are a multiprocessing Queue and Event.

    The run leaves a core to the window and yields to it (lower priority): the user keeps
    working while a model trains, and numeric threads that outnumber the free cores would only
    slow the training itself down."""
    threads = str(max(1, (os.cpu_count() or 2) - 1))
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(variable, threads)
    if hasattr(os, "nice"):
        os.nice(5)

    def send(kind: str, payload: Any) -> None:
        queue.put((kind, payload))

    try:
        outcome = train(request, send, cancel.is_set)
    except Cancelled:
        send("cancelled", None)
    except UserError as exc:
        send("error", str(exc))
    except Exception as exc:  # the window shows the message; the details go to stderr
        traceback.print_exc(file=sys.stderr)
        send("error", f"{type(exc).__name__}: {exc}")
    else:
        send("done", dataclasses.asdict(outcome))
