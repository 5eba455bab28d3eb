import numpy as np
import pytest

from trainer.runtime.audio import WindowSpec, cut_windows, plan_windows
from trainer.runtime.audio.windows import is_silent

SR = 100  # a small rate keeps the arithmetic readable: 1 s = 100 samples


def ramp(seconds: float) -> np.ndarray:
    return np.arange(int(seconds * SR), dtype=np.float32)


def test_full_windows_with_hop_and_an_end_aligned_tail():
    x = ramp(95)
    w = cut_windows(x, SR, WindowSpec(length_s=30, hop_s=30, tail="end", min_tail_s=4))
    # 0-30, 30-60, 60-90, then 65-95 ends exactly at the track's end
    np.testing.assert_array_equal(w.starts_s, [0, 30, 60, 65])
    assert w.frames.shape == (4, 3000)
    np.testing.assert_array_equal(w.frames[3], x[6500:9500])
    assert not w.padded


def test_a_short_tail_is_dropped_below_min_tail():
    w = cut_windows(ramp(95), SR, WindowSpec(length_s=30, hop_s=30, tail="end", min_tail_s=10))
    np.testing.assert_array_equal(w.starts_s, [0, 30, 60])


def test_pad_rule_zero_pads_the_tail_and_says_so():
    x = ramp(95)
    w = cut_windows(x, SR, WindowSpec(length_s=30, hop_s=30, tail="pad"))
    assert len(w) == 4 and w.padded
    np.testing.assert_array_equal(w.frames[3, :500], x[9000:])
    assert not w.frames[3, 500:].any()


def test_overlapping_hop_counts_windows():
    w = cut_windows(ramp(60), SR, WindowSpec(length_s=30, hop_s=15, tail="drop"))
    np.testing.assert_array_equal(w.starts_s, [0, 15, 30])


def test_a_track_shorter_than_one_window_is_padded():
    x = ramp(12)
    w = cut_windows(x, SR, WindowSpec(length_s=30, hop_s=30))
    assert len(w) == 1 and w.padded
    np.testing.assert_array_equal(w.frames[0, :1200], x)
    assert not w.frames[0, 1200:].any()


def test_max_windows_spreads_over_the_track():
    w = cut_windows(ramp(300), SR, WindowSpec(length_s=30, hop_s=30, max_windows=3))
    np.testing.assert_array_equal(w.starts_s, [0, 120, 270])


def test_bad_specs_are_refused():
    with pytest.raises(ValueError):
        WindowSpec(hop_s=0)
    with pytest.raises(ValueError):
        WindowSpec(tail="wrap")


def test_the_plan_names_each_windows_samples_and_the_share_of_real_audio():
    spec = WindowSpec(length_s=30, hop_s=30, tail="pad")
    assert plan_windows(95 * SR, SR, spec) == [(0, 3000), (3000, 6000), (6000, 9000), (9000, 9500)]
    w = cut_windows(ramp(95), SR, spec)
    assert w.audio_fraction == pytest.approx(9500 / 12000)
    short = cut_windows(ramp(12), SR, WindowSpec(length_s=30, hop_s=30))
    assert short.audio_fraction == pytest.approx(12 / 30)
    assert cut_windows(ramp(60), SR, WindowSpec(length_s=30, hop_s=30)).audio_fraction == 1.0


def test_a_silent_window_gives_way_to_the_nearest_with_sound_between_its_neighbours():
    x = ramp(300)
    x[:6000] = 0  # a minute of silence before the music
    spec = WindowSpec(length_s=30, hop_s=30, max_windows=3)  # of the 10 windows, those at 0, 120 and 270 s
    np.testing.assert_array_equal(cut_windows(x, SR, spec).starts_s, [60, 120, 270])
    x[:12000] = 0  # two minutes of silence: no window before the one at 120 s has sound
    np.testing.assert_array_equal(cut_windows(x, SR, spec).starts_s, [120, 270])
    # every window, silent or not, when not capped (the trainer's way)
    assert len(cut_windows(x, SR, WindowSpec(length_s=30, hop_s=30))) == 10


def test_silence_throughout_is_judged_on_one_window():
    w = cut_windows(np.zeros(300 * SR, dtype=np.float32), SR, WindowSpec(length_s=30, hop_s=30, max_windows=3))
    np.testing.assert_array_equal(w.starts_s, [0])


def test_is_silent_is_minus_60_dbfs():
    t = np.arange(SR * 10) / SR
    assert is_silent(np.zeros(5)) and is_silent(np.zeros(0))
    assert is_silent(0.0013 * np.sin(2 * np.pi * 5 * t))  # RMS 0.00092
    assert not is_silent(0.0015 * np.sin(2 * np.pi * 5 * t))  # RMS 0.00106


def test_a_window_choice_changes_only_what_was_chosen_of_a_models_rule():
    from trainer.runtime.audio import WindowChoice

    own = WindowSpec(length_s=3.0, hop_s=3.0, tail="pad", min_tail_s=1.0)
    assert WindowChoice().applied_to(own) == own
    assert WindowChoice(hop_s=1.5).applied_to(own) == WindowSpec(3.0, 1.5, "pad", 1.0)
    assert WindowChoice(length_s=10.0).applied_to(own) == WindowSpec(10.0, 10.0, "pad", 1.0)  # hop follows length
    assert WindowChoice(length_s=10.0, hop_s=5.0, max_windows=4).applied_to(own) == WindowSpec(10.0, 5.0, "pad", 1.0, 4)
