"""``genre-tagger retrain``: a model from the genres the user confirmed, on real excerpts."""

from __future__ import annotations

import json
import shutil

from tagger.cli import main
from tagger.library import Track, confirm_genres, open_library
from tagger.library.confirmed import confirmed_examples
from tests.support import gtzan_dir
from trainer.runtime import bundle

GENRES = ("metal", "classical")


def _music(tmp_path):
    """Seven real excerpts of two genres, in a folder per album, none named after its genre."""
    music = tmp_path / "music"
    for genre in GENRES:
        for i in range(1, 8):
            target = music / f"album-{genre[:2]}" / f"track{i:02d}.wav"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(gtzan_dir() / "excerpts" / genre / f"{genre}.{i:05d}.wav", target)
    return music


def test_confirmed_examples_follow_folders_exactly(tmp_path):
    music = _music(tmp_path)
    (music / "album-me_x").mkdir()  # '_' is a LIKE wildcard: it must not widen a folder match
    shutil.copy(music / "album-me" / "track01.wav", music / "album-me_x" / "track01.wav")
    db = tmp_path / "lib.db"
    assert main(["--db", str(db), "scan", str(music)]) == 0
    with open_library(db) as lib:
        with lib.session() as session:
            ids = {t.path: t.id for t in session.query(Track)}
        confirm_genres(lib, list(ids.values()), ["Metal", "Heavy Metal"])
        inside = confirmed_examples(lib, [str(music / "album-me")])
        assert sorted(p for _, p, _ in inside) == sorted(p for p in ids if "/album-me/" in p)
        assert {g for _, _, g in inside} == {"Metal"}  # the first confirmed genre is the label
        assert len(confirmed_examples(lib)) == len(ids)


def test_retrain_learns_the_confirmed_genres_with_a_musicnn_head(tmp_path, capsys):
    music = _music(tmp_path)
    db = tmp_path / "lib.db"
    assert main(["--db", str(db), "scan", str(music)]) == 0
    with open_library(db) as lib, lib.session() as session:
        tracks = list(session.query(Track))
    with open_library(db) as lib:
        for genre in GENRES:
            confirm_genres(lib, [t.id for t in tracks if f"album-{genre[:2]}" in t.path], [genre.title()])
    capsys.readouterr()
    out = tmp_path / "model"
    assert main(["--db", str(db), "retrain", "--out", str(out), "--device", "cpu"]) == 0
    printed = capsys.readouterr().out
    assert "14 tracks with a confirmed genre" in printed and f"model: {out / 'bundle'}" in printed
    loaded = bundle.load(out / "bundle")
    assert loaded.manifest.method == "logreg-musicnn" and loaded.labels == ["Classical", "Metal"]
    report = json.loads((out / "report.json").read_text())
    assert report["n_test"] >= 2 and report["n_train"] + report["n_valid"] + report["n_test"] == 14
    # a metal excerpt it never saw, through the tagger with the new model
    unseen = gtzan_dir() / "excerpts" / "metal" / "metal.00020.wav"
    assert main(["classify", str(unseen), "--model", str(out / "bundle"), "--json", "--workers", "0"]) == 0
    assert json.loads(capsys.readouterr().out)["tracks"][0]["genre"] == "Metal"


def test_retrain_without_confirmed_genres_says_what_to_do(tmp_path, capsys):
    music = _music(tmp_path)
    db = tmp_path / "lib.db"
    assert main(["--db", str(db), "scan", str(music)]) == 0
    capsys.readouterr()
    assert main(["--db", str(db), "retrain"]) == 1
    assert "no track has a confirmed genre yet" in capsys.readouterr().err
