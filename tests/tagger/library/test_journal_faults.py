"""The journal under attack: long names, a recovery entry that cannot be settled, concurrent
writers, kills while a scratch copy exists or a copy-back runs, links, lying WAV/AIFF headers,
and a catalogue deleted or made read-only mid-write."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from sqlalchemy import select

from tagger.cli import main
from tagger.library import (
    EditStatus,
    TagEdit,
    Track,
    WriteSession,
    classify_library,
    open_library,
    scan,
    undo,
    write_library,
)
from tagger.tags import read_tags
from tests.support import REPO_ROOT, gtzan_dir, tone, write_audio
from tests.tagger.library.helpers import FakeClassifier, make_wavs
from tests.tagger.tags.readers import audio_md5
from trainer.runtime.audio import decode


def catalogue(music: Path, db: Path) -> None:
    with open_library(db) as lib:
        scan(lib, [music])
        classify_library(lib, FakeClassifier())


@pytest.fixture
def library(tmp_path) -> tuple[Path, list[Path]]:
    """A catalogue (scanned, classified) of 12 short WAV files; returns its path and the files."""
    files = make_wavs(tmp_path / "music", 12)
    catalogue(tmp_path / "music", tmp_path / "lib.db")
    return tmp_path / "lib.db", files


def contents(files: list[Path]) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in files}


def scratch_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".gt-"))


def cli(db: Path, *argv: str) -> subprocess.CompletedProcess:
    """``genre-tagger --db db argv...`` in its own process, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "tagger.cli", "--db", str(db), *argv], cwd=REPO_ROOT,
                          capture_output=True, text=True)


def run_main(capsys, db: Path, *argv: str) -> tuple[int, str]:
    code = main(["--db", str(db), *argv])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out + captured.err


def undo_all(db: Path) -> None:
    """Plain ``undo`` until nothing is left to undo (at most a few sessions)."""
    for _ in range(4):
        done = cli(db, "undo")
        assert "Traceback" not in done.stderr
        if done.returncode == 2:
            assert "nothing to undo" in done.stderr
            return
        assert done.returncode == 0, done.stdout + done.stderr
    raise AssertionError("undo never ran out of sessions")


# A child process with the catalogue open. ``pause()`` tells the parent where it is and waits for a
# line on stdin, so the parent acts (or kills) at a known point, however the two are scheduled.
_CHILD = """
import sys
import tagger.tags as tags
import tagger.tags.scratch as scratch
from tagger.library import open_library, undo, write_library
lib = open_library(sys.argv[1])
calls = 0

def pause():
    print("paused", flush=True)
    sys.stdin.readline()

def at_call(n, real):
    def hooked(*args):
        global calls
        calls += 1
        if calls == n:
            return pause_then(real, *args)
        return real(*args)
    return hooked

def pause_then(real, *args):
    pause()
    return real(*args)

def report(done, total):
    if done == int(sys.argv[2]):
        pause()
{setup}
write_library(lib, commit_every=4, progress=report)
"""


class Child:
    """A write in its own process, paused at a known point (see ``_CHILD``)."""

    def __init__(self, db: Path, setup: str = "", pause_at_file: int = 0) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", _CHILD.format(setup=setup), str(db), str(pause_at_file)],
                                     cwd=REPO_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line == "paused\n", f"the child did not reach its pause: {line!r}"

    def resume(self) -> None:
        out, _ = self.proc.communicate("\n")
        assert self.proc.returncode == 0, out

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()


# --- long names and a recovery that cannot wedge ------------------------------------------------

def test_names_at_the_file_systems_limit_are_written_and_undone(tmp_path, capsys):
    music = tmp_path / "music"
    limit = os.pathconf(tmp_path, "PC_NAME_MAX")
    files = [write_audio(music / f"{i}.{fmt}", tone(0.5, 8000, freq=200 + 30 * i), 8000).rename(
             music / (f"{genre}-{fmt}-" + "x" * (limit - len(genre) - 2 * len(fmt) - 3) + f".{fmt}"))
             for i, (genre, fmt) in enumerate([("jazz", "wav"), ("rock", "mp3"), ("blues", "flac"), ("jazz", "m4a")])]
    assert {len(os.fsencode(p.name)) for p in files} == {limit}
    states = {p: read_tags(p).genre_state for p in files}
    samples = {p: decode(p, 8000).samples for p in files}
    catalogue(music, tmp_path / "lib.db")
    code, out = run_main(capsys, tmp_path / "lib.db", "write")
    assert code == 0 and "4 files written" in out
    assert [read_tags(p).genres for p in files] == [["jazz"], ["rock"], ["blues"], ["jazz"]]
    code, out = run_main(capsys, tmp_path / "lib.db", "undo")
    assert code == 0 and "4 files restored" in out
    for p in files:
        assert read_tags(p).genre_state == states[p] and np.array_equal(decode(p, 8000).samples, samples[p])
    assert scratch_files(music) == []


def test_recovery_reports_an_entry_it_cannot_settle_and_the_rest_go_on(library, capsys):
    db, files = library
    limit = os.pathconf(files[0].parent, "PC_NAME_MAX")
    unreachable = str(files[0].parent / ("n" * (limit + 1)) / "song.wav")  # a name longer than the limit
    with open_library(db) as lib:
        write_library(lib, track_ids=[1])
        with lib.session() as session:
            ws = WriteSession(kind="write")
            session.add(ws)
            track = session.scalar(select(Track).where(Track.path == str(files[1])))
            session.add_all([TagEdit(session=ws, track_id=track.id, path=unreachable, old_genres=[], old_state={},
                                     new_genres=["rock"]),
                             TagEdit(session=ws, track_id=track.id, path=str(files[1]), old_genres=[],
                                     old_state=read_tags(files[1]).genre_state, new_genres=["jazz"])])
            session.commit()
    code, out = run_main(capsys, db, "write")
    assert code == 1
    assert f"{unreachable}: interrupted write; cannot open: File name too long" in out
    assert "settled 2 edits an interrupted run had left unfinished" in out
    assert "11 files written" in out  # the other pending edit was settled (file untouched: aborted), the rest written
    with open_library(db) as lib, lib.session() as session:
        assert {e.status for e in session.scalars(select(TagEdit))} <= {EditStatus.DONE, EditStatus.FAILED,
                                                                        EditStatus.ABORTED}
    for argv in (["undo"], ["undo", "--force"]):  # the second reverts the first session's file
        code, out = run_main(capsys, db, *argv)
        assert code == 0, out
    assert all(read_tags(p).genres == [] for p in files)
    code, out = run_main(capsys, db, "write")
    assert code == 0 and "12 files written" in out


# --- two writers at once ------------------------------------------------------------------------

def test_a_second_write_or_undo_is_refused_while_a_write_runs(library):
    db, files = library
    originals = contents(files)
    child = Child(db, pause_at_file=3)
    try:
        for argv in (["write"], ["undo"], ["undo", "--force"]):
            refused = cli(db, *argv)
            assert refused.returncode == 1, refused.stdout + refused.stderr
            assert f"another write is running on this catalogue (pid {child.proc.pid})" in refused.stderr
            assert "Traceback" not in refused.stderr
    finally:
        child.resume()
    assert all(read_tags(p).genres for p in files)
    undo_all(db)
    assert contents(files) == originals


@pytest.mark.parametrize("pair", [("write", "write"), ("write", "undo")])
def test_writers_started_together_leave_every_file_undoable(library, pair):
    db, files = library
    originals = contents(files)
    procs = [subprocess.Popen([sys.executable, "-m", "tagger.cli", "--db", str(db), command], cwd=REPO_ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for command in pair]
    for proc, command in zip(procs, pair):
        out, err = proc.communicate()
        assert "Traceback" not in err
        if proc.returncode == 1:
            assert "another write is running on this catalogue (pid " in err
        elif command == "undo" and proc.returncode == 2:
            assert "nothing to undo" in err  # it ran before the write had written anything
        else:
            assert proc.returncode == 0, out + err
    plain = cli(db, "undo")  # one plain undo: at most one of the two wrote anything
    assert plain.returncode in (0, 2) and "Traceback" not in plain.stderr
    assert contents(files) == originals
    assert scratch_files(files[0].parent) == []


# --- kills while a scratch copy exists or a copy-back runs --------------------------------------

@pytest.mark.parametrize("next_start", ["write", "undo"])
def test_a_killed_writes_scratch_copy_is_removed_at_the_next_start(library, next_start):
    db, files = library
    originals = contents(files)
    samples = {p: decode(p, 8000).samples for p in files}
    child = Child(db, setup="tags.put_in_place = at_call(3, tags.put_in_place)")
    child.kill()  # killed with the third file's tagged copy complete, before it took the file's place
    music = files[0].parent
    assert len(scratch_files(music)) == 1
    assert cli(db, next_start).returncode == 0
    assert scratch_files(music) == []
    with open_library(db) as lib, lib.session() as session:
        assert EditStatus.PENDING not in {e.status for e in session.scalars(select(TagEdit))}
    undo_all(db)
    assert contents(files) == originals
    assert all(np.array_equal(decode(p, 8000).samples, samples[p]) for p in files)


_HALF_COPY_BACK = """
def half(back, target):
    with open(back, "rb") as src, open(target, "r+b") as dst:
        dst.write(src.read(back.stat().st_size // 2))
    pause()
scratch._copy_back = at_call(2, half)
"""


def test_a_copy_back_killed_halfway_is_completed_at_the_next_start(tmp_path):
    music, elsewhere = tmp_path / "music", tmp_path / "elsewhere"
    files = make_wavs(music, 6)
    elsewhere.mkdir()
    for p in files:  # every catalogued file has a second name outside the library
        os.link(p, elsewhere / p.name)
    inodes = {p: p.stat().st_ino for p in files}
    originals = contents(files)
    samples = {p: decode(p, 8000).samples for p in files}
    catalogue(music, tmp_path / "lib.db")
    child = Child(tmp_path / "lib.db", setup=_HALF_COPY_BACK)
    child.kill()
    assert len(scratch_files(music)) == 1 and scratch_files(music)[0].endswith(".back")
    done = cli(tmp_path / "lib.db", "undo")
    assert done.returncode == 0, done.stdout + done.stderr
    assert scratch_files(music) == []
    for p in files:
        assert np.array_equal(decode(p, 8000).samples, samples[p]) and p.stat().st_ino == inodes[p]
    undo_all(tmp_path / "lib.db")
    assert contents(files) == originals
    assert all((elsewhere / p.name).read_bytes() == originals[p] for p in files)


# --- links --------------------------------------------------------------------------------------

def test_links_are_tagged_through_and_stay_links(tmp_path, capsys):
    music, elsewhere = tmp_path / "music", tmp_path / "elsewhere"
    target = write_audio(elsewhere / "target.wav", tone(0.5, 8000), 8000)  # WAV and AIFF undo byte for byte
    other_name = write_audio(elsewhere / "other-name.aiff", tone(0.5, 8000, freq=300), 8000)
    music.mkdir()
    (music / "jazz-link.wav").symlink_to(target)
    os.link(other_name, music / "rock-hard.aiff")
    inode = other_name.stat().st_ino
    originals = contents([target, other_name])
    catalogue(music, tmp_path / "lib.db")
    code, out = run_main(capsys, tmp_path / "lib.db", "write")
    assert code == 0 and "2 files written" in out
    assert (music / "jazz-link.wav").is_symlink() and read_tags(target).genres == ["jazz"]
    assert (music / "rock-hard.aiff").stat().st_ino == inode and read_tags(other_name).genres == ["rock"]
    code, out = run_main(capsys, tmp_path / "lib.db", "undo")
    assert code == 0 and "2 files restored" in out
    assert (music / "jazz-link.wav").is_symlink() and (music / "rock-hard.aiff").stat().st_ino == inode
    assert contents([target, other_name]) == originals


def test_a_file_reached_twice_is_written_once(tmp_path, capsys):
    music = tmp_path / "music"
    target = write_audio(music / "jazz-song.wav", tone(0.5, 8000), 8000)
    (music / "rock-link.wav").symlink_to(target)
    catalogue(music, tmp_path / "lib.db")
    code, out = run_main(capsys, tmp_path / "lib.db", "write")
    assert code == 0 and "1 file written" in out and f"left alone: 1 (same file as {target})" in out
    assert read_tags(target).genres == ["jazz"]


# --- headers that lie ---------------------------------------------------------------------------

def decoded(path: Path) -> tuple[np.ndarray, str]:
    return sf.read(path, dtype="int16")[0], audio_md5(path)


def same_audio(a: tuple[np.ndarray, str], b: tuple[np.ndarray, str]) -> bool:
    return np.array_equal(a[0], b[0]) and a[1] == b[1]


@pytest.fixture
def truncated(tmp_path) -> list[Path]:
    """A real GTZAN clip as WAV and AIFF, each cut at 10% and at 50% of its size."""
    clip = gtzan_dir() / "genres_original" / "rock" / "rock.00002.wav"
    samples, rate = sf.read(clip, dtype="int16")
    full = {"wav": Path(shutil.copyfile(clip, tmp_path / "full.wav")), "aiff": tmp_path / "full.aiff"}
    sf.write(full["aiff"], samples, rate, format="AIFF", subtype="PCM_16")
    out = []
    for fmt, path in full.items():
        data = path.read_bytes()
        for fraction in (0.1, 0.5):
            cut = tmp_path / "music" / f"rock-{int(fraction * 100)}.{fmt}"
            cut.parent.mkdir(exist_ok=True)
            cut.write_bytes(data[: int(len(data) * fraction)])
            out.append(cut)
    return out


def test_truncated_files_are_refused_and_never_claimed(tmp_path, truncated, capsys):
    before = {p: (p.read_bytes(), decoded(p)) for p in truncated}
    db = tmp_path / "lib.db"
    catalogue(tmp_path / "music", db)
    code, out = run_main(capsys, db, "write")
    assert "reverts it" not in out  # nothing was written, so nothing is promised
    for p in truncated:
        assert f"wrote {p}" not in out
        assert p.read_bytes() == before[p][0] and same_audio(decoded(p), before[p][1])
        if str(p) in out:  # catalogued as readable: refused, with the reason
            kind, chunk = ("WAV", "data") if p.suffix == ".wav" else ("AIFF", "SSND")
            assert f"{p}: truncated {kind}: {chunk} chunk declares" in out and code == 1
    code, out = run_main(capsys, db, "undo", "--force")
    assert "restored /" not in out and all(p.read_bytes() == before[p][0] for p in truncated)


def test_undo_force_never_claims_a_file_it_could_not_restore(tmp_path, capsys):
    music = tmp_path / "music"
    music.mkdir()
    jazz = gtzan_dir() / "genres_original" / "jazz"
    files = [Path(shutil.copyfile(jazz / f"jazz.0000{i}.wav", music / f"jazz-{i}.wav")) for i in (1, 2)]
    db = tmp_path / "lib.db"
    catalogue(music, db)
    assert run_main(capsys, db, "write")[0] == 0
    damaged = files[0]
    damaged.write_bytes(damaged.read_bytes()[: damaged.stat().st_size // 2])  # cut short after the write
    before = (damaged.read_bytes(), decoded(damaged))
    code, out = run_main(capsys, db, "undo", "--force")
    assert code == 1
    assert f"restored {damaged}" not in out and f"restored {files[1]}" in out and "1 file restored" in out
    assert f"{damaged}: truncated WAV: data chunk declares" in out
    assert damaged.read_bytes() == before[0] and same_audio(decoded(damaged), before[1])


# --- the catalogue lost mid-write ---------------------------------------------------------------

def delete_catalogue(db: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)


@pytest.mark.parametrize("fault", ["deleted", "read-only"])
def test_a_write_stops_at_the_next_file_when_the_catalogue_is_lost(library, fault):
    db, files = library
    originals = contents(files)

    def lose_it_at_the_third(done: int, total: int) -> None:
        if done == 3:
            delete_catalogue(db) if fault == "deleted" else db.chmod(0o444)

    with open_library(db) as lib:
        report = write_library(lib, commit_every=5, progress=lose_it_at_the_third)
    assert report.stopped and fault in report.stopped
    assert report.journal_kept == (fault == "read-only")
    written = [p for p in files if p.read_bytes() != originals[p]]
    assert len(written) == len(report.changes) == 3
    assert sorted(str(p) for p in written) == sorted(c.path for c in report.changes)
    if fault == "read-only":  # the journal kept what was written: undo honours it once writable again
        db.chmod(0o644)
        with open_library(db) as lib:
            assert len(undo(lib).changes) == 3
        assert contents(files) == originals


def test_the_cli_says_undo_cannot_revert_a_write_whose_catalogue_was_deleted(library, capsys, monkeypatch):
    import tagger.library.journal as journal

    db, files = library
    originals = contents(files)
    real, calls = journal.write_genres, []

    def then_delete(*args, **kwargs):
        real(*args, **kwargs)
        calls.append(args[0])
        if len(calls) == 2:
            delete_catalogue(db)

    monkeypatch.setattr(journal, "write_genres", then_delete)
    code, out = run_main(capsys, db, "write")
    assert code == 1
    assert f"stopped: the catalogue {db} was deleted during the write; 2 files written before that; " \
           "undo cannot revert them" in out
    assert "reverts it" not in out
    assert sum(p.read_bytes() != originals[p] for p in files) == 2


def test_a_read_only_catalogue_refuses_to_write_and_changes_nothing(library, capsys):
    db, files = library
    originals = contents(files)
    db.chmod(0o444)
    try:
        for argv in (["write"], ["undo"]):
            code, out = run_main(capsys, db, *argv)
            assert code == 2 and f"error: the catalogue {db} is read-only" in out
    finally:
        db.chmod(0o644)
    assert contents(files) == originals
