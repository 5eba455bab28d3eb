"""Reading tags and writing genres in every format, checked by mutagen, FFmpeg, and the decoder."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import mutagen
import numpy as np
import pytest
import soundfile as sf

import tagger.tags as tags
from tagger.tags import (
    ReadOnlyFile,
    TagError,
    UnreadableTags,
    UnsupportedFormat,
    read_tags,
    restore_genres,
    write_genres,
)
from tests.support import FORMATS, tone, write_audio
from tests.tagger.tags.readers import audio_md5, ffprobe_genre
from trainer.runtime.audio import decode

RAW_KEY = {"mp3": "TCON", "wav": "TCON", "aiff": "TCON", "flac": "genre", "ogg": "genre", "opus": "genre",
           "m4a": "\xa9gen"}


def raw_genres(path: Path) -> list[str] | None:
    """The genre field exactly as stored, read with plain mutagen; None when there is none."""
    audio = mutagen.File(path)
    key = RAW_KEY[path.suffix.lstrip(".")]
    if audio.tags is None or key not in audio.tags:
        return None
    return list(audio.tags[key].text) if key == "TCON" else [str(v) for v in audio.tags[key]]


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    """One untagged 1.5-second stereo clip per format."""
    folder = tmp_path_factory.mktemp("clips")
    return {fmt: write_audio(folder / f"clip.{fmt}", tone(1.5, 44100, channels=2), 44100) for fmt in FORMATS}


@pytest.fixture
def clip(request, clips, tmp_path) -> Path:
    return Path(shutil.copy2(clips[request.param], tmp_path))


@pytest.fixture(scope="module")
def tagged_by_ffmpeg(clips, tmp_path_factory) -> dict[str, Path]:
    """Clips whose tags another program (FFmpeg) wrote: title, artist, album and genre "Soul"."""
    folder = tmp_path_factory.mktemp("ffmpeg-tagged")
    out = {}
    for fmt in ("mp3", "flac", "ogg", "opus", "m4a", "aiff"):
        out[fmt] = folder / f"tagged.{fmt}"
        subprocess.run(["ffmpeg", "-v", "error", "-i", str(clips[fmt]), "-map", "0:a", "-c", "copy",
                        "-write_id3v2", "1", "-metadata", "title=Tïtle", "-metadata", "artist=Ärtist",
                        "-metadata", "album=Album", "-metadata", "genre=Soul", str(out[fmt])], check=True)
    return out


@pytest.mark.parametrize("clip", FORMATS, indirect=True)
def test_untagged_file_reads_as_no_genre(clip):
    info = read_tags(clip)
    assert info.genres == [] and info.writable
    assert info.format == clip.suffix.lstrip(".")
    assert info.duration_s == pytest.approx(1.5, abs=0.06)


@pytest.mark.parametrize("fmt", ["mp3", "flac", "ogg", "opus", "m4a", "aiff"])
def test_reads_tags_another_program_wrote(tagged_by_ffmpeg, fmt):
    info = read_tags(tagged_by_ffmpeg[fmt])
    assert (info.title, info.artist, info.album, info.genres) == ("Tïtle", "Ärtist", "Album", ["Soul"])


@pytest.mark.parametrize("clip", FORMATS, indirect=True)
def test_written_genre_is_read_back_by_mutagen_and_ffprobe(clip):
    write_genres(clip, ["Hip-Hop"])
    assert raw_genres(clip) == ["Hip-Hop"]
    assert ffprobe_genre(clip) == "Hip-Hop"
    assert read_tags(clip).genres == ["Hip-Hop"]


@pytest.mark.parametrize("clip", FORMATS, indirect=True)
def test_several_genres_are_separate_values(clip):
    write_genres(clip, ["Rock", "Jazz"])
    assert raw_genres(clip) == ["Rock", "Jazz"]  # one field per value (Vorbis), NUL-separated (ID3v2.4)
    assert read_tags(clip).genres == ["Rock", "Jazz"]
    # FFmpeg joins Vorbis fields with ";", shows only the first value of ID3 and MP4 lists, and
    # prefers a WAV file's RIFF INFO, one text with the values joined by "; "
    expected = ("Rock; Jazz",) if clip.suffix == ".wav" else ("Rock;Jazz", "Rock")
    assert ffprobe_genre(clip) in expected


@pytest.mark.parametrize("clip", FORMATS, indirect=True)
def test_empty_list_removes_the_genre_tag(clip):
    write_genres(clip, ["Rock"])
    write_genres(clip, [])
    assert raw_genres(clip) is None
    assert ffprobe_genre(clip) is None


@pytest.mark.parametrize("clip", FORMATS, indirect=True)
def test_writing_never_changes_the_audio(clip):
    before = decode(clip, 44100).samples
    md5_before = audio_md5(clip)
    # long values overflow any padding, so the tag block has to grow and the file is rewritten
    write_genres(clip, [f"Genre number {i} " + "x" * 300 for i in range(8)])
    assert np.array_equal(decode(clip, 44100).samples, before)
    assert audio_md5(clip) == md5_before
    write_genres(clip, [])
    assert np.array_equal(decode(clip, 44100).samples, before)
    assert audio_md5(clip) == md5_before


@pytest.mark.parametrize("fmt", ["mp3", "aiff"])
def test_id3v23_on_request(clips, tmp_path, fmt):
    path = Path(shutil.copy2(clips[fmt], tmp_path))
    write_genres(path, ["Rock", "Jazz"], id3_version=3)
    audio = mutagen.File(path)
    assert audio.tags.version[:2] == (2, 3)
    assert audio.tags["TCON"].text == ["Rock/Jazz"]  # ID3v2.3 has no multi-value frames
    assert read_tags(path).genres == ["Rock", "Jazz"]
    assert ffprobe_genre(path) == "Rock/Jazz"
    write_genres(path, ["Blues"])
    assert mutagen.File(path).tags.version[:2] == (2, 4)


@pytest.mark.parametrize("fmt", ["mp3", "flac", "ogg", "opus", "m4a", "aiff"])
def test_restore_puts_back_what_another_program_wrote(tagged_by_ffmpeg, tmp_path, fmt):
    path = Path(shutil.copy2(tagged_by_ffmpeg[fmt], tmp_path))
    before = read_tags(path)
    raw_before = raw_genres(path)
    write_genres(path, ["Rock", "Jazz"])
    restore_genres(path, before.genre_state)
    assert raw_genres(path) == raw_before == ["Soul"]
    assert read_tags(path) == before


def test_restore_keeps_the_id3_version_and_numeric_genres(clips, tmp_path):
    path = Path(shutil.copy2(clips["mp3"], tmp_path))
    audio = mutagen.File(path)
    audio.tags.add(mutagen.id3.TCON(encoding=1, text=["(17)"]))  # an ID3v1 genre number: Rock
    audio.tags.save(path, v2_version=3)
    before = read_tags(path)
    assert before.genres == ["Rock"]
    write_genres(path, ["Jazz"])
    assert mutagen.File(path).tags.version[:2] == (2, 4)
    restore_genres(path, before.genre_state)
    audio = mutagen.File(path)
    assert audio.tags.version[:2] == (2, 3)
    assert audio.tags["TCON"].genres == ["Rock"]
    assert read_tags(path) == before


@pytest.mark.parametrize("fmt", ["wav", "aiff"])
def test_restoring_no_tag_removes_the_id3_chunk_again(clips, tmp_path, fmt):
    path = Path(shutil.copy2(clips[fmt], tmp_path))
    original = path.read_bytes()
    state = read_tags(path).genre_state
    write_genres(path, ["Rock"])
    assert path.read_bytes() != original
    restore_genres(path, state)
    assert path.read_bytes() == original


def test_vorbis_restore_keeps_several_fields(clips, tmp_path):
    path = Path(shutil.copy2(clips["flac"], tmp_path))
    audio = mutagen.File(path)
    audio["GENRE"] = ["Ambient", "Dub"]
    audio.save()
    state = read_tags(path).genre_state
    write_genres(path, ["Rock"])
    restore_genres(path, state)
    assert raw_genres(path) == ["Ambient", "Dub"]


def test_format_comes_from_content_not_extension(clips, tmp_path):
    path = Path(shutil.copy2(clips["flac"], tmp_path / "mislabelled.ogg"))
    assert read_tags(path).format == "flac"
    write_genres(path, ["Rock"])
    assert ffprobe_genre(path) == "Rock"


def test_read_only_file_is_refused_and_untouched(clips, tmp_path):
    path = Path(shutil.copy2(clips["mp3"], tmp_path))
    original = path.read_bytes()
    path.chmod(0o444)
    with pytest.raises(ReadOnlyFile, match="read-only"):
        write_genres(path, ["Rock"])
    assert path.read_bytes() == original
    assert os.listdir(tmp_path) == [path.name]


def test_read_only_folder_is_refused(clips, tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    path = Path(shutil.copy2(clips["flac"], folder))
    folder.chmod(0o555)
    try:
        with pytest.raises(ReadOnlyFile, match="folder"):
            write_genres(path, ["Rock"])
    finally:
        folder.chmod(0o755)


def test_a_failed_write_leaves_the_original_and_no_temporary_file(clips, tmp_path, monkeypatch):
    path = Path(shutil.copy2(clips["ogg"], tmp_path))
    original = path.read_bytes()

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tags.os, "replace", broken_replace)
    with pytest.raises(TagError, match="No space left"):
        write_genres(path, ["Rock"])
    assert path.read_bytes() == original
    assert os.listdir(tmp_path) == [path.name]


def test_discard_scratch_removes_only_the_named_works_copies(clips, tmp_path):
    path = Path(shutil.copy2(clips["wav"], tmp_path))
    mine = [tmp_path / ".gt-cafe-7.part", tmp_path / ".gt-cafe-8.1a2b.back"]
    others = [tmp_path / ".gt-beef-7.part", tmp_path / ".gt-cafe-9.txt"]
    for leftover in mine + others:
        leftover.write_bytes(b"partial")
    assert sorted(tags.discard_scratch(tmp_path, "cafe-")) == sorted(mine)
    assert sorted(os.listdir(tmp_path)) == sorted([path.name] + [p.name for p in others])


@pytest.mark.parametrize("content, reason", [
    (b"", "empty"),
    (b"just some text, not music\n" * 40, "cannot read tags"),
])
def test_bad_files_raise_with_a_reason(tmp_path, content, reason):
    path = tmp_path / "bad.mp3"
    path.write_bytes(content)
    with pytest.raises(UnreadableTags, match=reason):
        read_tags(path)


def test_missing_file_raises(tmp_path):
    with pytest.raises(UnreadableTags, match="not found"):
        read_tags(tmp_path / "gone.flac")


def test_audio_without_a_tag_system_is_readable_but_not_writable(tmp_path):
    path = tmp_path / "clip.au"
    sf.write(path, tone(1.0, 22050), 22050, format="AU", subtype="PCM_16")
    info = read_tags(path)
    assert (info.format, info.writable, info.genres) == ("au", False, [])
    assert info.duration_s == pytest.approx(1.0)
    with pytest.raises(UnsupportedFormat):
        write_genres(path, ["Blues"])
