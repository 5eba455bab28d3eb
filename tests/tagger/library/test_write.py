"""Writing genres by policy through the journal, undo, read-only files, and a writer killed mid-run."""

from __future__ import annotations

import os

import mutagen
import numpy as np
import pytest
from sqlalchemy import func, select

from tagger.library import (
    EditStatus,
    LibraryError,
    TagEdit,
    Track,
    WritePolicy,
    WriteSession,
    classify_library,
    confirm_genres,
    list_sessions,
    open_library,
    reconcile,
    scan,
    track_ids_for,
    undo,
    write_library,
)
from tagger.tags import read_tags
from tests.support import FORMATS
from tests.tagger.library.helpers import (  # noqa: F401  (fixtures)
    FakeClassifier,
    classified,
    genre_of,
    kill_mid_run,
    library_template,
    make_wavs,
    music,
)
from tests.tagger.tags.readers import ffprobe_genre
from trainer.runtime.audio import decode

# --- the policy on its own -------------------------------------------------------------------

RANKED = [("jazz", 0.6), ("rock", 0.3), ("blues", 0.1)]


@pytest.mark.parametrize("policy, threshold, expected", [
    (WritePolicy(), None, ["jazz"]),  # a distribution's own rule: its top genre
    (WritePolicy(), 0.2, ["jazz", "rock"]),  # a multi-label model's: above its threshold, two at most
    (WritePolicy(), 0.5, ["jazz"]),
    (WritePolicy(max_genres=1), 0.2, ["jazz"]),
    (WritePolicy(min_confidence=0.25, max_genres=2), None, ["jazz", "rock"]),
    (WritePolicy(min_confidence=0.05, max_genres=2), 0.5, ["jazz", "rock"]),
    (WritePolicy(min_confidence=0.7), None, []),
])
def test_proposal_respects_confidence_and_count(policy, threshold, expected):
    assert policy.for_model(threshold).proposal(None, RANKED) == expected


def test_confirmed_genres_win_over_predictions():
    assert WritePolicy().proposal(["Soul", "Funk"], RANKED) == ["Soul", "Funk"]


@pytest.mark.parametrize("mode, current, expected", [
    ("empty", [], ["jazz"]),
    ("empty", ["Rock"], None),
    ("replace", ["Rock"], ["jazz"]),
    ("replace", ["Jazz"], None),
    ("append", ["Rock"], ["Rock", "jazz"]),
    ("append", ["JAZZ"], None),
])
def test_modes(mode, current, expected):
    assert WritePolicy(mode=mode).decide(current, ["jazz"])[0] == expected


def test_nothing_confident_enough_is_a_reason_not_a_write():
    new, reason = WritePolicy(min_confidence=0.9).decide([], [])
    assert new is None and "0.90" in reason


@pytest.mark.parametrize("bad", [dict(mode="overwrite"), dict(max_genres=0), dict(min_confidence=1.5),
                                 dict(id3_version=2)])
def test_invalid_policies_are_refused(bad):
    with pytest.raises(ValueError):
        WritePolicy(**bad)


# --- writing a real library ------------------------------------------------------------------

@pytest.fixture
def lib(classified):
    return classified


def audio_files(music):
    return sorted((music / "albums").iterdir())


def snapshot(music) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in audio_files(music)}


def count(lib, what) -> int:
    with lib.session() as session:
        return session.scalar(select(func.count()).select_from(what))


def test_dry_run_reports_and_touches_nothing(lib, music):
    before = snapshot(music)
    report = write_library(lib, dry_run=True)
    assert report.dry_run and report.session_id is None
    assert sorted((os.path.basename(c.path), c.new_genres) for c in report.changes) == \
        sorted((p.name, [genre_of(p.name)]) for p in audio_files(music))
    assert snapshot(music) == before
    assert count(lib, TagEdit) == count(lib, WriteSession) == 0


def test_write_tags_every_format_and_journals_first(lib, music):
    report = write_library(lib)
    assert len(report.changes) == len(FORMATS) and not report.failed
    for path in audio_files(music):
        assert read_tags(path).genres == [genre_of(path.name)]
        assert ffprobe_genre(path) == genre_of(path.name)
    with lib.session() as session:
        edits = list(session.scalars(select(TagEdit)))
        assert {e.status for e in edits} == {EditStatus.DONE}
        assert all(e.old_genres == [] and e.new_genres == [genre_of(os.path.basename(e.path))] for e in edits)
    rescan = scan(lib, [music])
    assert rescan.updated == 0 and rescan.unchanged == rescan.found  # the catalogue kept up with the writes
    again = write_library(lib)
    assert again.changes == [] and again.session_id is None  # nothing empty is left, no empty session


def test_undo_restores_the_exact_previous_state(lib, music):
    flac = music / "albums" / "jazz-flac.flac"
    audio = mutagen.File(flac)
    audio["GENRE"] = ["Soul", "Funk"]
    audio.save()
    scan(lib, [music])
    before = snapshot(music)
    states = {p.name: read_tags(p).genre_state for p in audio_files(music)}
    write_library(lib, WritePolicy(mode="append"))
    assert read_tags(flac).genres == ["Soul", "Funk", "jazz"]
    assert len(undo(lib).changes) == len(FORMATS)
    assert read_tags(flac).genres == ["Soul", "Funk"]
    for path in audio_files(music):
        assert read_tags(path).genre_state == states[path.name]
        if path.suffix in (".wav", ".aiff"):
            assert path.read_bytes() == before[path.name]  # the ID3 chunk we added is gone again
    with pytest.raises(LibraryError, match="nothing to undo"):
        undo(lib)
    assert [s.kind for s in list_sessions(lib)] == ["undo", "write"]


def test_undo_chosen_tracks_only(lib, music):
    write_library(lib)
    mp3 = music / "albums" / "jazz-mp3.mp3"
    report = undo(lib, track_ids=[track_ids_for(lib, [mp3])[str(mp3)]])
    assert [os.path.basename(c.path) for c in report.changes] == ["jazz-mp3.mp3"]
    assert read_tags(mp3).genres == []
    assert read_tags(music / "albums" / "jazz-flac.flac").genres == ["jazz"]
    assert len(undo(lib).changes) == len(FORMATS) - 1  # the rest of the session


def test_undo_leaves_files_changed_since_unless_forced(lib, music):
    write_library(lib)
    ogg = music / "albums" / "rock-ogg.ogg"
    audio = mutagen.File(ogg)
    audio["GENRE"] = ["Shoegaze"]
    audio.save()
    report = undo(lib)
    assert [os.path.basename(s.path) for s in report.skipped] == ["rock-ogg.ogg"]
    assert read_tags(ogg).genres == ["Shoegaze"]
    report = undo(lib, force=True)
    assert [os.path.basename(c.path) for c in report.changes] == ["rock-ogg.ogg"]
    assert read_tags(ogg).genres == []


def test_read_only_files_are_reported_skipped_and_not_journaled(lib, music):
    locked = music / "albums" / "blues-opus.opus"
    original = locked.read_bytes()
    locked.chmod(0o444)
    report = write_library(lib)
    assert [(os.path.basename(f.path), f.reason) for f in report.failed] == [("blues-opus.opus", "file is read-only")]
    assert locked.read_bytes() == original
    with lib.session() as session:
        assert session.scalar(select(TagEdit).where(TagEdit.path == str(locked))) is None


def test_replace_with_two_genres_and_id3v23(lib, music):
    confirm_genres(lib, track_ids_for(lib, [music / "albums" / "jazz-mp3.mp3"]).values(), ["Jazz", "Funk"])
    write_library(lib, WritePolicy(mode="replace", id3_version=3))
    audio = mutagen.File(music / "albums" / "jazz-mp3.mp3")
    assert audio.tags.version[:2] == (2, 3) and audio.tags["TCON"].text == ["Jazz/Funk"]


def test_unclassified_library_says_so(tmp_path, music):
    with open_library(tmp_path / "empty.db") as lib:
        scan(lib, [music])
        with pytest.raises(LibraryError, match="classify"):
            write_library(lib)


# --- a writer killed mid-run -----------------------------------------------------------------


def test_killed_writer_leaves_journal_and_files_consistent(tmp_path):
    files = make_wavs(tmp_path / "music", 30)
    originals = {p: p.read_bytes() for p in files}
    samples = {p: decode(p, 8000).samples for p in files}
    with open_library(tmp_path / "lib.db") as lib:
        scan(lib, [tmp_path / "music"])
        classify_library(lib, FakeClassifier())
    # killed at the twelfth file, inside its second batch of 8
    kill_mid_run("write_library(lib, commit_every=8, progress=report)", tmp_path / "lib.db", at=12)

    with open_library(tmp_path / "lib.db") as lib:
        with lib.session() as session:
            statuses = [e.status for e in session.scalars(select(TagEdit))]
        assert EditStatus.PENDING in statuses  # killed between journaling a batch and finishing it
        reconcile(lib)
        with lib.session() as session:
            edits = {e.path: e for e in session.scalars(select(TagEdit))}
        assert {e.status for e in edits.values()} <= {EditStatus.DONE, EditStatus.ABORTED}
        for path in files:
            genres = read_tags(path).genres
            edit = edits.get(str(path))
            expected = edit.new_genres if edit and edit.status == EditStatus.DONE else []
            assert genres == expected, path.name
            assert np.array_equal(decode(path, 8000).samples, samples[path])
        done = [p for p, e in edits.items() if e.status == EditStatus.DONE]
        assert 12 <= len(done) < 30
        assert not [p for p in (tmp_path / "music").iterdir() if p.name.startswith(".")]  # no leftovers

        assert len(undo(lib).changes) == len(done)
        assert all(p.read_bytes() == originals[p] for p in files)
        with lib.session() as session:
            assert all(t.genres == [] for t in session.scalars(select(Track)))
