"""WAV and AIFF files whose headers lie are refused with the audio untouched; WAV genres also go
into RIFF INFO, read by libsndfile and FFmpeg, and come back out exactly."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tagger.tags import DamagedFile, read_tags, restore_genres, write_genres
from tests.support import gtzan_dir, tone, write_audio
from tests.tagger.tags.readers import audio_md5, ffprobe_genre


@pytest.fixture(scope="module")
def real(tmp_path_factory) -> dict[str, Path]:
    """A real GTZAN clip as WAV (as shipped) and as AIFF (its samples rewritten by libsndfile)."""
    folder = tmp_path_factory.mktemp("real")
    wav = Path(shutil.copyfile(gtzan_dir() / "genres_original" / "jazz" / "jazz.00001.wav", folder / "clip.wav"))
    samples, rate = sf.read(wav, dtype="int16")
    aiff = folder / "clip.aiff"
    sf.write(aiff, samples, rate, format="AIFF", subtype="PCM_16")
    return {"wav": wav, "aiff": aiff}


def audio_chunk(path: Path) -> tuple[int, int]:
    """(payload offset, declared size) of the audio chunk, read with struct alone."""
    data = path.read_bytes()
    order, name = ("<", b"data") if data[:4] == b"RIFF" else (">", b"SSND")
    offset = 12
    while True:
        chunk_id, size = struct.unpack(order + "4sI", data[offset:offset + 8])
        if chunk_id == name:
            return offset + 8, size
        offset += 8 + size + (size & 1)


def decoded(path: Path) -> tuple[np.ndarray, str]:
    """The samples as libsndfile reads them and the MD5 of FFmpeg's decode."""
    return sf.read(path, dtype="int16")[0], audio_md5(path)


def assert_refused_untouched(path: Path, reason: str) -> None:
    before, samples, md5 = path.read_bytes(), *decoded(path)
    with pytest.raises(DamagedFile) as refused:
        write_genres(path, ["Jazz"])
    assert refused.value.reason == reason
    assert path.read_bytes() == before
    after_samples, after_md5 = decoded(path)
    assert np.array_equal(after_samples, samples) and after_md5 == md5
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no scratch copy left


@pytest.mark.parametrize("fmt, chunk", [("wav", "data"), ("aiff", "SSND")])
@pytest.mark.parametrize("fraction", [0.1, 0.5])
def test_truncated_files_are_refused_and_their_audio_untouched(real, tmp_path, fmt, chunk, fraction):
    full = real[fmt]
    offset, declared = audio_chunk(full)
    path = tmp_path / full.name
    path.write_bytes(full.read_bytes()[: int(full.stat().st_size * fraction)])
    has = path.stat().st_size - offset
    assert has < declared
    assert_refused_untouched(path, f"truncated {fmt.upper()}: {chunk} chunk declares {declared} bytes, file has {has}")


@pytest.mark.parametrize("fmt, magic", [("wav", "RIFF"), ("aiff", "FORM")])
@pytest.mark.parametrize("delta", [-100, 1000])
def test_a_wrong_container_size_is_refused(real, tmp_path, fmt, magic, delta):
    data = bytearray(real[fmt].read_bytes())
    order = "<" if fmt == "wav" else ">"
    wrong = len(data) - 8 + delta
    data[4:8] = struct.pack(order + "I", wrong)
    path = tmp_path / real[fmt].name
    path.write_bytes(bytes(data))
    assert_refused_untouched(path, f"damaged {fmt.upper()} header: {magic} size says {wrong} bytes, "
                                   f"file has {len(data) - 8}")


def test_bytes_after_the_last_chunk_are_refused(real, tmp_path):
    path = tmp_path / "clip.wav"
    path.write_bytes(real["wav"].read_bytes() + b"TAG" + b"\0" * 125)  # an ID3v1 tag glued after the RIFF
    with pytest.raises(DamagedFile):
        write_genres(path, ["Jazz"])


def test_wav_genre_is_written_as_riff_info_too(real, tmp_path):
    path = Path(shutil.copy2(real["wav"], tmp_path))
    path.chmod(0o644)
    samples, md5 = decoded(path)
    write_genres(path, ["Jazz", "Soul"])
    assert sf.SoundFile(path).genre == "Jazz; Soul"  # libsndfile reads INFO IGNR, not ID3
    assert ffprobe_genre(path) == "Jazz; Soul"
    assert read_tags(path).genres == ["Jazz", "Soul"]
    after_samples, after_md5 = decoded(path)
    assert np.array_equal(after_samples, samples) and after_md5 == md5


@pytest.fixture
def ffmpeg_tagged(tmp_path) -> Path:
    """A WAV tagged by FFmpeg: a LIST/INFO chunk before the audio (title and genre "Soul"), no ID3."""
    source = write_audio(tmp_path / "src.wav", tone(1.5, 44100, channels=2), 44100)
    path = tmp_path / "tagged.wav"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(source), "-c", "copy", "-metadata", "genre=Soul",
                    "-metadata", "title=Tïtle", str(path)], check=True)
    source.unlink()
    return path


def test_riff_info_written_by_another_program_is_read(ffmpeg_tagged):
    info = read_tags(ffmpeg_tagged)
    assert (info.genres, info.title) == (["Soul"], "Tïtle")


def test_restore_puts_riff_info_back_exactly(ffmpeg_tagged):
    original = ffmpeg_tagged.read_bytes()
    samples, md5 = decoded(ffmpeg_tagged)
    state = read_tags(ffmpeg_tagged).genre_state
    write_genres(ffmpeg_tagged, ["Rock"])  # the INFO chunk sits before the audio: the audio moves
    assert sf.SoundFile(ffmpeg_tagged).genre == "Rock" and sf.SoundFile(ffmpeg_tagged).title == "Tïtle"
    after_samples, after_md5 = decoded(ffmpeg_tagged)
    assert np.array_equal(after_samples, samples) and after_md5 == md5
    write_genres(ffmpeg_tagged, [])
    assert sf.SoundFile(ffmpeg_tagged).genre == "" and read_tags(ffmpeg_tagged).genres == []
    restore_genres(ffmpeg_tagged, state)
    assert ffmpeg_tagged.read_bytes() == original


def test_restore_removes_an_info_chunk_that_was_absent(real, tmp_path):
    path = Path(shutil.copy2(real["wav"], tmp_path))
    path.chmod(0o644)
    original = path.read_bytes()
    state = read_tags(path).genre_state
    write_genres(path, ["Jazz"])
    assert b"LIST" in path.read_bytes() and sf.SoundFile(path).genre == "Jazz"
    restore_genres(path, state)
    assert path.read_bytes() == original
