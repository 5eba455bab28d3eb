"""Training a model from the app: a ``TrainRequest`` in, a report and a bundle out (no Qt here).

``train`` runs the steps of ``genre-trainer train`` (open the data, build a song-level split,
``trainer.run.train_to_folder``) on a dataset folder or on the user's confirmed genres, and
reports through ``send``: ``("stage", text)`` and ``("epoch", EpochLog fields)``. ``genre-tagger
retrain`` calls it directly; the settings' retrain window starts ``main`` in a spawned process,
which sends the same messages through a queue, then one of ``("done", TrainOutcome fields)``,
``("cancelled", None)`` or ``("error", message)``.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: The method each kind of data starts with. A library holds a few dozen confirmed tracks a genre at
#: best: a logistic head per 3-s patch on MusiCNN's embeddings (trained on a million real songs)
#: learns from that few, where methods that learn features from the audio need hundreds of songs.
#: It is the head the shipped GTZAN-10 model chose on validation songs (resources/gtzan10-musicnn).
DEFAULT_METHODS = {"gtzan": "xgboost", "folders": "logreg-musicnn", "library": "logreg-musicnn"}
#: Parameters of a method's config offered for editing, beyond its top-level numbers and words.
TRAIN_PARAMETERS = ("epochs", "batch_size", "lr", "patience")
#: Config fields never offered: the run's seed is set separately, columns are a dataset matter.
HIDDEN_PARAMETERS = ("seed", "drop_columns")


@dataclass(frozen=True)
class TrainRequest:
    """What to train. The dataset is ``data_path`` (a GTZAN folder, its features CSV, or a folder
    per genre) or, when ``examples`` is given, the user's library: (song id, path, genre)."""

    method: str
    out: str
    data_path: str | None = None
    examples: tuple[tuple[str, str, str], ...] = ()
    library_name: str = "your library"
    split: str = "random-80-20"
    seed: int = 0
    overrides: dict[str, Any] = field(default_factory=dict)
    device: str = "auto"


@dataclass(frozen=True)
class TrainOutcome:
    """What the window shows after a run: the report's headline figures and where things are."""

    title: str
    accuracy: float
    macro_f1: float
    n_test: int
    split: str
    labels: list[str]
    report_dir: str
    confusion_png: str
    bundle: str


def main_parameters(method: str) -> dict[str, Any]:
    """The parameters worth showing for ``method``: key (as ``--set`` takes it) -> default."""
    from trainer.methods import get

    config = get(method).config
    shown = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)
             if f.name not in HIDDEN_PARAMETERS and isinstance(getattr(config, f.name), (int, float, str, type(None)))}
    train = getattr(config, "train", None)
    if train is not None:
        shown |= {f"train.{name}": getattr(train, name) for name in TRAIN_PARAMETERS}
    return shown


def _open(request: TrainRequest):
    """The song source and its split, as ``genre-trainer train`` builds them."""
    if request.examples:
        from trainer.data.library_source import library_source
        from trainer.data.splits import make_split

        data = library_source(request.examples, request.library_name)
        return data, make_split(request.split, data.songs.tolist(), data.genres.tolist(), seed=request.seed)
    from trainer.data.sources import build_split, open_dataset

    path = Path(request.data_path or "")
    data = open_dataset(path)  # a DataError says what is wrong with the path or the split
    return data, build_split(data, request.split, request.seed, path)


def train(request: TrainRequest, send: Callable[[str, Any], None], cancelled: Callable[[], bool]) -> TrainOutcome:
    from trainer.fit import Cancelled
    from trainer.methods import get
    from trainer.methods.base import Hooks
    from trainer.report import run_title
    from trainer.run import train_to_folder

    send("stage", "reading the dataset")
    data, split = _open(request)
    overrides = dict(request.overrides)
    if hasattr(get(request.method).config, "train"):
        overrides["train.device"] = request.device
    send("stage", f"computing features and training on {len(split.train) + len(split.valid)} songs")
    hooks = Hooks(on_epoch=lambda log: send("epoch", dataclasses.asdict(log)), cancel=cancelled)
    out = Path(request.out)
    summary = train_to_folder(request.method, data, split, out, seed=request.seed, overrides=overrides, hooks=hooks)
    if cancelled():  # methods without a training loop only notice at the end
        raise Cancelled("training cancelled")
    return TrainOutcome(run_title(summary), summary["accuracy"], summary["macro_f1"], summary["n_test"],
                        split.name, list(summary["labels"]), str(out), str(out / "confusion.png"), str(out / "bundle"))


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
    from trainer.fit import Cancelled

    def send(kind: str, payload: Any) -> None:
        queue.put((kind, payload))

    try:
        outcome = train(request, send, cancel.is_set)
    except Cancelled:
        send("cancelled", None)
    except Exception as exc:  # the window shows the message; the details go to stderr
        traceback.print_exc(file=sys.stderr)
        send("error", str(exc) if isinstance(exc, (ValueError, KeyError, FileNotFoundError)) else
             f"{type(exc).__name__}: {exc}")
    else:
        send("done", dataclasses.asdict(outcome))
