"""``genre-tagger classify PATH...``: the headless main job, on real clips and broken files."""

import json
import shutil

import numpy as np
import pytest

from tagger.cli import main
from tagger.engine import Classifier, TrackFailure, TrackResult
from tests.support import gtzan_dir, tone, write_audio
from trainer.bundle import export
from trainer.data.feature_table import load_csv
from trainer.data.splits import song_id
from trainer.methods import create
from trainer.methods.base import Arrays
from trainer.runtime.audio import DEFAULT_MAX_WINDOWS, WindowSpec
from trainer.runtime.features import make
from trainer.runtime.resources import DEFAULT_BUNDLE, RESOURCES, SHIPPED_BUNDLES

XGBOOST = SHIPPED_BUNDLES["gtzan10-xgboost"]


@pytest.fixture(scope="module")
def held_out_model(tmp_path_factory):
    """XGBoost trained on every CSV row except the 30 clips in ../shared, so they are unseen."""
    table, _ = load_csv(gtzan_dir() / "features_30_sec.csv").usable()
    real = {p.stem for p in (gtzan_dir() / "genres_original").rglob("*.wav")}
    train = table.select([s for s in table.songs if s not in real])
    method = create("xgboost", table.labels, drop_columns=("length",))
    method.fit(Arrays(train.x, train.y(table.labels), train.songs), None)
    return export(tmp_path_factory.mktemp("model") / "b", method, make("gtzan-csv"),
                         metrics={}, training_data="CSV without the shared clips")


def test_unseen_classical_clips_come_out_classical(held_out_model, capsys):
    folder = gtzan_dir() / "genres_original" / "classical"
    code = main(["classify", str(folder), "--model", str(held_out_model), "--json", "--workers", "2"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["failures"] == []
    assert out["features"] == {"name": "gtzan-csv", "params": {"engine": "torch"}}  # the fast equivalent
    genres = [t["genre"] for t in out["tracks"]]
    assert len(genres) == 10
    assert genres.count("classical") >= 9, genres
    for track in out["tracks"]:
        assert track["windows"] == 1 and not track["padded"]
        assert [g["p"] for g in track["top"]] == sorted((g["p"] for g in track["top"]), reverse=True)


def test_broken_files_are_listed_and_the_run_goes_on(tmp_path, held_out_model, capsys):
    shutil.copy(gtzan_dir() / "genres_original/jazz/jazz.00054.wav", tmp_path / "jazz.00054.wav")
    (tmp_path / "empty.flac").write_bytes(b"")
    (tmp_path / "notes.mp3").write_text("not audio")
    write_audio(tmp_path / "short.ogg", tone(4.0, 44100), 44100)
    code = main(["classify", str(tmp_path), "--model", str(held_out_model), "--json", "--workers", "0"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1  # some files failed
    failed = {f["path"].rsplit("/", 1)[-1]: f["reason"] for f in out["failures"]}
    assert set(failed) == {"jazz.00054.wav", "empty.flac", "notes.mp3"}
    assert "empty" in failed["empty.flac"]
    [short] = out["tracks"]
    assert short["padded"] and short["windows"] == 1 and short["duration_s"] == pytest.approx(4.0, abs=0.05)
    assert short["audio_fraction"] == pytest.approx(4.0 / 30, abs=0.002) and not short["truncated"]
    assert short["caveat"] == "rests on padding: 13% of what was judged is real audio"


def test_half_a_second_is_not_presented_as_a_trustworthy_genre(tmp_path, held_out_model, capsys):
    path = write_audio(tmp_path / "blip.wav", tone(0.5, 22050), 22050)
    assert main(["classify", str(path), "--model", str(held_out_model), "--workers", "0"]) == 0
    [line] = capsys.readouterr().out.splitlines()
    assert line.startswith(f"{path}\t") and "(not to be trusted: rests on padding: 2% of what was judged is real audio)" in line


def test_workers_and_in_process_give_identical_results(held_out_model):
    clips = sorted((gtzan_dir() / "genres_original" / "rock").glob("rock.0000[0-2].wav"))
    classifier = Classifier.load(held_out_model, device="cpu")
    serial = list(classifier.classify_paths(clips, workers=0))
    parallel = list(classifier.classify_paths(clips, workers=2))
    assert [r.path for r in parallel] == clips  # input order
    for a, b in zip(serial, parallel):
        assert isinstance(a, TrackResult)
        np.testing.assert_allclose(a.probs, b.probs)
        assert a.probs.sum() == pytest.approx(1.0)


def test_a_long_track_is_classified_window_by_window(held_out_model, real_clips, tmp_path):
    # three different real clips back to back: 90 s, three windows, each judged on its own
    samples = np.concatenate([real_clips["classical.00001"][:661500], real_clips["rock.00001"][:661500],
                              real_clips["classical.00002"][:661500]])
    path = write_audio(tmp_path / "medley.flac", samples, 22050)
    classifier = Classifier.load(held_out_model, device="cpu")
    [result] = list(classifier.classify_paths([path], workers=0))
    assert result.n_windows == 3
    np.testing.assert_allclose(result.window_starts_s, [0, 30, 60])
    np.testing.assert_allclose(result.probs, result.window_probs.mean(axis=0))
    direct = classifier.classify_windows(samples[None, 661500:1323000])
    np.testing.assert_allclose(result.window_probs[1], direct[0], rtol=1e-5)


def test_tracks_batched_together_each_get_their_own_windows(held_out_model, real_clips, tmp_path):
    """Windows of several tracks share one model call; each track must get back exactly its own."""
    one = write_audio(tmp_path / "one.flac", real_clips["classical.00003"], 22050)
    broken = tmp_path / "broken.mp3"
    broken.write_text("not audio")
    two = write_audio(tmp_path / "two.wav", np.concatenate([real_clips["rock.00002"], real_clips["jazz.00005"]]), 22050)
    classifier = Classifier.load(held_out_model, device="cpu")
    together = list(classifier.classify_paths([one, broken, two], workers=0))
    assert [type(r) for r in together] == [TrackResult, TrackFailure, TrackResult]
    assert [r.n_windows for r in (together[0], together[2])] == [1, 2]
    for result in (together[0], together[2]):
        [alone] = list(classifier.classify_paths([result.path], workers=0))
        np.testing.assert_allclose(result.window_probs, alone.window_probs, rtol=1e-6)
    classifier.features_in_workers = False  # as on a GPU: raw windows come back, features are batched here
    batched = list(classifier.classify_paths([one, broken, two], workers=2))
    assert [type(r) for r in batched] == [TrackResult, TrackFailure, TrackResult]
    for a, b in zip(together[::2], batched[::2]):
        np.testing.assert_allclose(a.window_probs, b.window_probs, rtol=1e-6)


def test_exact_features_keep_the_engine_the_model_was_trained_with(held_out_model, tmp_path, capsys):
    path = write_audio(tmp_path / "clip.flac", tone(35.0, 22050), 22050)
    assert main(["classify", str(path), "--model", str(held_out_model), "--json", "--workers", "0",
                 "--exact-features"]) == 0
    assert json.loads(capsys.readouterr().out)["features"]["params"] == {"engine": "librosa"}


def test_a_missing_model_is_a_clear_error(tmp_path, capsys):
    assert main(["classify", str(tmp_path), "--model", str(tmp_path / "nope")]) == 2
    assert "model bundle not found" in capsys.readouterr().err


def test_the_shipped_xgboost_model_loads_and_is_documented():
    classifier = Classifier.load(XGBOOST, device="cpu")
    manifest = classifier.bundle.manifest
    assert classifier.labels == ["blues", "classical", "country", "disco", "hiphop",
                                 "jazz", "metal", "pop", "reggae", "rock"]
    assert "length" in manifest.config["drop_columns"]
    assert 0.4 < manifest.metrics["filtered_test"]["accuracy"] < 1.0
    usable = set(load_csv(gtzan_dir() / "features_30_sec.csv").usable()[0].songs)
    listed = (gtzan_dir() / "splits" / "test_filtered.txt").read_text().split()
    assert manifest.metrics["filtered_test"]["n_test"] == sum(song_id(e) in usable for e in listed)
    card = (XGBOOST / "MODEL_CARD.md").read_text()
    assert "filtered" in card and "10-fold" in card and "Limits" in card


def test_the_default_model_is_the_msd_genre_tagger_the_app_loads(tmp_path):
    """The README's measured choice: the file the app and ``classify`` load without ``--model``."""
    from tagger.settings import Settings

    assert DEFAULT_BUNDLE == RESOURCES / "musicnn-msd"
    want = json.loads((RESOURCES / "musicnn-msd" / "bundle.json").read_text())["id"]
    assert Classifier.load(device="cpu").bundle_id == want
    assert Settings(tmp_path / "settings.json").bundle_path == DEFAULT_BUNDLE


@pytest.mark.parametrize("tail, min_tail_s, starts", [("end", 3.0, [0.0, 10.0, 15.0]), ("end", 10.0, [0.0, 10.0]),
                                                      ("pad", 3.0, [0.0, 10.0, 20.0])])
def test_the_classifier_cuts_windows_by_the_bundles_full_specification(tmp_path, held_out_model, tail, min_tail_s,
                                                                       starts):
    folder = shutil.copytree(held_out_model, tmp_path / "b")
    meta = json.loads((folder / "bundle.json").read_text())
    meta["window"] = {"length_s": 10.0, "hop_s": 10.0, "tail": tail, "min_tail_s": min_tail_s, "max_windows": None}
    (folder / "bundle.json").write_text(json.dumps(meta))
    classifier = Classifier.load(folder, device="cpu")
    assert classifier.window == WindowSpec(10.0, 10.0, tail, min_tail_s, DEFAULT_MAX_WINDOWS)
    [result] = classifier.classify_paths([write_audio(tmp_path / "tone.flac", tone(25.0, 22050), 22050)], workers=0)
    assert result.window_starts_s.tolist() == starts
