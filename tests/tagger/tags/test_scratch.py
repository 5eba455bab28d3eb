"""Where writes are prepared: long file names, symbolic and hard links, an interrupted copy-back."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

import tagger.tags.scratch as scratch
from tagger.tags import (
    PartialWrite,
    finish_interrupted,
    read_tags,
    restore_genres,
    write_genres,
)
from tests.support import FORMATS, tone, write_audio
from trainer.runtime.audio import decode


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("clips")
    return {fmt: write_audio(folder / f"clip.{fmt}", tone(1.0, 22050), 22050) for fmt in FORMATS}


def name_max(folder: Path) -> int:
    return os.pathconf(folder, "PC_NAME_MAX")


@pytest.mark.parametrize("fmt", FORMATS)
def test_names_at_the_file_systems_limit_can_be_written_and_restored(clips, tmp_path, fmt):
    limit = name_max(tmp_path)
    stem_bytes = limit - 1 - len(fmt)
    path = tmp_path / ("é" * (stem_bytes // 2) + "x" * (stem_bytes % 2) + "." + fmt)
    assert len(os.fsencode(path.name)) == limit
    shutil.copy2(clips[fmt], path)
    samples = decode(path, 22050).samples
    state = read_tags(path).genre_state
    write_genres(path, ["Rock"])
    assert read_tags(path).genres == ["Rock"]
    restore_genres(path, state)
    assert read_tags(path).genre_state == state
    assert np.array_equal(decode(path, 22050).samples, samples)
    assert os.listdir(tmp_path) == [path.name]


def test_a_symlink_stays_a_link_and_its_target_is_tagged(clips, tmp_path):
    target = Path(shutil.copy2(clips["flac"], tmp_path / "real.flac"))
    (tmp_path / "links").mkdir()
    link = tmp_path / "links" / "song.flac"
    link.symlink_to(target)
    state = read_tags(link).genre_state
    write_genres(link, ["Jazz"])
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert read_tags(target).genres == ["Jazz"]
    restore_genres(link, state)
    assert link.is_symlink() and read_tags(target).genre_state == state
    assert os.listdir(tmp_path / "links") == ["song.flac"]


@pytest.mark.parametrize("fmt", ["mp3", "wav", "m4a"])
def test_a_hard_linked_file_keeps_its_inode(clips, tmp_path, fmt):
    first = Path(shutil.copy2(clips[fmt], tmp_path / f"a.{fmt}"))
    second = tmp_path / f"b.{fmt}"
    os.link(first, second)
    inode = first.stat().st_ino
    original = first.read_bytes()
    state = read_tags(first).genre_state
    write_genres(second, ["Blues"])
    assert first.stat().st_ino == second.stat().st_ino == inode and first.stat().st_nlink == 2
    assert read_tags(first).genres == ["Blues"]
    restore_genres(first, state)
    assert second.stat().st_ino == inode and read_tags(second).genre_state == state
    if fmt == "wav":
        assert second.read_bytes() == original
    assert sorted(os.listdir(tmp_path)) == [f"a.{fmt}", f"b.{fmt}"]


class Killed(BaseException):
    """Stands for a kill: nothing after it runs, no ``except Exception`` catches it."""


def test_an_interrupted_copy_back_is_completed_from_the_kept_copy(clips, tmp_path, monkeypatch):
    path = Path(shutil.copy2(clips["mp3"], tmp_path / "a.mp3"))
    os.link(path, tmp_path / "b.mp3")
    samples = decode(path, 22050).samples
    real_copy_back = scratch._copy_back

    def half_then_killed(back: Path, target: Path) -> None:
        with open(back, "rb") as src, open(target, "r+b") as dst:
            dst.write(src.read(back.stat().st_size // 2))
        raise Killed

    monkeypatch.setattr(scratch, "_copy_back", half_then_killed)
    with pytest.raises(Killed):
        write_genres(path, ["Blues"], work="w1")
    assert [p.name for p in tmp_path.glob(".gt-w1.*.back")]  # the complete tagged copy is kept
    monkeypatch.setattr(scratch, "_copy_back", real_copy_back)

    def failing_disk(src, dst, length=0):
        raise OSError(5, "Input/output error")

    with monkeypatch.context() as m:  # completing fails too: the only complete copy must survive it
        m.setattr(scratch.shutil, "copyfileobj", failing_disk)
        with pytest.raises(PartialWrite, match="Input/output error"):
            finish_interrupted(path, "w1")
    assert [p.name for p in tmp_path.glob(".gt-w1.*.back")]
    assert finish_interrupted(tmp_path / "b.mp3", "w1") is True
    assert read_tags(path).genres == ["Blues"] and np.array_equal(decode(path, 22050).samples, samples)
    assert sorted(os.listdir(tmp_path)) == ["a.mp3", "b.mp3"]
    assert finish_interrupted(path, "w1") is False


def test_a_full_disk_stops_a_copy_back_before_the_original_changes(clips, tmp_path, monkeypatch):
    path = Path(shutil.copy2(clips["flac"], tmp_path / "a.flac"))
    os.link(path, tmp_path / "b.flac")
    original = path.read_bytes()

    def no_space(fd, offset, length):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(scratch.os, "posix_fallocate", no_space)
    with pytest.raises(Exception, match="No space left"):
        write_genres(path, ["Genre " + "x" * 5000])  # longer than the padding: the file must grow
    assert path.read_bytes() == original
    assert sorted(os.listdir(tmp_path)) == ["a.flac", "b.flac"]


def test_scratch_names_are_short_and_unique_per_write():
    works = {scratch.new_work() for _ in range(100)}
    assert len(works) == 100
    assert all(str(os.getpid()) in w and len(scratch.part_path(Path("x"), w).name) < 40 for w in works)
