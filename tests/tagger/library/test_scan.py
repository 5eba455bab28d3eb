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
    track_ids_for,
)
from tests.support import FORMATS, tone, write_audio
from tests.tagger.library.helpers import FakeClassifier, library_template, music  # noqa: F401  (fixtures)
from trainer.runtime.audio import decode


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
    assert (rows["broken.mp3"].status, rows["broken.mp3"].error) == (TrackStatus.UNREADABLE, "a text file, not audio")
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


def test_names_that_are_not_utf8_are_catalogued_exactly_and_rescanned_as_unchanged(lib, tmp_path):
    folder = tmp_path / "latin1"
    odd = os.fsdecode(os.fsencode(folder) + b"/caf\xe9 \xff.wav")
    os.rename(write_audio(folder / "plain.wav", tone(1.0, 8000), 8000), odd)
    report = scan(lib, [folder])
    assert (report.added, report.unreadable) == (1, [])
    [row] = tracks(lib).values()
    assert row.path == odd and os.path.exists(row.path) and row.status == TrackStatus.OK
    with lib.engine.connect() as conn:  # stored as text that names the raw bytes
        assert conn.exec_driver_sql("SELECT path FROM tracks").scalar() == f"{folder}/caf//E9 //FF.wav"
    assert decode(odd, 8000).duration_s == pytest.approx(1.0)
    assert scan(lib, [folder]).unchanged == 1
    assert track_ids_for(lib, [odd]) == {odd: row.id}


def test_links_fifos_and_loops_are_reported_with_a_reason_and_never_opened(lib, tmp_path):
    folder = tmp_path / "odd"
    good = write_audio(folder / "good.wav", tone(1.0, 8000), 8000)
    (folder / "link.wav").symlink_to(good)
    (folder / "dangling.mp3").symlink_to(folder / "nowhere.mp3")
    (folder / "loop-a.flac").symlink_to(folder / "loop-b.flac")
    (folder / "loop-b.flac").symlink_to(folder / "loop-a.flac")
    os.mkfifo(folder / "pipe.ogg")  # opening it would block the scan for good
    report = scan(lib, [folder])
    assert sorted(tracks(lib)) == ["good.wav", "link.wav"]
    assert dict((os.path.basename(p), r) for p, r in report.unreadable) == {
        "dangling.mp3": f"broken symbolic link (its target {str(folder / 'nowhere.mp3')!r} does not exist)",
        "loop-a.flac": "symbolic link loop", "loop-b.flac": "symbolic link loop",
        "pipe.ogg": "not a regular file (a FIFO)"}


def test_what_a_file_really_is_and_the_duration_that_really_decodes(lib, tmp_path):
    folder = tmp_path / "liars"
    (folder / "cover.ogg").parent.mkdir()
    (folder / "cover.ogg").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(256))
    flac = write_audio(tmp_path / "real.flac", tone(2.0, 8000), 8000)
    (folder / "flac.mp3").write_bytes(flac.read_bytes())
    wav = write_audio(tmp_path / "whole.wav", tone(10.0, 8000), 8000).read_bytes()
    (folder / "cut.wav").write_bytes(wav[: len(wav) * 45 // 100])
    report = scan(lib, [folder])
    rows = tracks(lib)
    assert report.unreadable == [(str(folder / "cover.ogg"), "a PNG image, not audio")]
    assert rows["cover.ogg"].status == TrackStatus.UNREADABLE
    # FLAC named .mp3: catalogued by what it is, so it can still be classified
    assert (rows["flac.mp3"].status, rows["flac.mp3"].format) == (TrackStatus.OK, "flac")
    assert rows["flac.mp3"].duration_s == pytest.approx(2.0, abs=0.01)
    assert rows["cut.wav"].status == TrackStatus.OK
    assert rows["cut.wav"].duration_s == pytest.approx(4.5, abs=0.01)  # not the header's 10 s
    assert dict(report.damaged) == {
        str(folder / "flac.mp3"): "FLAC audio with an .mp3 extension: catalogued without its tags "
                                  "(rename it to read and write them)",
        str(folder / "cut.wav"): f"truncated: {len(wav) * 45 // 100:,} of {len(wav):,} bytes; 4.5 s decode of the "
                                 f"10.0 s its header claims"}
