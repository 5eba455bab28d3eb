"""The front end alone (numpy on the CPU, torch elsewhere), against the mel fed to the original
graph (librosa, float32 log) and against librosa for audio shorter than a patch and for windows
the tagger zero-pads."""

from __future__ import annotations

import numpy as np

from tests.trainer.musicnn.conftest import clip_path
from trainer.runtime.features.musicnn import (
    PATCH_FRAMES,
    MusicnnMel,
    _log_mel_torch,
    audio_length,
    log_mel,
    mel_filters,
)

# Measured on rock.00000: the largest difference from librosa's float32 mel is 3.9e-6 (log10
# units, values up to about 4); torch's and numpy's FFTs round differently.
MEL_ATOL = 2e-5
CLIP = "genres_original/rock.00000"


def librosa_log_mel(samples: np.ndarray) -> np.ndarray:
    import librosa

    mel = librosa.feature.melspectrogram(y=samples, sr=16000, n_fft=512, hop_length=256, n_mels=96)
    return np.log10(np.float32(10000) * mel.T.astype(np.float32) + np.float32(1))


def test_the_filterbank_is_librosas():
    import librosa

    np.testing.assert_allclose(mel_filters(), librosa.filters.mel(sr=16000, n_fft=512, n_mels=96), rtol=1e-5, atol=1e-9)


def test_the_numpy_and_torch_engines_give_one_mel(decoded):
    samples = decoded[CLIP][None, : 10 * 16000]
    numpy_mel, torch_mel = log_mel(samples), _log_mel_torch(samples, "cpu")
    assert numpy_mel.shape == torch_mel.shape == (1, 1 + 10 * 16000 // 256, 96)
    assert np.abs(numpy_mel - torch_mel).max() < MEL_ATOL


def test_mel_matches_the_reference_mel(decoded, references):
    samples = decoded[CLIP][: audio_length(decoded[CLIP])]
    mel = log_mel(samples[None])[0]
    head, tail = references[f"mel/{CLIP}/head"], references[f"mel/{CLIP}/tail"]
    assert mel.shape[0] == 1 + len(samples) // 256
    assert np.abs(mel[:PATCH_FRAMES] - head).max() < MEL_ATOL
    assert np.abs(mel[-len(tail):] - tail).max() < MEL_ATOL
    assert head.max() > 2.0   # real music, not a silent stretch


def test_thirty_second_window_gives_ten_patches(decoded):
    window = decoded[CLIP][: 30 * 16000]
    patches = MusicnnMel()(window[None])
    expected = librosa_log_mel(window)[: 10 * PATCH_FRAMES].reshape(10, PATCH_FRAMES, 96)
    assert patches.shape == (1, 10, PATCH_FRAMES, 96)
    assert np.abs(patches[0] - expected).max() < MEL_ATOL


def test_short_audio_is_repeat_padded(decoded):
    short = decoded["excerpts/blues.00001"][:20000]             # 1.25 s: 79 frames
    patches = MusicnnMel()(short[None])
    mel = librosa_log_mel(short)
    assert len(mel) == 79
    expected = np.concatenate([mel, mel, mel])[:PATCH_FRAMES]
    assert patches.shape == (1, 1, PATCH_FRAMES, 96)
    assert np.abs(patches[0, 0] - expected).max() < MEL_ATOL


def test_a_zero_padded_window_is_judged_on_its_audio(decoded, taggers):
    """The tagger pads a short track with zeros to a 30-s window; the patches, and the tags, are
    those of the track alone, and the patches it does not reach are NaN."""
    excerpt = decoded["excerpts/rock.00001"]
    window = np.zeros(30 * 16000, dtype=np.float32)
    window[: len(excerpt)] = excerpt
    pipeline = MusicnnMel()
    padded, alone = pipeline(window[None]), pipeline(excerpt[None])
    assert padded.shape == (1, 10, PATCH_FRAMES, 96)
    np.testing.assert_array_equal(padded[0, 0], alone[0, 0])
    assert np.isnan(padded[0, 1:]).all()
    method = taggers["msd"].model
    np.testing.assert_allclose(method.predict_proba(padded), method.predict_proba(alone), atol=1e-6)
    assert clip_path("excerpts/rock.00001").is_file()


def test_a_patch_subset_keeps_patches_spread_over_the_window(decoded):
    window = decoded[CLIP][None, : 30 * 16000]
    every, three = MusicnnMel()(window), MusicnnMel(patches=3)(window)
    assert three.shape == (1, 3, PATCH_FRAMES, 96)
    # only the chosen patches' frames are computed: the same values, up to float32 rounding
    np.testing.assert_allclose(three[0], every[0, [0, 4, 9]], rtol=1e-6, atol=1e-6)
