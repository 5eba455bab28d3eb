"""The training service: labelled files in, a report and a bundle out, through ``genre-trainer train``."""

from __future__ import annotations

import csv
import json

import pytest

from tests.support import gtzan_dir
from trainer.cli import main
from trainer.runtime.errors import UserError
from trainer.service import read_examples

GENRES = ("metal", "classical")


def _write_examples(path, rows) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerows(rows)


def test_examples_resolve_relative_paths_and_group_files_by_song(tmp_path):
    examples = tmp_path / "lists" / "confirmed.csv"
    examples.parent.mkdir()
    _write_examples(examples, [("path", "genre", "song"), ("a/one.flac", "Jazz", "s1"),
                               ("a/two.flac", "Jazz", "s1"), ("/abs/three.mp3", "Metal", "")])
    assert read_examples(examples) == (
        ("s1", str(examples.parent / "a" / "one.flac"), "Jazz"),
        ("s1", str(examples.parent / "a" / "two.flac"), "Jazz"),
        ("/abs/three.mp3", "/abs/three.mp3", "Metal"),  # no song id: the file is its own song
    )


@pytest.mark.parametrize(("rows", "message"), [
    ([("file", "label"), ("x.wav", "Jazz")], "header naming at least path and genre"),
    ([("path", "genre"), ("x.wav", "")], "line 2 lacks a path or a genre"),
    ([], "header naming at least path and genre"),
])
def test_a_malformed_examples_file_is_one_sentence_naming_it(tmp_path, rows, message):
    examples = tmp_path / "bad.csv"
    _write_examples(examples, rows)
    with pytest.raises(UserError, match=message) as caught:
        read_examples(examples)
    assert caught.value.path == examples and "\n" not in str(caught.value)


def test_the_trainer_learns_from_a_list_of_labelled_files(tmp_path, capsys):
    """What ``genre-tagger confirmed --csv`` writes is what ``genre-trainer train --examples`` reads:
    14 real excerpts of two genres, listed by path from another folder."""
    rows = [("path", "genre", "song")]
    for genre in GENRES:
        rows += [(str(gtzan_dir() / "excerpts" / genre / f"{genre}.{i:05d}.wav"), genre.title(), f"{genre}{i}")
                 for i in range(1, 8)]
    examples = tmp_path / "confirmed.csv"
    _write_examples(examples, rows)
    out = tmp_path / "run"
    assert main(["train", "logreg-musicnn", "--examples", str(examples), "--split", "random-80-20",
                 "--out", str(out), "--device", "cpu"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["labels"] == ["Classical", "Metal"]
    assert report["n_train"] + report["n_valid"] + report["n_test"] == 14
    assert f"{report['accuracy']:.1%}" in capsys.readouterr().out
    manifest = json.loads((out / "bundle" / "bundle.json").read_text())
    assert str(examples) in manifest["training_data"]


def test_data_and_examples_are_one_or_the_other(tmp_path):
    with pytest.raises(SystemExit):
        main(["train", "xgboost", "--data", "x.csv", "--examples", "y.csv"])
    with pytest.raises(SystemExit, match="cannot read the examples"):
        main(["train", "xgboost", "--examples", str(tmp_path / "missing.csv")])
