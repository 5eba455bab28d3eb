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

    def close(self) -> None:
        """No worker processes to end."""


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


BIG_N = 20_000
BIG_GENRES = ["blues", "jazz", "rock", "metal"]


def planted(i: int) -> dict:
    """Track i of the big library: folder a or b; every other one predicted; every 10th accepted;
    a few missing."""
    return {"folder": "a" if i % 2 else "b",
            "predicted": BIG_GENRES[(i // 2) % 4] if i % 2 == 0 else None,
            "confidence": (i % 100) / 100,
            "confirmed": ["rock"] if i % 10 == 0 else None,
            "status": "missing" if i % 1000 == 1 else "ok"}


BIG_TRACKS = [planted(i) for i in range(BIG_N)]


def planted_status(t: dict) -> str:
    """The review status a planted track should have, worked out apart from the code under test."""
    if t["status"] != "ok":
        return t["status"]
    return "accepted" if t["confirmed"] else "review" if t["predicted"] else "unclassified"


@pytest.fixture(scope="module")
def big_library(tmp_path_factory):
    """A catalogue of ``BIG_TRACKS`` inserted directly (no files) and its two folders."""
    from sqlalchemy import insert

    from tagger.library import BundleRecord, Prediction, Track, open_library

    root = tmp_path_factory.mktemp("big")
    lib = open_library(root / "library.db")
    with lib.engine.begin() as conn:
        conn.execute(insert(BundleRecord), [{"id": 1, "bundle_id": "m1", "labels": BIG_GENRES, "active": True}])
        conn.execute(insert(Track), [
            {"id": i + 1, "path": f"{root}/{t['folder']}/track{i:05d}.flac", "size": 1, "mtime_ns": 1,
             "title": f"Song {i:05d}", "artist": f"Artist {i % 97}", "genres": [],
             "confirmed_genres": t["confirmed"], "status": t["status"]}
            for i, t in enumerate(BIG_TRACKS)])
        conn.execute(insert(Prediction), [
            {"track_id": i + 1, "model_id": 1, "genre": t["predicted"], "confidence": t["confidence"],
             "probs": [0.25] * 4, "n_windows": 1, "padded": False}
            for i, t in enumerate(BIG_TRACKS) if t["predicted"]])
    yield lib, (f"{root}/a", f"{root}/b")
    lib.close()
