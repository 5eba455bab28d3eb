"""Seed 004's augmentation: four time stretches and a 5-s shift."""

from __future__ import annotations

import numpy as np
import pytest

from trainer.data.augment import (
    ORIGINAL,
    STRETCH_RATES,
    Variant,
    seed_004_variants,
    shift,
    time_stretch,
)

SR = 22050


def _tone(seconds: float, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _peak_hz(x: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spectrum) * SR / len(x))


@pytest.mark.parametrize("rate", STRETCH_RATES)
def test_stretch_changes_length_by_the_rate_and_keeps_pitch(rate):
    y = _tone(1.0)
    out = time_stretch(y, rate)
    assert len(out) == round(len(y) / rate)
    assert out.dtype == np.float32
    assert _peak_hz(out) == pytest.approx(440.0, abs=3.0)


def test_shift_rotates_by_five_seconds():
    y = np.arange(7 * SR, dtype=np.float32)
    out = shift(y, SR, 5.0)
    assert len(out) == len(y)
    np.testing.assert_array_equal(out[5 * SR :], y[: 2 * SR])
    np.testing.assert_array_equal(out[: 5 * SR], y[2 * SR :])


def test_six_presentations_of_each_clip():
    variants = seed_004_variants()
    assert [v.name for v in variants] == ["original", "stretch-0.81", "stretch-0.93", "stretch-1.07",
                                          "stretch-1.23", "shift-5s"]
    y = _tone(6.0)
    lengths = [len(v.apply(y, SR)) for v in variants]
    assert lengths == [len(y), *(round(len(y) / r) for r in STRETCH_RATES), len(y)]
    np.testing.assert_array_equal(ORIGINAL.apply(y, SR), y)
    assert Variant("both", stretch=1.07, shift_s=5.0).apply(y, SR).shape == (round(len(y) / 1.07),)
