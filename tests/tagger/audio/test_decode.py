import numpy as np
import pytest
import soundfile as sf

from tagger.audio import UnreadableAudio, decode
from tests.support import FORMATS, gtzan_dir, tone, write_audio


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_decodes_to_mono_at_the_requested_rate(tmp_path, fmt):
    path = write_audio(tmp_path / f"clip.{fmt}", tone(2.0, 44100, freq=440.0, channels=2), 44100)
    audio = decode(path, 22050)
    assert audio.sample_rate == 22050
    assert audio.samples.ndim == 1 and audio.samples.dtype == np.float32
    assert audio.channels == 2
    # lossy encoders add at most a few dozen milliseconds of priming or padding
    assert audio.duration_s == pytest.approx(2.0, abs=0.06)
    # the tone survives: the strongest frequency is still 440 Hz
    spectrum = np.abs(np.fft.rfft(audio.samples))
    assert np.fft.rfftfreq(len(audio.samples), 1 / 22050)[spectrum.argmax()] == pytest.approx(440, abs=2)


def test_stereo_is_averaged_to_mono_and_lossless_samples_survive(tmp_path):
    left = tone(1.0, 22050, freq=300.0)[:, 0]
    right = np.zeros_like(left)
    path = tmp_path / "stereo.flac"
    sf.write(path, np.stack([left, right], axis=1), 22050, subtype="PCM_24")
    audio = decode(path, 22050)
    np.testing.assert_allclose(audio.samples, left / 2, atol=1e-6)


def test_resampling_keeps_duration_and_pitch(tmp_path):
    path = write_audio(tmp_path / "a.wav", tone(3.0, 48000, freq=1000.0), 48000)
    audio = decode(path, 16000)
    assert len(audio.samples) == 48000
    spectrum = np.abs(np.fft.rfft(audio.samples))
    assert np.fft.rfftfreq(len(audio.samples), 1 / 16000)[spectrum.argmax()] == pytest.approx(1000, abs=1)


@pytest.mark.parametrize("content, reason", [
    (b"", "empty"),
    (b"this is a text file, not music\n" * 50, "a text file, not audio"),
])
def test_bad_files_raise_with_a_reason(tmp_path, content, reason):
    path = tmp_path / "bad.mp3"
    path.write_bytes(content)
    with pytest.raises(UnreadableAudio, match=reason):
        decode(path, 22050)


def test_truncated_file_is_reported(tmp_path):
    good = write_audio(tmp_path / "good.flac", tone(2.0), 44100)
    broken = tmp_path / "broken.flac"
    broken.write_bytes(good.read_bytes()[:60])
    with pytest.raises(UnreadableAudio):
        decode(broken, 22050)


def test_missing_file_is_reported(tmp_path):
    with pytest.raises(UnreadableAudio, match="not found"):
        decode(tmp_path / "nothing.wav", 22050)


def test_the_known_corrupt_gtzan_clip_is_unreadable():
    with pytest.raises(UnreadableAudio) as info:
        decode(gtzan_dir() / "genres_original/jazz/jazz.00054.wav", 22050)
    assert "not a readable audio file" in info.value.reason


def test_real_gtzan_clip_decodes_at_native_rate():
    audio = decode(gtzan_dir() / "genres_original/rock/rock.00000.wav", 22050)
    assert audio.source_rate == 22050 and audio.channels == 1
    assert 29.9 < audio.duration_s < 30.7
