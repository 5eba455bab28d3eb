"""The library subcommands as a user types them: scan, write --dry-run, write, undo, profile."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

import tagger.cli as cli
import tagger.library.db as db_module
from tagger.cli import main
from tagger.library import classify_library, open_library
from tagger.tags import read_tags
from tests.tagger.library.helpers import FakeClassifier, library_template, music  # noqa: F401


@pytest.fixture
def db(tmp_path, music):
    path = tmp_path / "lib.db"
    assert main(["--db", str(path), "scan", str(music)]) == 1  # broken.mp3 and empty.flac fail
    with open_library(path) as lib:
        classify_library(lib, FakeClassifier())
    return path


def run(capsys, *argv) -> str:
    main(list(argv))
    return capsys.readouterr().out


def test_scan_reports_counts_and_unreadable_files(tmp_path, music, capsys):
    out = run(capsys, "scan", str(music), "--db", str(tmp_path / "x.db"))  # --db after the command works too
    assert "9 audio files: 9 new" in out and "1 playlist imported" in out
    assert "broken.mp3: a text file, not audio" in out and "empty.flac: empty file (0 bytes)" in out
    assert "9 unchanged" in run(capsys, "--db", str(tmp_path / "x.db"), "scan", str(music))


def test_dry_run_then_write_then_undo(db, music, capsys):
    flac = music / "albums" / "jazz-flac.flac"
    out = run(capsys, "--db", str(db), "write", "--dry-run")
    assert f"would write {flac}: (no genre) -> ['jazz']" in out and "7 files would change" in out
    assert read_tags(flac).genres == []
    out = run(capsys, "--db", str(db), "write", "--max-genres", "2", "--min-confidence", "0.05")
    assert "7 files written (session 1" in out
    assert read_tags(flac).genres == ["jazz", "blues"]  # 0.8 then 0.1 (tie broken by label order)
    assert "nothing to write" in run(capsys, "--db", str(db), "write")
    assert "session 1  write" in run(capsys, "--db", str(db), "undo", "--list")
    out = run(capsys, "--db", str(db), "undo", "--track", str(flac))
    assert "1 file restored" in out and read_tags(flac).genres == []
    assert "6 files restored" in run(capsys, "--db", str(db), "undo")
    assert main(["--db", str(db), "undo"]) == 2
    assert "nothing to undo" in capsys.readouterr().err


def test_profile_text_json_and_chart(db, tmp_path, capsys):
    chart = tmp_path / "taste.png"
    out = run(capsys, "--db", str(db), "profile", "--chart", str(chart))
    assert "Library: 7 tracks" in out and "blues" in out and chart.is_file()
    data = json.loads(run(capsys, "--db", str(db), "profile", "--json", "--by", "duration"))
    assert data["weighting"] == "duration"
    assert set(data["library"]["shares"]) == {"blues", "jazz", "rock"}
    assert data["playlists"][0]["name"] == "mix"


def one_error_line(capsys, argv: list[str]) -> str:
    """Run the CLI expecting a catalogue fault: exit status 2 and one human line on stderr."""
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in captured.out + captured.err, \
        captured.err
    return lines[0]


def test_catalogue_faults_are_one_line_each(tmp_path, music, capsys, monkeypatch):
    folder_db = tmp_path / "a-folder"
    folder_db.mkdir()
    assert "is a folder" in one_error_line(capsys, ["--db", str(folder_db), "scan", str(music)])

    junk = tmp_path / "junk.db"
    junk.write_bytes(bytes(range(256)) * 64)
    assert "is not a genre-tagger catalogue" in one_error_line(capsys, ["--db", str(junk), "scan", str(music)])

    real = tmp_path / "lib.db"
    open_library(real).close()

    def with_pragma(pragma: str):
        def configure(conn, record):
            original(conn, record)
            conn.execute(pragma)
        return configure

    original = db_module._configure
    monkeypatch.setattr(db_module, "_configure", with_pragma("PRAGMA query_only=ON"))  # as a read-only file
    assert "is read-only" in one_error_line(capsys, ["--db", str(real), "scan", str(music)])
    monkeypatch.setattr(db_module, "_configure", with_pragma("PRAGMA max_page_count=3"))  # as a full disk
    assert "is full" in one_error_line(capsys, ["--db", str(tmp_path / "new.db"), "scan", str(music)])
    monkeypatch.setattr(db_module, "_configure", original)

    monkeypatch.setattr(db_module, "BUSY_TIMEOUT_MS", 50)
    holder = sqlite3.connect(real)
    holder.execute("BEGIN EXCLUSIVE")  # another program mid-write
    try:
        assert "in use by another" in one_error_line(capsys, ["--db", str(real), "scan", str(music)])
    finally:
        holder.rollback()
        holder.close()


def test_odd_names_print_on_one_line_each(tmp_path, capsys):
    folder = tmp_path / "odd"
    folder.mkdir()
    for raw in (b"bad\xff name.mp3", b"new\nline.mp3"):
        Path(os.fsdecode(os.fsencode(folder) + b"/" + raw)).write_text("not music")
    assert main(["--db", str(tmp_path / "lib.db"), "scan", str(folder)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert f"  {folder}/bad\\xff name.mp3: a text file, not audio" in out
    assert f"  {folder}/new\\nline.mp3: a text file, not audio" in out


def test_catalogue_classify_exits_1_when_a_track_failed_and_marks_padded_ones(db, capsys, monkeypatch):
    monkeypatch.setattr(cli, "load_classifier", lambda args: FakeClassifier("fake-2", fail=("rock-ogg.ogg",)))
    assert main(["--db", str(db), "classify"]) == 1
    out = capsys.readouterr().out
    assert "rock-ogg.ogg: cannot decode this file" in out
    assert "6 of 7 tracks classified" in out
    assert out.count("rests on padding") == 6  # the fake's windows are padded
