"""Shared by the library and profile tests: a small mixed-format library and a stand-in classifier."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tagger.engine import TrackFailure, TrackResult
from tests.support import FORMATS, REPO_ROOT, tone, write_audio

LABELS = ["blues", "jazz", "rock"]


def genre_of(name: str) -> str:
    """The genre the fake classifier gives a file: the label its name starts with, else blues."""
    return next((label for label in LABELS if name.startswith(label)), "blues")


class FakeClassifier:
    """Stands in for ``tagger.engine.Classifier`` where the model is not the point: the top genre
    comes from the file name with probability 0.8, so the expected writes are known up front."""

    labels = LABELS

    def __init__(self, bundle_id: str = "fake-model-1", fail: tuple[str, ...] = ()) -> None:
        self.bundle_id = bundle_id
        self.fail = fail

    def classify_paths(self, paths, workers=None):
        for path in map(Path, paths):
            if path.name in self.fail:
                yield TrackFailure(path, "cannot decode this file")
                continue
            probs = np.full(len(LABELS), 0.1)
            probs[LABELS.index(genre_of(path.name))] = 0.8
            yield TrackResult(path, LABELS, probs, np.stack([probs, probs]), np.array([0.0, 0.5]), True, 1.0)


def make_library(folder: Path) -> dict[str, Path]:
    """One short file per format named ``<genre>-<format>.<ext>`` (genres cycle through LABELS),
    a broken and an empty file, and an .m3u8 playlist with a relative, a missing and a URL entry."""
    files = {}
    for i, fmt in enumerate(FORMATS):
        genre = LABELS[i % len(LABELS)]
        files[fmt] = write_audio(folder / "albums" / f"{genre}-{fmt}.{fmt}", tone(1.0, 22050, freq=220 + 40 * i), 22050)
    (folder / "broken.mp3").write_text("this is not music\n" * 20)
    (folder / "empty.flac").write_bytes(b"")
    (folder / "mix.m3u8").write_text(
        "#EXTM3U\n#EXTINF:1,Some Artist - Blues\nalbums/blues-wav.wav\nalbums/jazz-flac.flac\n"
        "albums/not-here.mp3\nhttp://radio.example/stream.mp3\n", encoding="utf-8")
    return files


def make_wavs(folder: Path, count: int) -> list[Path]:
    """``count`` short distinct WAV files named after the genres, quick to make in bulk."""
    return [write_audio(folder / f"{LABELS[i % len(LABELS)]}-{i:03d}.wav", tone(0.5, 8000, freq=100 + 7 * i), 8000)
            for i in range(count)]


@pytest.fixture(scope="session")
def library_template(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("template")
    make_library(folder)
    return folder


@pytest.fixture
def music(tmp_path, library_template) -> Path:
    """A fresh copy of the template library for one test."""
    return Path(shutil.copytree(library_template, tmp_path / "music"))


@pytest.fixture
def classified(tmp_path, music):
    """A catalogue of ``music``, scanned and classified by ``FakeClassifier``."""
    from tagger.library import classify_library, open_library, scan

    with open_library(tmp_path / "lib.db") as lib:
        scan(lib, [music])
        classify_library(lib, FakeClassifier())
        yield lib


# A child with the library open and ``report`` as its progress: it prints each count and, at the
# count it was given, waits to be killed, so the kill lands at that point however slowly the parent
# is scheduled.
_KILLED_CHILD = """
import sys, time
from tagger.library import classify_library, open_library, write_library
from tests.tagger.library.helpers import FakeClassifier
lib = open_library(sys.argv[1])
def report(done, total):
    print(done, flush=True)
    if done >= int(sys.argv[2]):
        time.sleep(600)
{call}
"""


def kill_mid_run(call: str, db: Path, at: int) -> None:
    """Run ``call`` (a library job given ``progress=report``) in a child process on the catalogue
    ``db`` and kill it once it has reported ``at`` items."""
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_CHILD.format(call=call), str(db), str(at)],
                            cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    for line in proc.stdout:
        if int(line) >= at:
            proc.kill()
            break
    proc.wait()
    assert proc.returncode < 0, "the job finished before it was killed"
