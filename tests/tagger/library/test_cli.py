"""The library subcommands as a user types them: scan, write --dry-run, write, undo, profile."""

from __future__ import annotations

import json

import pytest

from tagger.cli import main
from tagger.library import classify_library, open_library
from tagger.tags import read_tags
from tests.tagger.library.helpers import FakeClassifier, library_template, music  # noqa: F401


@pytest.fixture
def db(tmp_path, music):
    path = tmp_path / "lib.db"
    assert main(["--db", str(path), "scan", str(music)]) == 0
    with open_library(path) as lib:
        classify_library(lib, FakeClassifier())
    return path


def run(capsys, *argv) -> str:
    main(list(argv))
    return capsys.readouterr().out


def test_scan_reports_counts_and_unreadable_files(tmp_path, music, capsys):
    out = run(capsys, "scan", str(music), "--db", str(tmp_path / "x.db"))  # --db after the command works too
    assert "9 audio files: 9 new" in out and "1 playlist imported" in out
    assert "broken.mp3: cannot read tags" in out and "empty.flac: file is empty" in out
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
