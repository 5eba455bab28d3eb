"""Spectral pipelines and spectrogram images: shapes, parameters, and the real Kaggle PNGs."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tests.support import gtzan_dir
from trainer.runtime.audio import decode
from trainer.runtime.features import available, make
from trainer.runtime.features.spectral import PLOT_BOX, load_png_image

SR = 22050
PIPELINES = ("waveform", "logmel", "mfcc", "cqt", "chroma", "fft", "mfcc-segments", "mfcc-chroma-periods",
             "spectrogram-image", "mel-image-128")


@pytest.fixture(scope="module")
def windows() -> np.ndarray:
    """Two 3-s windows: a chord with a beat, and noise."""
    rng = np.random.default_rng(0)
    t = np.arange(3 * SR) / SR
    chord = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6)) * (0.5 + 0.5 * (t * 2 % 1 < 0.1))
    return np.stack([0.2 * chord, 0.1 * rng.standard_normal(len(t))]).astype(np.float32)


@pytest.fixture(scope="module")
def jazz_clip() -> np.ndarray:
    return decode(gtzan_dir() / "genres_original" / "jazz" / "jazz.00000.wav", SR).samples


@pytest.mark.parametrize("name", PIPELINES)
def test_registered_and_rebuilt_from_params(name):
    assert name in available()
    pipeline = make(name)
    assert make(name, **pipeline.params).params == pipeline.params
    assert pipeline.sample_rate == SR


def test_seed_003_framing_10ms_hop_25ms_window(windows):
    logmel = make("logmel")
    assert (logmel.hop_length, logmel.win_length, logmel.n_fft) == (220, 551, 1024)
    assert logmel.frames(30 * SR) == 3007
    frames = 1 + 3 * SR // 220                    # centred frames: 301 for 3 s
    assert logmel(windows).shape == (2, 80, frames)
    assert make("mfcc")(windows).shape == (2, 60, frames)
    assert make("cqt")(windows).shape == (2, 84, frames)
    assert make("chroma")(windows).shape == (2, 12, frames)
    assert make("fft")(windows).shape == (2, 2049)
    assert make("logmel", sample_rate=16000, n_mels=40)(windows[:, :16000]).shape == (2, 40, 101)


def test_seed_002_segment_features(windows):
    assert make("mfcc-segments")(windows).shape == (2, 6, 20)          # six half-second segments in 3 s
    assert make("mfcc-segments")(np.zeros((1, 30 * SR), np.float32)).shape == (1, 60, 20)
    assert make("mfcc-chroma-periods")(windows).shape == (2, 12, 32)   # 20 MFCC + 12 chroma per period


def test_features_say_what_they_should(windows):
    chroma = make("chroma")(windows[:1]).mean(axis=2)[0]
    assert set(np.argsort(chroma)[-3:]) == {9, 1, 4}                     # A, C#, E: the A major chord
    spectrum = make("fft", n_bins=1025)(windows[:1])[0]
    peak_hz = np.argmax(spectrum) * SR / 2048
    assert min(abs(peak_hz - f) for f in (220.0, 277.2, 329.6)) < SR / 2048    # within a bin of a chord note


@pytest.mark.parametrize("name", PIPELINES)
def test_a_window_does_not_depend_on_its_batch(windows, name):
    pipeline = make(name)
    alone = pipeline(windows[:1])
    together = pipeline(np.stack([windows[0], 50 * windows[1]]))
    np.testing.assert_allclose(together[:1], alone, rtol=1e-5, atol=1e-4)
    assert np.all(np.isfinite(alone))


def test_image_layout(windows):
    full = make("spectrogram-image")(windows)
    assert full.shape == (2, 288, 432, 3) and full.dtype == np.uint8
    top, left, height, width = PLOT_BOX
    assert (full[:, :top] == 255).all() and (full[:, :, left + width :] == 255).all()
    cropped = make("spectrogram-image", crop=True)(windows)
    np.testing.assert_array_equal(cropped, full[:, top : top + height, left : left + width])
    square = make("mel-image-128")(windows)
    assert square.shape == (2, 128, 128, 3) and square.dtype == np.uint8
    silent = make("mel-image-128")(np.zeros((1, SR), np.float32))
    assert (silent == silent[0, 0, 0]).all() and silent.max() < 10   # silence is the darkest colour


def test_rendered_image_matches_the_real_kaggle_png(jazz_clip):
    path = gtzan_dir() / "images_original" / "jazz" / "jazz00000.png"
    with Image.open(path) as png:
        assert png.size == (432, 288)
    real = load_png_image(path)
    ours = make("spectrogram-image")(jazz_clip[None])[0]
    assert ours.shape == real.shape and ours.dtype == real.dtype
    difference = np.abs(ours.astype(int) - real.astype(int))
    assert difference.mean() < 5                  # same layout, colours and geometry (measured: 2.5)
    top, left, height, width = PLOT_BOX
    assert difference[top : top + height, left : left + width].mean() < 10   # measured: 4.3
    real_crop = load_png_image(path, crop=True)
    assert real_crop.shape == (218, 336, 3)
    assert make("spectrogram-image", crop=True)(jazz_clip[None])[0].shape == real_crop.shape


def test_cropping_needs_the_kaggle_size(tmp_path):
    Image.new("RGB", (100, 80), "white").save(tmp_path / "small.png")
    assert load_png_image(tmp_path / "small.png").shape == (80, 100, 3)
    with pytest.raises(ValueError, match="432x288"):
        load_png_image(tmp_path / "small.png", crop=True)
