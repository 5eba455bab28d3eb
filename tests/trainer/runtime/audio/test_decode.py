import os
import re
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from tests.support import FORMATS, REPO_ROOT, gtzan_dir, tone, write_audio
from trainer.runtime.audio import (
    UnreadableAudio,
    WindowSpec,
    cut_windows,
    decode,
    decode_windows,
)
from trainer.runtime.audio.decode import _ffmpeg, _seek_windows
from trainer.runtime.audio.sniff import misnamed, sniff


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


LIBRARY_TEXTS = ("never happen", "report an issue", "/__w/", "codec can't", "SingleStreamDecoder", "Error :",
                 "sync to MPEG")


def _says(path, reason: str) -> None:
    with pytest.raises(UnreadableAudio) as info:
        decode_windows(path, 22050)
    assert re.fullmatch(reason, info.value.reason), info.value.reason
    assert not any(text in info.value.reason for text in LIBRARY_TEXTS)


def test_files_that_fail_say_what_they_really_are(tmp_path):
    png = tmp_path / "cover.ogg"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    _says(png, "a PNG image, not audio")
    text = tmp_path / "notes.mp3"
    text.write_text("track list\n" * 40)
    _says(text, "a text file, not audio")
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    _says(empty, re.escape("empty file (0 bytes)"))
    noise = tmp_path / "noise.flac"
    noise.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    _says(noise, re.escape("not a readable audio file (no known audio header: raw or damaged data)"))
    good = write_audio(tmp_path / "good.m4a", tone(4.0), 44100).read_bytes()
    cut = tmp_path / "cut.m4a"
    cut.write_bytes(good[: len(good) // 2])
    _says(cut, rf"truncated: {len(good) // 2:,} of \d\d,\d\d\d bytes")  # the boxes met so far run past the end


def test_flac_named_mp3_decodes_as_flac_and_the_tag_layer_hears_why(tmp_path):
    flac = write_audio(tmp_path / "real.flac", tone(2.0), 44100)
    renamed = tmp_path / "renamed.mp3"
    renamed.write_bytes(flac.read_bytes())
    np.testing.assert_array_equal(decode(renamed, 22050).samples, decode(flac, 22050).samples)
    assert misnamed(renamed, sniff(renamed)) == "FLAC audio with an .mp3 extension"
    assert misnamed(flac, sniff(flac)) is None


@pytest.mark.parametrize("fmt", ["wav", "aiff"])
def test_a_truncated_file_gives_what_decodes_and_says_it_is_truncated(tmp_path, fmt):
    good = write_audio(tmp_path / f"good.{fmt}", tone(10.0, 22050), 22050)
    cut = tmp_path / f"cut.{fmt}"
    data = good.read_bytes()
    cut.write_bytes(data[: len(data) * 45 // 100])
    whole = decode(good, 22050)
    audio = decode(cut, 22050)
    assert audio.truncated and not whole.truncated
    assert audio.duration_s == pytest.approx(4.5, abs=0.01)  # not the 10 s the header claims
    np.testing.assert_array_equal(audio.samples, whole.samples[: len(audio.samples)])
    windows = decode_windows(cut, 22050)
    assert windows.truncated and windows.windows.padded
    assert windows.windows.audio_fraction == pytest.approx(4.5 / 30, abs=0.001)


def test_a_fifo_is_refused_without_being_opened(tmp_path):
    fifo = tmp_path / "pipe.flac"
    os.mkfifo(fifo)
    _says(fifo, re.escape("not a regular file (a FIFO)"))  # opening it would block until a writer came


def test_links_that_lead_nowhere_are_named(tmp_path):
    (tmp_path / "gone.wav").symlink_to(tmp_path / "nothing.wav")
    _says(tmp_path / "gone.wav", re.escape(f"broken symbolic link (its target {str(tmp_path / 'nothing.wav')!r} does not exist)"))
    (tmp_path / "a.wav").symlink_to(tmp_path / "b.wav")
    (tmp_path / "b.wav").symlink_to(tmp_path / "a.wav")
    _says(tmp_path / "a.wav", "symbolic link loop")


def _tones_after_silence(seconds: float, rate: int, silent_s: float) -> np.ndarray:
    """Two tones, one per channel, after ``silent_s`` of digital silence."""
    x = tone(seconds, rate, channels=2)
    x[:, 1] = tone(seconds, rate, freq=523.0)[:, 0]
    x[: int(silent_s * rate)] = 0
    return x


@pytest.mark.parametrize("fmt", FORMATS)
def test_windows_read_by_seeking_equal_a_whole_decode_in_every_format(tmp_path, fmt):
    path = write_audio(tmp_path / f"track.{fmt}", _tones_after_silence(20.0, 44100, silent_s=7.0), 44100)
    # libsndfile's formats seek; FFmpeg's AAC differs after a seek, so it is decoded from the start
    assert (_seek_windows(path, 22050, WindowSpec(), sniff(path)) is None) == (fmt == "m4a")
    specs = (WindowSpec(), WindowSpec(length_s=3, hop_s=3), WindowSpec(length_s=3, hop_s=3, max_windows=3),
             WindowSpec(length_s=4, hop_s=1.7, tail="pad", min_tail_s=0.5))
    for rate in (44100, 22050, 16000):
        whole = decode(path, rate).samples
        for spec in specs:
            read = decode_windows(path, rate, spec)
            cut = cut_windows(whole, rate, spec)
            np.testing.assert_array_equal(read.windows.starts_s, cut.starts_s)
            assert read.duration_s == len(whole) / rate and not read.truncated
            if read.source_rate == rate:  # no resampling: the very same samples
                np.testing.assert_array_equal(read.windows.frames, cut.frames)
            else:  # resampled range by range: equal to float rounding
                np.testing.assert_allclose(read.windows.frames, cut.frames, rtol=0, atol=1e-6)
        # 3 of the 6 windows, those at 0, 6 and 15 s: the one at 0 and the only other before 6 s
        # (3 s) are silent, so it is left out
        np.testing.assert_array_equal(decode_windows(path, rate, specs[2]).windows.starts_s, [6.0, 15.0])


_MEASURE = """
import resource, sys
from trainer.runtime.audio import WindowSpec, decode_windows
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
decoded = decode_windows(sys.argv[1], 22050, WindowSpec(max_windows=20))
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(len(decoded.windows), round(decoded.duration_s), (after - before) // 1024)
"""


def test_decoding_a_long_track_holds_only_its_windows(tmp_path):
    """One hour at 8 kHz resamples to 318 MB of samples at 22,050 Hz; the windows kept are 20 x 30 s."""
    rate, seconds = 8000, 3600
    path = tmp_path / "hour.wav"
    with sf.SoundFile(path, "w", rate, 1, subtype="PCM_16") as out:
        block = tone(60.0, rate)
        for _ in range(seconds // 60):
            out.write(block)
    done = subprocess.run([sys.executable, "-c", _MEASURE, str(path)], capture_output=True, text=True, check=True,
                          cwd=REPO_ROOT)
    windows, duration, grown_mb = map(int, done.stdout.split())
    assert (windows, duration) == (20, seconds)
    assert grown_mb < 150, f"decoding grew the process by {grown_mb} MB"


def test_ffmpeg_decodes_in_ranges_identical_to_one_continuous_decode(tmp_path):
    from torchcodec.decoders import AudioDecoder

    path = write_audio(tmp_path / "long.m4a", tone(95.0, 44100, channels=2), 44100)
    whole = AudioDecoder(str(path)).get_all_samples().data.numpy().T
    np.testing.assert_array_equal(np.concatenate(list(_ffmpeg(path).blocks())), whole)


_REFUSE = """
import sys
from trainer.runtime.audio import UnreadableAudio, decode_windows
try:
    decode_windows(sys.argv[1], 16000)
except UnreadableAudio as exc:
    print(exc.reason)
print("torchcodec" in sys.modules, "torch" in sys.modules)
"""


def test_data_with_no_audio_header_is_refused_without_loading_ffmpeg(tmp_path):
    """GTZAN's damaged jazz.00054 and plain noise: libsndfile alone says no, and no worker loads
    FFmpeg's libraries (with torch: seconds and a gigabyte) for data no decoder can read."""
    noise = tmp_path / "noise.wav"
    noise.write_bytes(b"\x00" + np.random.default_rng(1).integers(0, 256, 50_000, dtype=np.uint8).tobytes())
    for path in (gtzan_dir() / "genres_original" / "jazz" / "jazz.00054.wav", noise):
        done = subprocess.run([sys.executable, "-c", _REFUSE, str(path)], capture_output=True, text=True,
                              check=True, cwd=REPO_ROOT)
        reason, loaded = done.stdout.strip().splitlines()
        assert reason == "not a readable audio file (no known audio header: raw or damaged data)"
        assert loaded == "False False", path


def test_an_mp3_behind_junk_still_decodes(tmp_path):
    """Leading junk hides an MP3's header from the sniffer; libsndfile still finds its frames."""
    clean = write_audio(tmp_path / "clean.mp3", tone(4.0), 44100)
    junk = tmp_path / "junk.mp3"
    junk.write_bytes(b"\x00" * 700 + b"ripped by some tool " * 20 + clean.read_bytes())
    want, got = decode(clean, 16000).samples, decode(junk, 16000).samples
    assert abs(len(got) - len(want)) < 0.05 * 16000
    n = min(len(want), len(got))
    assert np.corrcoef(want[: n // 2], got[: n // 2])[0, 1] > 0.99
