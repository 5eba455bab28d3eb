"""Scanning: what gets recorded, what a rescan skips, moved and vanished files, playlists."""

from __future__ import annotations

import importlib
import os
import threading

import mutagen
import pytest
from sqlalchemy import select

from tagger.library import (
    Playlist,
    Prediction,
    Track,
    TrackStatus,
    classify_library,
    open_library,
    scan,
)
from tests.support import FORMATS
from tests.tagger.library.helpers import FakeClassifier, library_template, music  # noqa: F401  (fixtures)


@pytest.fixture
def lib(tmp_path):
    with open_library(tmp_path / "lib.db") as lib:
        yield lib


def tracks(lib) -> dict[str, Track]:
    with lib.session() as session:
        return {os.path.basename(t.path): t for t in session.scalars(select(Track))}


def test_first_scan_records_every_file_with_its_tags_and_bad_files_with_a_reason(lib, music):
    progress = []
    report = scan(lib, [music], progress=lambda done, total: progress.append((done, total)))
    assert report.found == len(FORMATS) + 2 and report.added == report.found
    assert progress[-1] == (report.found, report.found)
    rows = tracks(lib)
    assert {t.format for t in rows.values() if t.status == TrackStatus.OK} == set(FORMATS)
    flac = rows["jazz-flac.flac"]
    assert (flac.path, flac.size, flac.genres) == (str(music / "albums" / "jazz-flac.flac"),
                                                    (music / "albums" / "jazz-flac.flac").stat().st_size, [])
    assert flac.duration_s == pytest.approx(1.0, abs=0.06)
    assert rows["broken.mp3"].status == TrackStatus.UNREADABLE and "cannot read tags" in rows["broken.mp3"].error
    assert rows["empty.flac"].status == TrackStatus.UNREADABLE and "empty" in rows["empty.flac"].error
    assert sorted(os.path.basename(p) for p, _ in report.unreadable) == ["broken.mp3", "empty.flac"]


def test_rescan_skips_unchanged_files_without_opening_them(lib, music, monkeypatch):
    scan(lib, [music])

    def must_not_read(path):
        raise AssertionError(f"rescan opened unchanged {path}")

    monkeypatch.setattr(importlib.import_module("tagger.library.scan"), "read_tags", must_not_read)
    report = scan(lib, [music])
    assert (report.unchanged, report.added, report.updated) == (len(FORMATS) + 2, 0, 0)


def test_changed_tags_are_reread_and_a_tag_only_change_keeps_predictions(lib, music):
    scan(lib, [music])
    classify_library(lib, FakeClassifier())
    path = music / "albums" / "jazz-flac.flac"
    audio = mutagen.File(path)
    audio["genre"], audio["artist"] = ["Fusion"], ["Someone"]
    audio.save()
    report = scan(lib, [music])
    assert (report.updated, report.unchanged) == (1, len(FORMATS) + 1)
    flac = tracks(lib)["jazz-flac.flac"]
    assert (flac.genres, flac.artist) == (["Fusion"], "Someone")
    with lib.session() as session:
        assert session.scalar(select(Prediction).where(Prediction.track_id == flac.id)) is not None


def test_vanished_files_are_marked_missing_not_dropped_and_come_back(lib, music):
    scan(lib, [music])
    gone = music / "albums" / "rock-ogg.ogg"
    hidden = music.parent / "rock-ogg.ogg"
    gone.rename(hidden)
    report = scan(lib, [music])
    assert report.missing == [str(gone)]
    row = tracks(lib)["rock-ogg.ogg"]
    assert row.status == TrackStatus.MISSING and row.missing_since is not None
    hidden.rename(gone)
    scan(lib, [music])
    assert tracks(lib)["rock-ogg.ogg"].status == TrackStatus.OK


def test_a_moved_file_keeps_its_row_and_predictions(lib, music):
    scan(lib, [music])
    classify_library(lib, FakeClassifier())
    old = music / "albums" / "jazz-mp3.mp3"
    before = tracks(lib)["jazz-mp3.mp3"]
    (music / "moved").mkdir()
    new = music / "moved" / "renamed.mp3"
    old.rename(new)
    report = scan(lib, [music])
    assert report.moved == [(str(old), str(new))] and report.missing == [] and report.added == 0
    after = tracks(lib)["renamed.mp3"]
    assert (after.id, after.moved_from, after.status) == (before.id, str(old), TrackStatus.OK)
    with lib.session() as session:
        assert session.scalar(select(Prediction).where(Prediction.track_id == after.id)) is not None


def test_scanning_one_folder_leaves_other_folders_alone(lib, music, tmp_path):
    scan(lib, [music])
    other = tmp_path / "other"
    other.mkdir()
    (music / "albums" / "rock-m4a.m4a").rename(other / "rock-m4a.m4a")
    (music / "albums" / "blues-wav.wav").rename(other / "blues-wav.wav")
    report = scan(lib, [other])
    assert report.found == 2 and len(report.moved) == 2
    assert all(t.status != TrackStatus.MISSING for t in tracks(lib).values())


def test_playlists_are_imported_and_linked_to_tracks(lib, music):
    report = scan(lib, [music])
    assert report.playlists == 1
    with lib.session() as session:
        playlist = session.scalar(select(Playlist))
        entries = [(e.location, e.title, e.track_id is not None) for e in playlist.entries]
    assert playlist.name == "mix"
    assert entries == [("albums/blues-wav.wav", "Some Artist - Blues", True), ("albums/jazz-flac.flac", None, True),
                       ("albums/not-here.mp3", None, False), ("http://radio.example/stream.mp3", None, False)]
    assert scan(lib, [music]).playlists == 0  # unchanged playlists are not re-read


def test_cancelled_scan_keeps_what_it_did_and_marks_nothing_missing(lib, music):
    scan(lib, [music])
    (music / "albums" / "jazz-flac.flac").unlink()
    stop = threading.Event()
    report = scan(lib, [music], progress=lambda done, total: stop.set(), cancel=stop)
    assert report.cancelled and report.missing == []
    assert all(t.status != TrackStatus.MISSING for t in tracks(lib).values())


def test_overlapping_folders_are_walked_once(lib, music):
    report = scan(lib, [music, music / "albums", music])
    assert report.found == report.added == len(FORMATS) + 2
