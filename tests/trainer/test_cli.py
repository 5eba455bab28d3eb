"""``genre-trainer`` on the real CSV: report folders, bundles, tables and studies."""

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from tagger.engine import Classifier
from tests.support import gtzan_dir
from trainer.cli import main


@pytest.fixture(scope="module")
def csv_path():
    return gtzan_dir() / "features_30_sec.csv"


def test_train_writes_a_report_and_a_bundle_the_tagger_loads(tmp_path, csv_path, capsys, real_clips):
    out = tmp_path / "run"
    assert main(["train", "xgboost", "--data", str(csv_path), "--split", "filtered", "--out", str(out),
                 "--set", "n_estimators=30"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["split"]["name"] == "filtered" and report["n_test"] == 290
    assert report["split"]["dropped"] == ["jazz.00054"]
    assert report["config"]["n_estimators"] == 30
    assert sum(map(sum, report["confusion_matrix"])) == 290
    assert set(report["per_genre"]) == set(report["labels"]) and len(report["labels"]) == 10
    assert Image.open(out / "confusion.png").size[0] > 300
    printed = capsys.readouterr().out
    assert f"{report['accuracy']:.1%}" in printed and "290 test songs" in printed
    classifier = Classifier.load(out / "bundle", device="cpu")
    probs = classifier.classify_windows(real_clips["classical.00000"][None, :661500])
    assert probs.shape == (1, 10) and probs.sum() == pytest.approx(1.0, abs=1e-5)


def test_reproduce_table_and_resume(tmp_path, csv_path, capsys):
    args = ["reproduce", "--data", str(csv_path), "--methods", "knn", "--seeds", "2", "--out", str(tmp_path)]
    assert main(args) == 0
    table = (tmp_path / "table.md").read_text()
    assert "| knn | 004 |" in table and "64.5" in table and "200 / 290" in table
    first = tmp_path / "runs/knn/random-80-20-seed1/report.json"
    stamp = first.stat().st_mtime_ns
    rows = json.loads((tmp_path / "table.json").read_text())
    seed_accuracies = [json.loads((tmp_path / f"runs/knn/random-80-20-seed{s}/report.json").read_text())["accuracy"]
                       for s in (0, 1)]
    assert rows[0]["results"]["random-80-20"]["mean"] == pytest.approx(sum(seed_accuracies) / 2)
    # an interrupted reproduction: one run's report is gone; only that run is redone
    (tmp_path / "runs/knn/filtered-seed0/report.json").unlink()
    assert main(args) == 0
    assert first.stat().st_mtime_ns == stamp
    assert (tmp_path / "runs/knn/filtered-seed0/report.json").is_file()


def test_bootstrap_and_size_curve(tmp_path, csv_path):
    assert main(["bootstrap", "knn", "--data", str(csv_path), "--split", "random-80-20", "--n", "5",
                 "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "bootstrap.json").read_text())
    assert len(result["accuracies"]) == 5 and result["n_test"] == 200
    assert min(result["accuracies"]) <= result["stats"]["median"] <= max(result["accuracies"])
    assert main(["curve", "knn", "--data", str(csv_path), "--split", "random-80-20", "--seeds", "1",
                 "--out", str(tmp_path)]) == 0
    curve = json.loads((tmp_path / "size_curve.json").read_text())
    sizes = [p["n_train"] for p in curve["points"]]
    assert len(sizes) == 9 and sizes == sorted(sizes) and sizes[-1] == 720
    for name in ("bootstrap.png", "size_curve.png"):
        assert Image.open(tmp_path / name).size[0] > 300


def test_plot_draws_seed_001s_views_of_a_real_clip(tmp_path):
    clip = gtzan_dir() / "genres_original/jazz/jazz.00002.wav"
    assert main(["plot", str(clip), "--out", str(tmp_path), "--seconds", "10"]) == 0
    names = sorted(p.name for p in tmp_path.glob("*.png"))
    assert names == sorted(f"jazz.00002-{v}.png" for v in ("waveform", "spectrogram", "log-spectrogram", "rolloff", "chroma"))


def test_unknown_method_and_bad_override_are_clear(csv_path):
    with pytest.raises(SystemExit, match="unknown method"):
        main(["train", "no-such-method", "--data", str(csv_path), "--no-bundle"])
    with pytest.raises(SystemExit, match="key=value"):
        main(["train", "knn", "--data", str(csv_path), "--set", "oops"])


def test_synthetic_writes_a_dataset_the_trainer_opens(tmp_path):
    import soundfile as sf

    from trainer.data.audio_source import open_audio_source

    assert main(["synthetic", str(tmp_path / "set"), "--per-genre", "2", "--seconds", "1.5", "--rate", "16000"]) == 0
    files = sorted((tmp_path / "set").rglob("*.wav"))
    genres = {f.parent.name for f in files}
    assert len(genres) >= 4 and len(files) == 2 * len(genres)
    assert {(sf.info(f).samplerate, sf.info(f).frames) for f in files} == {(16000, 24000)}
    data = open_audio_source(tmp_path / "set")
    assert sorted(data.labels) == sorted(genres) and len(data.songs) == len(files)


def test_leak_study_on_the_real_clips_and_a_split_they_cannot_fill(tmp_path, capsys):
    clips = str(gtzan_dir() / "genres_original")
    with pytest.raises(SystemExit, match="keeps no test songs"):
        main(["leak", "mfcc-fc", "--data", clips, "--out", str(tmp_path)])  # default split: filtered
    assert main(["leak", "mfcc-fc", "--data", clips, "--split", "random-80-20", "--out", str(tmp_path),
                 "--set", "train.epochs=3"]) == 0
    [study] = json.loads((tmp_path / "leak.json").read_text())
    assert study["song_split"]["n_test_songs"] == 6  # 20% of the 30 readable clips, by song


def test_upgrade_bundle_brings_a_format_1_bundle_to_the_current_format(tmp_path, csv_path, capsys):
    from trainer.data.feature_table import load_csv
    from trainer.runtime import bundle
    from trainer.runtime.resources import SHIPPED_BUNDLES

    shipped = SHIPPED_BUNDLES["gtzan10-xgboost"]
    old = shutil.copytree(shipped, tmp_path / "old")
    meta = json.loads((old / "bundle.json").read_text())
    del meta["family"]
    meta.update(format_version=1, window={"length_s": 30.0, "hop_s": 30.0})  # what format 1 recorded
    (old / "bundle.json").write_text(json.dumps(meta))
    with pytest.raises(bundle.BundleError, match="re-export it with `genre-trainer upgrade-bundle PATH`"):
        bundle.load(old)
    assert main(["upgrade-bundle", str(old)]) == 0
    assert "model family tabular.xgboost" in capsys.readouterr().out
    assert json.loads((old / "bundle.json").read_text()) == json.loads((shipped / "bundle.json").read_text())
    rows = load_csv(csv_path).x[:20]
    np.testing.assert_array_equal(bundle.load(old).model.predict_proba(rows), bundle.load(shipped).model.predict_proba(rows))
    with pytest.raises(SystemExit, match="error: .*only format 1 is upgraded"):
        main(["upgrade-bundle", str(old)])
