"""Start-up cost: what ``genre-tagger`` imports, and when worker processes are started."""

import multiprocessing
import subprocess
import sys

import pytest

import tagger.engine.classifier as engine
from tagger.cli import main
from tagger.engine import Classifier
from tests.support import REPO_ROOT, gtzan_dir
from trainer.runtime.resources import SHIPPED_BUNDLES

MODEL_LIBRARIES = ("torch", "sklearn", "xgboost")
_IMPORTED = """
import sys
from tagger.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(" ".join(sorted(name for name in {heavy!r} if name in sys.modules)))
"""


@pytest.mark.parametrize("argv, absent", [
    (["--help"], (*MODEL_LIBRARIES, "sqlalchemy")),
    (["classify", "--help"], (*MODEL_LIBRARIES, "sqlalchemy")),
    (["write", "--help"], MODEL_LIBRARIES),  # its defaults live beside the catalogue
])
def test_help_imports_no_model_library(argv, absent):
    done = subprocess.run([sys.executable, "-c", _IMPORTED.format(heavy=absent), *argv], capture_output=True,
                          text=True, check=True, cwd=REPO_ROOT)
    assert "usage: genre-tagger" in done.stdout
    assert done.stdout.splitlines()[-1] == "", f"imported {done.stdout.splitlines()[-1]}"


def test_one_file_is_classified_without_starting_a_worker(monkeypatch, capsys):
    def refuse(*args, **kwargs):
        raise AssertionError("a worker pool was started for one file")

    monkeypatch.setattr(engine, "ProcessPoolExecutor", refuse)
    clip = gtzan_dir() / "genres_original/rock/rock.00001.wav"
    assert main(["classify", "--model", str(SHIPPED_BUNDLES["gtzan10-xgboost"]), str(clip)]) == 0
    assert "1 classified" in capsys.readouterr().err
    assert not multiprocessing.active_children()


@pytest.mark.parametrize("requested, tracks, features_in_workers, want", [
    (None, 1, True, 0),  # one file: in this process
    (4, 1, True, 0),  # even when asked for workers
    (4, 3, True, 3),  # never more workers than tracks
    (0, 50, True, 0),
    (None, 10, True, 0),  # a lone worker would only move the serial work elsewhere
    (None, 10, False, 1),  # ... but decodes beside a GPU's batches
    (None, 1000, True, 2),  # one per core
    (None, 16, True, 2),
])
def test_workers_are_started_only_where_the_work_repays_them(requested, tracks, features_in_workers, want):
    assert engine.worker_count(requested, tracks, features_in_workers, cores=2) == want


def test_the_worker_pool_is_started_once_and_kept_for_later_runs():
    classifier = Classifier.load(SHIPPED_BUNDLES["gtzan10-xgboost"], device="cpu")
    clips = sorted((gtzan_dir() / "genres_original/rock").glob("*.wav"))[:3]
    try:
        first = [r.top(1) for r in classifier.classify_paths(clips, workers=2)]
        workers = {p.pid for p in multiprocessing.active_children()}
        second = [r.top(1) for r in classifier.classify_paths(clips, workers=2)]
        assert len(workers) == 2 and {p.pid for p in multiprocessing.active_children()} == workers
        assert first == second
    finally:
        classifier.close()
    assert not multiprocessing.active_children()
