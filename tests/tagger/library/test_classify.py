"""Classifying the library: batches, failures, cancel, resume, and a kill that loses at most a batch."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from tagger.library import (
    Model,
    Prediction,
    Track,
    TrackStatus,
    WindowPrediction,
    active_model,
    classify_library,
    open_library,
    scan,
)
from tests.tagger.library.helpers import (
    FakeClassifier,
    genre_of,
    kill_mid_run,
    make_wavs,
)


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
        assert [m.bundle_id for m in session.scalars(select(Model).where(Model.active))] == ["model-b"]
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
