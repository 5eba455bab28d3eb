"""Classifying the library: batches, failures, cancel, resume, and a kill that loses at most a batch."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

from tagger.engine import Classifier
from tagger.library import (
    BundleRecord,
    Prediction,
    Track,
    TrackStatus,
    WindowPrediction,
    active_model,
    classify_library,
    open_library,
    scan,
)
from tagger.library.queries import TrackIds
from tagger.library.review import AcceptRule, accept_predictions
from tests.support import REPO_ROOT
from tests.tagger.library.helpers import (
    FakeClassifier,
    genre_of,
    kill_mid_run,
    make_wavs,
)
from trainer.runtime.audio import WindowSpec


@pytest.fixture
def lib(tmp_path):
    make_wavs(tmp_path / "music", 12)
    with open_library(tmp_path / "lib.db") as lib:
        scan(lib, [tmp_path / "music"])
        yield lib


def count(lib, what) -> int:
    with lib.session() as session:
        return session.scalar(select(func.count()).select_from(what))


def test_every_track_gets_a_prediction_with_its_windows(lib):
    report = classify_library(lib, FakeClassifier(), source="/models/fake")
    assert (report.total, report.classified, report.failed) == (12, 12, [])
    with lib.session() as session:
        for prediction in session.scalars(select(Prediction)):
            assert prediction.genre == genre_of(prediction.track.path.rsplit("/", 1)[1])
            assert prediction.confidence == pytest.approx(0.8)
            assert prediction.ranked()[0] == (prediction.genre, pytest.approx(0.8))
            assert (prediction.n_windows, prediction.padded, len(prediction.windows)) == (2, True, 2)
        model = active_model(session)
        assert (model.bundle_id, model.source, model.labels) == ("fake-model-1", "/models/fake", FakeClassifier.labels)
    assert count(lib, WindowPrediction) == 24
    assert classify_library(lib, FakeClassifier()).total == 0  # nothing left for this model


def test_chosen_tracks_only(lib):
    with lib.session() as session:
        chosen = list(session.scalars(select(Track.id).order_by(Track.id).limit(3)))
    assert classify_library(lib, FakeClassifier(), track_ids=chosen).classified == 3
    with lib.session() as session:
        assert sorted(session.scalars(select(Prediction.track_id))) == chosen


def test_a_new_model_classifies_again_and_becomes_active(lib):
    classify_library(lib, FakeClassifier("model-a"))
    assert classify_library(lib, FakeClassifier("model-b")).classified == 12
    with lib.session() as session:
        assert [m.bundle_id for m in session.scalars(select(BundleRecord).where(BundleRecord.active))] == ["model-b"]
    assert count(lib, Prediction) == 24


def test_undecodable_tracks_are_marked_with_the_reason_and_not_retried(lib):
    report = classify_library(lib, FakeClassifier(fail=("jazz-001.wav",)))
    assert report.classified == 11 and report.failed[0][1] == "cannot decode this file"
    with lib.session() as session:
        track = session.scalar(select(Track).where(Track.path.endswith("jazz-001.wav")))
        assert (track.status, track.error) == (TrackStatus.UNREADABLE, "cannot decode this file")
    assert classify_library(lib, FakeClassifier()).total == 0


def test_cancel_stops_early_and_the_next_run_resumes(lib):
    stop = threading.Event()
    report = classify_library(lib, FakeClassifier(), cancel=stop, commit_every=4,
                              progress=lambda done, total: done == 5 and stop.set())
    assert report.cancelled and report.classified == 5
    assert count(lib, Prediction) == 5
    assert classify_library(lib, FakeClassifier()).classified == 7
    assert count(lib, Prediction) == 12


def test_a_killed_run_loses_at_most_one_batch_and_resumes(lib):
    kill_mid_run("classify_library(lib, FakeClassifier(), commit_every=4, progress=report)", lib.path, at=9)
    saved = count(lib, Prediction)
    assert 8 <= saved < 12  # batches of 4: what was committed before the kill survives
    assert classify_library(lib, FakeClassifier()).classified == 12 - saved
    assert count(lib, Prediction) == 12


class ShortFake(FakeClassifier):
    """Every other track answers as a short file would: padded, 2% real audio; track 3 truncated."""

    def classify_paths(self, paths, workers=None):
        for i, result in enumerate(super().classify_paths(paths, workers)):
            yield replace(result, padded=i % 2 == 0, audio_fraction=0.02 if i % 2 == 0 else 1.0, truncated=i == 3)


def test_predictions_resting_on_padding_are_flagged_and_left_out_of_accept_above(lib):
    report = classify_library(lib, ShortFake())
    assert len(report.caveats) == 7  # 6 padded, plus the truncated one
    with lib.session() as session:
        flags = {p.track_id: (p.padded, p.audio_fraction, p.truncated)
                 for p in session.scalars(select(Prediction).order_by(Prediction.track_id))}
    ids = list(flags)
    assert [flags[i] for i in ids[:4]] == [(True, 0.02, False), (False, 1.0, False), (True, 0.02, False),
                                          (False, 1.0, True)]
    trusted = [i for i, (padded, _, truncated) in flags.items() if not padded and not truncated]
    assert len(accept_predictions(lib, TrackIds(ids), AcceptRule(min_confidence=0.5))) == len(trusted) == 5
    with lib.session() as session:
        assert sorted(session.scalars(select(Track.id).where(Track.confirmed_genres.is_not(None)))) == trusted
    assert len(accept_predictions(lib, TrackIds(ids), AcceptRule(min_confidence=0.5, include_untrusted=True))) == 7  # the rest, on request
    assert len(accept_predictions(lib, TrackIds(ids[:1]), AcceptRule(keep_confirmed=False))) == 1  # picked by hand: no threshold


_WORKERS_CHILD = """
import sys, time
from trainer.runtime.audio import WindowSpec
from tagger.engine import Classifier
from tagger.library import classify_library, open_library
from tests.tagger.library.test_classify import WINDOWS, StubBundle
classifier = Classifier(StubBundle(), WINDOWS)
classifier.features_in_workers = False  # workers decode only: no feature pipeline to send them
lib = open_library(sys.argv[1])
def report(done, total):
    print(done, flush=True)
    if done >= int(sys.argv[2]):
        time.sleep(600)
classify_library(lib, classifier, workers=2, progress=report)
"""


# 0.02-s windows: each 0.5-s track gives the engine's cap of 20, so a model batch (64 windows) is
# 4 tracks and results come back while the decode workers are still running
WINDOWS = WindowSpec(length_s=0.02, hop_s=0.02)


class StubBundle:
    """Just enough of a model bundle for the engine: the mean level of each window decides."""

    id, labels, sample_rate = "stub-bundle", ["quiet", "loud"], 8000

    class pipeline:  # noqa: N801 - stands in for a FeaturePipeline instance
        def __new__(cls, windows):
            return np.abs(windows).mean(axis=1, keepdims=True)

        @staticmethod
        def describe():
            return {"name": "stub", "params": {}}

    class manifest:  # noqa: N801 - a distribution over its labels: no vocabulary
        vocabulary = None

    class model:  # noqa: N801
        @staticmethod
        def predict_proba(x):
            loud = np.clip(x[:, 0] * 4, 0, 1)
            return np.stack([1 - loud, loud], axis=1)


def _children(pid: int) -> set[int]:
    return {int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_killed_classify_leaves_no_worker_behind_and_keeps_what_it_committed(lib):
    """kill -9 of the job at its 8th track: its decode workers end with it, and the 8 tracks done
    are kept (the default: a commit every 8 tracks or every second)."""
    proc = subprocess.Popen([sys.executable, "-c", _WORKERS_CHILD, str(lib.path), "8"], cwd=REPO_ROOT,
                            stdout=subprocess.PIPE, text=True)
    workers: set[int] = set()
    for line in proc.stdout:
        if int(line) >= 8:
            workers = {c for c in _children(proc.pid) if "spawn_main" in Path(f"/proc/{c}/cmdline").read_text()}
            proc.kill()
            break
    proc.wait()
    assert proc.returncode == -signal.SIGKILL and workers
    try:
        for _ in range(600):  # the kernel ends them at once; allow a slow machine a minute
            if not any(map(_alive, workers)):
                break
            time.sleep(0.1)
        assert not any(map(_alive, workers)), "decode workers outlived the killed job"
    finally:
        for pid in filter(_alive, workers):
            os.kill(pid, signal.SIGKILL)
    assert count(lib, Prediction) == 8
    classifier = Classifier(StubBundle(), WINDOWS)
    classifier.features_in_workers = False
    resumed = classify_library(lib, classifier, workers=0)
    assert (resumed.total, resumed.classified) == (4, 4)
