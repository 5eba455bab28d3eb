"""``genre-trainer reproduce`` on real GTZAN audio: short excerpts and full clips of the same songs
joined, windows fitted to the excerpts and stated in the table, songs never split across sets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support import gtzan_dir
from trainer.cli import main
from trainer.data.audio_source import fitted_window
from trainer.data.sources import build_split, open_dataset
from trainer.runtime.audio import WindowSpec
from trainer.runtime.features import make as make_pipeline

GENRES = ("classical", "jazz", "rock")
EXCERPTS = range(1, 11)     # song ids 00001-00010: excerpts of 2-3 s
FULL = (0, 1)               # song 00000 only as a full clip; 00001 as both


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> tuple[Path, Path]:
    """A few real excerpts and full clips per genre, linked (never copied or altered) into two
    folder-per-genre trees."""
    root = tmp_path_factory.mktemp("gtzan")
    for folder, source, numbers in (("excerpts", "excerpts", EXCERPTS), ("full", "genres_original", FULL)):
        for genre in GENRES:
            (root / folder / genre).mkdir(parents=True)
            for n in numbers:
                name = f"{genre}.{n:05d}.wav"
                (root / folder / genre / name).symlink_to(gtzan_dir() / source / genre / name)
    return root / "excerpts", root / "full"


def test_excerpts_get_windows_of_their_length_and_full_clips_are_cut_alike(folders, tmp_path):
    excerpts, full = folders
    data = open_dataset([excerpts, full])
    assert data.window == WindowSpec(length_s=3.0, hop_s=3.0)           # the longest excerpt is 3.0 s
    assert fitted_window(open_dataset(full).dataset) == WindowSpec()   # 30-s clips keep the 30-s window
    assert open_dataset([excerpts], window=2.0).window.length_s == 2.0
    assert len(data.songs) == len(GENRES) * 11 and len(data.dataset.items) == len(GENRES) * 12
    rows = data.arrays(["classical.00001", "classical.00002"], make_pipeline("mfcc-segments"), data.labels)
    # 00001: one padded excerpt window + 10 windows of the 30.01-s clip; 00002: one excerpt window
    assert rows.songs.tolist().count("classical.00001") == 11 and rows.songs.tolist().count("classical.00002") == 1
    assert rows.x.shape[1:] == (6, 20)                                 # six half-second segments of 3 s


def test_a_song_with_an_excerpt_and_a_full_clip_stays_on_one_side(folders):
    excerpts, full = folders
    data = open_dataset([excerpts, full])
    pipeline = make_pipeline("mfcc-segments")
    for seed in range(3):
        split = build_split(data, "random-80-20", seed, [excerpts, full])
        train = data.arrays(list(split.train), pipeline, data.labels)
        test = data.arrays(list(split.test), pipeline, data.labels)
        assert not set(train.songs) & set(test.songs)
        assert set(train.songs) | set(test.songs) == set(data.songs)
        both = [f"{g}.00001" for g in GENRES]
        for song in both:  # all 11 windows of the song are on the side its id is on
            side = train if song in split.train else test
            assert side.songs.tolist().count(song) == 11


def test_reproduce_two_methods_states_the_adaptation_and_counts_songs(folders, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    excerpts, full = folders
    out = tmp_path / "out"
    args = ["reproduce", "--data", str(excerpts), "--data", str(full), "--methods", "mfcc-fc", "rf-mean",
            "--splits", "random-80-20", "--seeds", "2", "--budget", "tiny", "--out", str(out),
            "--set", "n_estimators=20"]
    assert main(args) == 0
    table = (out / "table.md").read_text()
    assert "33 songs in 36 files, cut into 3-s windows" in table
    assert "30 files of 2." in table and "6 files of 30.0 s give 10 windows each" in table
    assert "| mfcc-fc | 002 | mfcc-segments | 3-s windows (seed: 30-s clips); input 6×20 (seed: 60×20) |" in table
    assert "| rf-mean | 003 | logmel | 3-s windows (seed: 30-s clips); input 80×301 (seed: 80×3007) |" in table
    songs = len(GENRES) * 11
    for method in ("mfcc-fc", "rf-mean"):
        for seed in (0, 1):
            report = json.loads((out / f"runs/{method}/random-80-20-seed{seed}/report.json").read_text())
            assert report["window"]["length_s"] == 3.0
            assert report["n_test"] == round(0.2 * songs) == sum(map(sum, report["confusion_matrix"]))
            assert report["n_train"] + report["n_valid"] + report["n_test"] == songs
    assert f"| {round(0.2 * songs)} |" in table
    rows = json.loads((out / "table.json").read_text())
    assert {r["method"]: r["window"]["length_s"] for r in rows} == {"mfcc-fc": 3.0, "rf-mean": 3.0}


def test_window_is_recorded_in_the_bundle_and_bad_windows_are_refused(folders, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    excerpts, _ = folders
    out = tmp_path / "run"
    assert main(["train", "rf-mean", "--data", str(excerpts), "--split", "random-80-20", "--window", "2.5",
                 "--out", str(out), "--set", "n_estimators=10"]) == 0
    manifest = json.loads((out / "bundle" / "bundle.json").read_text())
    assert manifest["window"]["length_s"] == 2.5 == manifest["window"]["hop_s"]
    with pytest.raises(SystemExit, match="window must be positive"):
        main(["train", "rf-mean", "--data", str(excerpts), "--split", "random-80-20", "--window", "0"])
    with pytest.raises(SystemExit, match="audio folders only"):
        main(["train", "knn", "--data", str(gtzan_dir() / "features_30_sec.csv"), "--window", "3"])
    with pytest.raises(SystemExit, match="only audio folders can be combined"):
        main(["train", "knn", "--data", str(gtzan_dir() / "features_30_sec.csv"), "--data", str(excerpts)])


def test_a_song_labelled_with_two_genres_is_refused(folders, tmp_path):
    excerpts, _ = folders
    wrong = tmp_path / "wrong" / "jazz"
    wrong.mkdir(parents=True)
    (wrong / "classical.00001.wav").symlink_to(gtzan_dir() / "excerpts/classical/classical.00001.wav")
    with pytest.raises(SystemExit, match="classical.00001 is labelled both classical and jazz"):
        main(["train", "rf-mean", "--data", str(excerpts), "--data", str(tmp_path / "wrong"), "--split", "random-80-20"])


def _runs(out: Path) -> dict[str, tuple[float, list[list[int]]]]:
    return {f"{p.parent.parent.name}/{p.parent.name}": (r["accuracy"], r["confusion_matrix"])
            for p in sorted(out.glob("runs/*/*/report.json")) for r in [json.loads(p.read_text())]}


def test_runs_in_two_worker_processes_give_what_the_same_runs_give_in_one(folders, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    excerpts, _ = folders
    common = ["reproduce", "--data", str(excerpts), "--methods", "mfcc-fc", "rf-mean", "--splits", "random-80-20",
              "--seeds", "2", "--budget", "tiny", "--set", "n_estimators=20"]
    assert main([*common, "--out", str(tmp_path / "one")]) == 0
    assert main([*common, "--out", str(tmp_path / "two"), "--jobs", "2"]) == 0
    one, two = _runs(tmp_path / "one"), _runs(tmp_path / "two")
    assert len(one) == 4 and one == two
    table = (tmp_path / "two" / "table.md").read_text()
    assert [line.split(" |")[0] for line in table.splitlines() if line.startswith("| mfcc-fc") or
            line.startswith("| rf-mean")] == ["| mfcc-fc", "| rf-mean"]     # the order asked, not the order done


def test_a_run_failing_in_a_worker_is_recorded_and_the_others_go_on(folders, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    excerpts, _ = folders
    out = tmp_path / "out"
    assert main(["reproduce", "--data", str(excerpts), "--methods", "rf-mean", "mfcc-fc", "--splits", "random-80-20",
                 "--seeds", "1", "--budget", "tiny", "--jobs", "2", "--set", "n_estimators=0", "--out", str(out)]) == 1
    assert "n_estimators" in (out / "runs/rf-mean/random-80-20-seed0/error.txt").read_text()
    assert (out / "runs/mfcc-fc/random-80-20-seed0/report.json").is_file()
    table = (out / "table.md").read_text()
    assert "- rf-mean (random-80-20, seed 0): InvalidParameterError" in table


def test_a_number_of_jobs_below_one_is_refused(capsys):
    with pytest.raises(SystemExit):
        main(["reproduce", "--data", str(gtzan_dir() / "features_30_sec.csv"), "--jobs", "0"])
    assert "--jobs: expected a whole number of at least 1, got '0'" in capsys.readouterr().err
