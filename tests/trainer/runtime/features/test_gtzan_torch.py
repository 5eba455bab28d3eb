"""The torch engine of the GTZAN CSV features reproduces the librosa reference and the CSV rows.

Against the librosa reference (same clips, same library defaults) the bounds are set just above
the largest error measured on the 30 real clips (quoted in the comments); the error is float32
rounding on a different summation order. Against the CSV the bounds are the CSV test's own. Run
with ``-s`` to see the measured maxima.
"""

from collections import defaultdict

import numpy as np
import pytest
import scipy.ndimage
import torch

from tests.support import gtzan_dir
from tests.trainer.runtime.features.test_gtzan_csv import TOLERANCES as CSV_TOLERANCES
from trainer.data.feature_table import load_csv
from trainer.runtime.audio import UnreadableAudio, decode
from trainer.runtime.features import make
from trainer.runtime.features.gtzan_csv import COLUMNS, librosa_features
from trainer.runtime.features.gtzan_torch import median_filter, torch_features

SPECTRAL = ("chroma_stft", "rms", "spectral_centroid", "spectral_bandwidth", "rolloff")

# (columns, kind, bound) against librosa: "rel" = |torch - librosa| / |librosa|;
# "spread" = |torch - librosa| / std of the column over the 1000 CSV rows (values near zero).
REFERENCE_TOLERANCES = [
    (("length", "zero_crossing_rate_mean", "zero_crossing_rate_var"), "rel", 1e-9),  # 7.4e-15
    (tuple(f"{s}_mean" for s in SPECTRAL), "rel", 3e-5),  # 7.3e-6 (rolloff)
    (tuple(f"{s}_var" for s in SPECTRAL), "rel", 3e-4),  # 6.3e-5 (rolloff)
    (("harmony_var", "perceptr_var"), "rel", 2e-6),  # 1.9e-7
    (("harmony_mean", "perceptr_mean"), "spread", 1e-6),  # 5.0e-8
    (tuple(f"mfcc{i}_mean" for i in range(1, 21)), "spread", 1e-4),  # 2.7e-5 (mfcc14)
    (tuple(f"mfcc{i}_var" for i in range(1, 21)), "rel", 2e-5),  # 3.0e-6
    (("tempo",), "rel", 1e-9),  # 0: the same autocorrelation lag on every clip
]


@pytest.fixture(scope="module")
def table():
    return load_csv(gtzan_dir() / "features_30_sec.csv")


@pytest.fixture(scope="module")
def torch_rows(real_clips) -> dict[str, np.ndarray]:
    """Torch features of every real clip, clips of equal length batched together."""
    by_length: dict[int, list[str]] = defaultdict(list)
    for song, samples in real_clips.items():
        by_length[len(samples)].append(song)
    rows = {}
    for songs in by_length.values():
        batch = np.stack([real_clips[s] for s in songs])
        rows.update(zip(songs, torch_features(batch, 22050, device="cpu")))
    return rows


def _errors(
    ours: np.ndarray, theirs: np.ndarray, spread: np.ndarray, tolerances
) -> list[tuple[str, float, float]]:
    """(worst column of the group and the error kind, worst error, bound) per group."""
    report = []
    for columns, kind, bound in tolerances:
        idx = [COLUMNS.index(c) for c in columns]
        err = np.abs(ours[:, idx] - theirs[:, idx])
        err = err / np.abs(theirs[:, idx]) if kind == "rel" else err / spread[idx]
        worst = np.unravel_index(err.argmax(), err.shape)
        report.append((f"{columns[worst[1]]} ({kind})", float(err.max()), bound))
    return report


def _check(report: list[tuple[str, float, float]], against: str) -> None:
    print(f"\ntorch vs {against}: worst error per column group")
    for name, err, bound in report:
        print(f"  {name:32s} {err:9.2e}  (bound {bound:g})")
    failed = [f"{name}: {err:.3g} > {bound:g}" for name, err, bound in report if err > bound]
    assert not failed, failed


def test_the_corrupt_clip_is_reported_not_decoded():
    with pytest.raises(UnreadableAudio):
        decode(gtzan_dir() / "genres_original" / "jazz" / "jazz.00054.wav", 22050)


def test_reference_tolerances_cover_every_column_once():
    named = [c for cols, _, _ in REFERENCE_TOLERANCES for c in cols]
    assert sorted(named) == sorted(COLUMNS)


def test_torch_matches_the_librosa_reference(torch_rows, librosa_rows, table):
    songs = sorted(librosa_rows)
    ours = np.stack([torch_rows[s] for s in songs])
    reference = np.stack([librosa_rows[s] for s in songs])
    _check(_errors(ours, reference, table.x.std(axis=0), REFERENCE_TOLERANCES), "librosa (30 clips)")


def test_torch_matches_the_csv_rows_as_closely_as_librosa_does(torch_rows, table):
    songs = sorted(torch_rows)
    ours = np.stack([torch_rows[s] for s in songs])
    _check(_errors(ours, table.select(songs).x, table.x.std(axis=0), CSV_TOLERANCES), "features_30_sec.csv")
    i = COLUMNS.index("tempo")
    exact = np.isclose(ours[:, i], table.select(songs).x[:, i], rtol=1e-6)
    # the same single octave-ambiguous clip as the librosa engine; every other tempo is exact
    assert exact.sum() >= len(songs) - 1, dict(zip(np.asarray(songs)[~exact], ours[~exact, i]))


@pytest.mark.filterwarnings("ignore:Trying to estimate tuning from empty frequency set")
def test_a_padded_window_and_silence_match_the_reference(real_clips, table):
    """The tagger zero-pads short tracks: long runs of digital silence must not break any step.

    Silence makes every mel band -100 dB, whose DCT is zero but for float32 rounding of the DCT
    matrix (1e-4 against a spread of 5 or more): hence the absolute floor, a share of each
    column's spread over the CSV.
    """
    padded = np.zeros(30 * 22050, dtype=np.float32)
    padded[: 8 * 22050] = real_clips["rock.00004"][: 8 * 22050]
    silence = np.zeros(5 * 22050, dtype=np.float32)
    floor = 1e-4 * table.x.std(axis=0)
    for window in (padded, silence):
        ours = torch_features(window[None], 22050, device="cpu")[0]
        reference = librosa_features(window)
        assert np.all(np.isfinite(ours))
        np.testing.assert_array_less(np.abs(ours - reference), 5e-4 * np.abs(reference) + floor)


def test_batches_give_the_rows_of_one_window_at_a_time(real_clips):
    songs = ["classical.00001", "jazz.00002", "rock.00003", "rock.00007", "jazz.00008"]
    length = min(len(real_clips[s]) for s in songs)
    windows = np.stack([real_clips[s][:length] for s in songs])
    batched = torch_features(windows, 22050, device="cpu", chunk=3)  # chunks of 3 and 2
    one_by_one = np.stack([torch_features(w[None], 22050, device="cpu")[0] for w in windows])
    np.testing.assert_allclose(batched, one_by_one, rtol=1e-6, atol=1e-9)


def test_the_registry_builds_the_torch_engine(real_clips, torch_rows):
    pipeline = make("gtzan-csv", engine="torch", device="cpu")
    assert pipeline.params == {"engine": "torch"} and pipeline.sample_rate == 22050
    row = pipeline(real_clips["jazz.00005"][None])
    assert row.shape == (1, 58) and row.dtype == np.float64
    np.testing.assert_allclose(row[0], torch_rows["jazz.00005"], rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("shape", [(2, 70, 90), (1, 40, 7), (3, 5, 200)])
@pytest.mark.parametrize("dim", [1, 2])
def test_median_filter_equals_scipy_reflect_mode(shape, dim):
    """Exact, ties and axes shorter than the kernel included (scipy mirrors the axis repeatedly)."""
    rng = np.random.default_rng(sum(shape) + dim)
    x = (np.round(rng.random(shape) * 20) / 20).astype(np.float32)
    size = [1, 1, 1]
    size[dim] = 31
    expected = scipy.ndimage.median_filter(x, size=size, mode="reflect")
    got = median_filter(torch.from_numpy(x), 31, dim, block=1 << 12)  # several passes
    np.testing.assert_array_equal(got.numpy(), expected)


def test_the_default_model_predicts_the_same_genres_from_either_engine(torch_rows, librosa_rows):
    """The tagger swaps the xgboost model's librosa features for the torch engine: the predictions
    on the real clips must agree on at least 97% of windows (one 30-s window per clip)."""
    from tagger.engine import Classifier
    from trainer.runtime.resources import SHIPPED_BUNDLES

    exact = Classifier.load(SHIPPED_BUNDLES["gtzan10-xgboost"], device="cpu", exact_features=True)
    fast = Classifier.load(SHIPPED_BUNDLES["gtzan10-xgboost"], device="cpu")
    assert exact.features == {"name": "gtzan-csv", "params": {"engine": "librosa"}}  # as trained
    assert fast.features == {"name": "gtzan-csv", "params": {"engine": "torch"}}  # as the tagger runs it
    songs = sorted(librosa_rows)
    model = exact.bundle.model
    from_librosa = model.predict_proba(np.stack([librosa_rows[s] for s in songs]))
    from_torch = model.predict_proba(np.stack([torch_rows[s] for s in songs]))
    agreement = np.mean(from_librosa.argmax(axis=1) == from_torch.argmax(axis=1))
    print(f"\ndefault model: {agreement:.1%} of {len(songs)} windows agree; "
          f"largest probability difference {np.abs(from_librosa - from_torch).max():.2e}")
    assert agreement >= 0.97
    np.testing.assert_allclose(from_torch, from_librosa, atol=0.02)


def test_features_leave_torchs_process_settings_alone(monkeypatch):
    """Thread count and precision are the entry points' (``configure_process``), never a feature call's."""
    def refuse(*args):
        raise AssertionError("a feature call changed torch's process-wide settings")

    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)  # where the old engine switched to one thread
    monkeypatch.setattr(torch, "set_num_threads", refuse)
    monkeypatch.setattr(torch, "set_float32_matmul_precision", refuse)
    windows = np.random.default_rng(0).normal(0, 0.1, (3, 22050 * 2)).astype(np.float32)
    assert torch_features(windows, 22050, device="cpu", chunk=1).shape == (3, 58)
