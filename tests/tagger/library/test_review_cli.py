"""``list``, ``accept``, ``confirm`` and ``confirmed`` as a user types them, on a scanned and
classified catalogue, checked in the catalogue afterwards."""

from __future__ import annotations

import csv
import json
import os
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from tagger.cli import main
from tagger.library import Track, classify_library, open_library
from tests.support import tone, write_audio
from tests.tagger.library.helpers import (  # noqa: F401
    FakeClassifier,
    genre_of,
    library_template,
    music,
)

ODD_NAME = os.fsdecode(b"rock-caf\xe9.wav")  # a name that is not UTF-8
PADDED = "blues-aiff.aiff"  # the one prediction resting on padding


class Fake(FakeClassifier):
    """The helpers' classifier with whole windows, except for ``PADDED``."""

    def classify_paths(self, paths, workers=None):
        for result in super().classify_paths(paths, workers):
            yield replace(result, padded=result.path.name == PADDED)


@pytest.fixture
def db(tmp_path, music):  # noqa: F811
    write_audio(music / "odd.wav", tone(0.5, 8000), 8000)
    os.rename(music / "odd.wav", music / ODD_NAME)
    path = tmp_path / "lib.db"
    assert main(["--db", str(path), "scan", str(music)]) == 1  # broken.mp3 and empty.flac fail
    with open_library(path) as lib:
        classify_library(lib, Fake(), workers=0)
    return path


def accepted(db: Path) -> dict[str, list[str] | None]:
    """File name -> the genres the catalogue holds as accepted."""
    with open_library(db) as lib, lib.session() as session:
        return {Path(p).name: g for p, g in session.execute(select(Track.path, Track.confirmed_genres))}


def run(capsys, *argv: str, status: int = 0) -> str:
    assert main(list(argv)) == status
    return capsys.readouterr().out


def one_error_line(capsys, argv: list[str], status: int = 2) -> str:
    assert main(argv) == status
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and not captured.out, captured
    return lines[0]


def test_list_filters_as_the_window_does(db, music, capsys):
    data = json.loads(run(capsys, "--db", str(db), "list", "--json"))
    names = {Path(t["path"]).name: t for t in data}
    assert len(names) == 10 and names[ODD_NAME]["path"] == str(music / ODD_NAME)
    assert {n for n, t in names.items() if t["status"] == "unreadable"} == {"broken.mp3", "empty.flac"}
    assert all(t["predicted"] == genre_of(n) and t["confidence"] == 0.8 for n, t in names.items()
               if t["status"] == "review")

    def listed(*options: str) -> set[str]:
        return {Path(t["path"]).name for t in json.loads(run(capsys, "--db", str(db), "list", "--json", *options))}

    assert listed("--genre", "JAZZ") == {n for n in names if n.startswith("jazz") and names[n]["predicted"]}
    assert listed("--status", "unreadable") == {"broken.mp3", "empty.flac"}
    assert listed("--min-confidence", "0.9") == set() and len(listed("--max-confidence", "0.8")) == 8
    assert listed("--padded") == {PADDED}
    assert listed("--folder", str(music / "albums"), "--format", "flac") == {"jazz-flac.flac"}
    assert listed("--search", "caf") == {ODD_NAME}
    text = run(capsys, "--db", str(db), "list", "--status", "review", "--sort", "predicted")
    lines = text.splitlines()
    assert len(lines) == 8 and all(line.startswith("review ") for line in lines)
    assert [line.split()[1] for line in lines] == sorted(line.split()[1] for line in lines)
    assert "\\xe9" in text  # the odd name printed escaped on its line


def test_accept_dry_run_then_accept_by_genre_then_all(db, capsys):
    out = run(capsys, "--db", str(db), "accept", "--min-confidence", "0.8", "--dry-run")
    trusted = {n for n, g in accepted(db).items() if n not in (PADDED, "broken.mp3", "empty.flac")}
    assert "dry run: 7 tracks would be accepted" in out and PADDED not in out
    assert "left out: 1 prediction resting on padding" in out
    assert all(g is None for g in accepted(db).values())  # nothing changed
    out = run(capsys, "--db", str(db), "accept", "--min-confidence", "0.8", "--genre", "jazz")
    assert accepted(db) == {n: ([genre_of(n)] if n.startswith("jazz") and n in trusted else None)
                            for n in accepted(db)}
    assert "2 tracks accepted" in out
    run(capsys, "--db", str(db), "write")  # the accepted genres go into the files
    data = json.loads(run(capsys, "--db", str(db), "list", "--json", "--status", "accepted"))
    assert {Path(t["path"]).name: (t["genres"], t["written"]) for t in data} == \
        {"jazz-flac.flac": (["jazz"], True), "jazz-mp3.mp3": (["jazz"], True)}
    assert run(capsys, "--db", str(db), "list", "--genre", "jazz").count("written ") == 2
    run(capsys, "--db", str(db), "accept")  # the window's starting threshold, 80%
    assert {n for n, g in accepted(db).items() if g} == trusted
    out = run(capsys, "--db", str(db), "accept")
    assert "nothing to accept" in out and "left out: 1 prediction" in out
    out = run(capsys, "--db", str(db), "accept", "--include-untrusted")
    assert "1 track accepted" in out and "left out" not in out
    assert accepted(db)[PADDED] == ["blues"]
    assert "nothing to accept" in run(capsys, "--db", str(db), "accept", "--min-confidence", "0")


def test_confirm_sets_and_clears_the_users_own_genre(db, music, capsys):
    flac, odd = music / "albums" / "jazz-flac.flac", music / ODD_NAME
    out = run(capsys, "--db", str(db), "confirm", str(flac), str(odd), "--genre", " Bossa Nova", "--genre", "bossa nova",
              "--genre", "Samba")
    assert "confirmed for 2 tracks" in out
    assert accepted(db)[flac.name] == accepted(db)[ODD_NAME] == ["Bossa Nova", "Samba"]
    assert "nothing to accept" in run(capsys, "--db", str(db), "accept", str(flac), "--min-confidence", "0")
    assert accepted(db)[flac.name] == ["Bossa Nova", "Samba"]  # the user's own genre stays
    run(capsys, "--db", str(db), "accept", str(flac), "--min-confidence", "0", "--replace")
    assert accepted(db)[flac.name] == ["jazz"]
    run(capsys, "--db", str(db), "confirm", str(flac), "--clear")
    assert accepted(db)[flac.name] is None and accepted(db)[ODD_NAME] == ["Bossa Nova", "Samba"]
    out = run(capsys, "--db", str(db), "confirm", str(flac), str(music / "nowhere.mp3"), "--genre", "jazz", status=1)
    assert "nowhere.mp3: unknown file" in out and accepted(db)[flac.name] == ["jazz"]


def test_confirmed_genres_as_the_csv_the_trainer_reads(db, music, tmp_path, capsys):
    assert "no track has a confirmed genre" in one_error_line(capsys, ["--db", str(db), "confirmed"], status=1)
    run(capsys, "--db", str(db), "accept", "--min-confidence", "0.8")
    run(capsys, "--db", str(db), "confirm", str(music / ODD_NAME), "--genre", "Samba", "--genre", "Bossa Nova")
    out = tmp_path / "confirmed.csv"
    run(capsys, "--db", str(db), "confirmed", "--csv", str(out))
    with open(out, encoding="utf-8", errors="surrogateescape", newline="") as f:
        read = list(csv.DictReader(f))
    with open_library(db) as lib, lib.session() as session:
        expected = [{"path": p, "genre": g[0], "song": str(i)} for i, p, g in session.execute(
            select(Track.id, Track.path, Track.confirmed_genres).where(Track.confirmed_genres.is_not(None))
            .order_by(Track.id))]
    assert read == expected and len(read) == 7
    assert {r["path"] for r in read} >= {str(music / ODD_NAME)}  # the name's bytes kept exactly
    inside = run(capsys, "--db", str(db), "confirmed", str(music / "albums"))
    assert inside.splitlines()[0] == "path,genre,song" and len(inside.splitlines()) == 1 + 6


@pytest.mark.parametrize("argv, message", [
    (["list", "--min-confidence", "2"], "--min-confidence must be between 0 and 1"),
    (["accept", "--max-confidence", "-0.5"], "--max-confidence must be between 0 and 1"),
    (["accept", "--max-genres", "0"], "--max-genres must be at least 1"),
    (["list", "--genre", " "], "--genre cannot be empty"),
])
def test_bad_input_is_one_line(db, capsys, argv, message):
    assert message in one_error_line(capsys, ["--db", str(db), *argv])


def test_an_empty_genre_for_a_catalogued_file_is_refused(db, music, capsys):
    line = one_error_line(capsys, ["--db", str(db), "confirm", str(music / "albums" / "rock-ogg.ogg"), "--genre", " "])
    assert line == "error: a genre cannot be empty"
    assert accepted(db)["rock-ogg.ogg"] is None
