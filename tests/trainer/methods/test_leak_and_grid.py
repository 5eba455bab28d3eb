"""Seed 002's leak beside the song-level split, and seed 000's grid chosen on validation."""

from __future__ import annotations

import json

import pytest

from trainer.cli import main
from trainer.data.splits import Split
from trainer.data.synthetic import generate
from trainer.grid import grid_search, grid_settings, grid_table
from trainer.leak import leak_study, leak_table, segment_seconds

TINY = {"train.epochs": 2, "train.batch_size": 16, "train.patience": None}


def test_leak_study_reports_both_protocols(source, split):
    result = leak_study("mfcc-fc", source, split, seed=0, overrides=TINY)
    assert result["segment_s"] == 0.5 == segment_seconds("mfcc-fc")
    assert result["n_segments"] == 6 * 10 * 8                     # 4-s clips, half-second segments
    song, rand = result["song_split"], result["random_segments"]
    assert song["test_segments_with_song_in_train"] == 0.0
    assert rand["test_segments_with_song_in_train"] > 0.9
    assert song["n_test_songs"] == len(split.test) and song["n_test_segments"] == len(split.test) * 8
    assert rand["n_test_segments"] == song["n_test_segments"]
    assert result["inflation"] == pytest.approx(rand["segment_accuracy"] - song["segment_accuracy"])
    table = leak_table([result])
    assert "| mfcc-fc | 0.5 s |" in table and "62.6*" in table


def test_leak_needs_audio():
    with pytest.raises(ValueError, match="audio folder"):
        leak_study("mfcc-fc", object(), None)


def test_grid_chooses_on_validation_and_records_impossible_settings(source, split):
    split = Split("small", split.train[::3], split.valid, split.test, protocol="a third of the training songs")
    assert len(grid_settings({"a": (1, 2), "b": (3, 4)})) == 4
    assert grid_settings({"a": (1, 2), "b": (3, 4)}, limit=3) == grid_settings({"a": (1, 2), "b": (3, 4)}, limit=3)
    assert len(grid_settings({"a": (1, 2), "b": (3, 4)}, limit=3)) == 3
    grid = {"kernel": (2, 5), "dropout": (0.5,)}   # three 5x5 convolutions do not fit a 4x4 grid
    result = grid_search("mfcc-cnn", source, split, grid=grid, overrides=TINY)
    errors = [t for t in result["trials"] if "error" in t]
    assert [t["setting"]["kernel"] for t in errors] == [5] and "4x4" in errors[0]["error"]
    best = result["best"]
    trained = [t for t in result["trials"] if "error" not in t]
    assert best["valid_accuracy"] == max(t["valid_accuracy"] for t in trained)
    assert best["n_test"] == len(split.test)
    assert "could not be built" in grid_table(result)


def test_cli_leak_and_grid(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    small = generate(tmp_path / "small", n_per_class=10, duration_s=1.0, seed=1)
    assert main(["leak", "mfcc-fc", "--data", str(small), "--split", "random-70-20-10",
                 "--out", str(tmp_path / "leak"), "--set", "train.epochs=1", "--set", "train.batch_size=16"]) == 0
    [row] = json.loads((tmp_path / "leak" / "leak.json").read_text())
    assert row["method"] == "mfcc-fc" and "mfcc-fc" in capsys.readouterr().out
    # The CLI cuts 30-s windows (the 1-s clips are padded): the FFT pipeline keeps that cheap.
    assert main(["grid", "fft-mlp", "--data", str(small), "--split", "random-70-20-10", "--axis", "dropout=[0.25,0.5]",
                 "--limit", "1", "--set", "train.epochs=1", "--out", str(tmp_path / "grid")]) == 0
    result = json.loads((tmp_path / "grid" / "grid.json").read_text())
    assert result["n_settings"] == 1 and result["best"]["n_test"] == 6
    assert "best on validation" in capsys.readouterr().out


def test_grid_scores_methods_without_early_stopping_on_the_validation_songs(source, split):
    split = Split("small", split.train[::3], split.valid, split.test, protocol="a third of the training songs")
    result = grid_search("rf-mean-mfcc", source, split, grid={"n_estimators": (3, 20)})
    tested = [t for t in result["trials"] if "test_accuracy" in t]
    assert tested == [result["best"]]                      # only the chosen setting meets the test songs
    assert result["best"]["n_test"] == len(split.test) and 0 <= result["best"]["test_accuracy"] <= 1
    assert "–" in grid_table(result)


def test_leak_table_gives_each_protocol_and_the_gap_over_seeds():
    def study(seed: int, by_song: float, songs: float, at_random: float) -> dict:
        return {"method": "mfcc-fc", "seed_report": "002", "published": "62.6*", "segment_s": 0.5, "seed": seed,
                "split": {"name": "random-80-20", "protocol": "by song"},
                "song_split": {"segment_accuracy": by_song, "song_accuracy": songs, "n_test_segments": 500,
                               "n_test_songs": 100, "test_segments_with_song_in_train": 0.0},
                "random_segments": {"segment_accuracy": at_random, "n_test_segments": 500,
                                    "test_segments_with_song_in_train": 0.99},
                "inflation": at_random - by_song}

    table = leak_table([study(0, 0.40, 0.50, 0.70), study(1, 0.50, 0.60, 0.90)])
    # means 45/55/80, sample deviations 7.1/7.1/14.1; the gaps are 30 and 40 points: 35 ± 7.1
    assert "| mfcc-fc | 0.5 s | 2 | 45.0 ± 7.1 / 55.0 ± 7.1 | 80.0 ± 14.1 | +35.0 ± 7.1 pts | 100 / 500 | 62.6* |" in table
    assert "seeds 0, 1" in table and "99% of test segments" in table
