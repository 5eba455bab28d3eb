"""A corpus of bad and odd inputs, built here, through ``genre-tagger scan``, ``classify``,
``write`` and ``undo`` run as a user runs them: no traceback anywhere, one reason line per bad
file, the audio of every file the same after the write and after the undo, every tag change undone.
"""

from __future__ import annotations

import os
import stat
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tagger.paths import shown
from tagger.tags import TagError, read_tags
from tests.support import FORMATS, REPO_ROOT, tone, write_audio
from trainer.runtime.audio import UnreadableAudio, decode

RATE = 22050


def _fs(folder: Path, raw: bytes) -> Path:
    """``folder/raw`` for a name given as bytes (it need not be UTF-8)."""
    return Path(os.fsdecode(os.fsencode(folder) + b"/" + raw))


def _lying_wav(path: Path, seconds: float, claims_s: float) -> Path:
    """A WAV holding ``seconds`` of audio whose header claims ``claims_s``."""
    write_audio(path, tone(seconds, 8000), 8000)
    data = bytearray(path.read_bytes())
    at = data.index(b"data")
    claimed = int(claims_s * 8000 * 2)
    data[at + 4:at + 8] = struct.pack("<I", claimed)
    data[4:8] = struct.pack("<I", at + 8 + claimed - 8)
    path.write_bytes(bytes(data))
    return path


def build_corpus(music: Path, spare: Path) -> tuple[dict[Path, str], list[Path]]:
    """The corpus under ``music``: bad files (path -> what kind of bad, each must be reported) and
    odd files that are fine audio (they must be catalogued and classified)."""
    bad: dict[Path, str] = {}
    odd: list[Path] = []
    music.mkdir()
    for fmt in FORMATS:
        whole = write_audio(spare / f"whole.{fmt}", tone(10.0, RATE), RATE).read_bytes()
        odd.append(write_audio(music / f"good.{fmt}", tone(8.0, RATE, freq=300.0), RATE))
        (music / f"zero.{fmt}").write_bytes(b"")
        bad[music / f"zero.{fmt}"] = "empty"
        for share in (10, 50):
            cut = music / f"cut{share}.{fmt}"
            cut.write_bytes(whole[: len(whole) * share // 100])
            bad[cut] = "truncated"
    noise = np.random.default_rng(7)
    for ext in ("mp3", "wav", "flac", "m4a", "opus"):
        (music / f"noise.{ext}").write_bytes(noise.integers(0, 256, 8000, dtype=np.uint8).tobytes())
        bad[music / f"noise.{ext}"] = "random bytes"
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 16
    for name, content in (("image.ogg", png), ("image.mp3", png), ("readme.mp3", b"liner notes\n" * 100),
                          ("readme.ogg", b"lyrics\n" * 100), ("photo.flac", b"\xff\xd8\xff\xe0" + bytes(2000))):
        (music / name).write_bytes(content)
        bad[music / name] = "not audio"
    bad[_lying_wav(music / "lying-length.wav", 2.0, 60.0)] = "header claims more"
    flac = write_audio(spare / "real.flac", tone(6.0, RATE), RATE)
    (music / "flac-named.mp3").write_bytes(flac.read_bytes())
    bad[music / "flac-named.mp3"] = "misnamed"
    (music / "wav-named.flac").write_bytes(write_audio(spare / "real.wav", tone(6.0, RATE), RATE).read_bytes())
    bad[music / "wav-named.flac"] = "misnamed"
    for name, seconds, rate in (("tenth.wav", 0.1, RATE), ("tenth.mp3", 0.1, 44100), ("minutes.flac", 200.0, 8000),
                                ("low-rate.wav", 5.0, 8000), ("high-rate.flac", 5.0, 96000)):
        odd.append(write_audio(music / name, tone(seconds, rate), rate))
    plain = write_audio(spare / "plain.wav", tone(3.0, RATE, freq=500.0), RATE)
    for raw in (b"caf\xe9 latin-1.wav", b"x" * 246 + b".wav", b"new\nline.wav", b"  spaced  name .wav",
                "ünï cødé 音楽.wav".encode()):
        path = _fs(music, raw)
        path.write_bytes(plain.read_bytes())
        odd.append(path)
    (music / "link-to-good.wav").symlink_to(music / "good.wav")
    odd.append(music / "link-to-good.wav")
    (music / "dangling.mp3").symlink_to(music / "gone.mp3")
    (music / "loop-a.ogg").symlink_to(music / "loop-b.ogg")
    (music / "loop-b.ogg").symlink_to(music / "loop-a.ogg")
    os.mkfifo(music / "pipe.flac")
    bad.update({music / "dangling.mp3": "dangling link", music / "loop-a.ogg": "link loop",
                music / "loop-b.ogg": "link loop", music / "pipe.flac": "FIFO"})
    locked = write_audio(music / "read-only.ogg", tone(4.0, RATE), RATE)
    locked.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    odd.append(locked)
    return bad, odd


def cli(db: Path, *argv: str) -> tuple[int, str]:
    """Run ``genre-tagger`` as a user would; its exit status and everything it printed."""
    done = subprocess.run([sys.executable, "-m", "tagger.cli", "--db", str(db), *argv], cwd=REPO_ROOT,
                          capture_output=True, text=True, errors="backslashreplace")
    return done.returncode, done.stdout + done.stderr


def lines_naming(output: str, path: Path) -> list[str]:
    return [line for line in output.splitlines() if f"{shown(path)}: " in line]


def snapshot(paths: list[Path]) -> dict[Path, tuple[np.ndarray | None, dict | None]]:
    """Each file's decoded audio and raw genre fields (``None`` where there is none to read)."""
    found = {}
    for path in paths:
        try:
            audio = decode(path, RATE).samples
        except UnreadableAudio:
            audio = None
        try:
            state = read_tags(path).genre_state
        except TagError:
            state = None
        found[path] = (audio, state)
    return found


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    (root / "spare").mkdir()
    bad, odd = build_corpus(root / "music", root / "spare")
    yield root, bad, odd
    (root / "music" / "read-only.ogg").chmod(0o644)


def test_the_corpus_is_big_enough(corpus):
    _, bad, odd = corpus
    assert len(bad) + len(odd) >= 50 and len(bad) >= 35


def test_scan_classify_write_undo_never_trace_back_and_report_each_bad_file_once(corpus):
    root, bad, odd = corpus
    music, db = root / "music", root / "lib.db"
    regular = [p for p in [*bad, *odd] if p.is_file() and not p.is_symlink()]
    before = snapshot(regular)

    code, scanned = cli(db, "scan", str(music))
    assert code == 1 and "Traceback" not in scanned
    for path in odd:
        assert lines_naming(scanned, path) == [], f"{shown(path)} is fine audio:\n{scanned}"
    # what the first bytes or the file system tell is reported by the scan, each file on one line
    for kind, words in (("empty", "empty file (0 bytes)"), ("not audio", "not audio"), ("FIFO", "not a regular file"),
                        ("link loop", "symbolic link loop"), ("dangling link", "broken symbolic link"),
                        ("random bytes", "not a readable audio file"), ("misnamed", " extension"),
                        ("header claims more", "truncated: ")):
        for path in (p for p, k in bad.items() if k == kind):
            assert [words in line for line in lines_naming(scanned, path)] == [True], f"{kind} {shown(path)}"
    for fmt in ("wav", "aiff", "m4a"):  # formats whose header says how long the file is
        assert [line for line in lines_naming(scanned, music / f"cut50.{fmt}") if "truncated: " in line]
    assert "FLAC audio with an .mp3 extension" in lines_naming(scanned, music / "flac-named.mp3")[0]

    code, classified = cli(db, "classify", "--workers", "1")
    assert code == 1 and "Traceback" not in classified, classified
    for short in ("tenth.wav", "tenth.mp3", "cut50.wav", "cut50.aiff", "lying-length.wav"):
        [line] = lines_naming(classified, music / short)
        assert "rests on padding" in line or "truncated" in line, line
    # every bad file is named by the scan or by classify (a truncated FLAC shows only on decoding),
    # and never twice by one command
    for path, kind in bad.items():
        assert len(lines_naming(scanned, path)) <= 1 and len(lines_naming(classified, path)) <= 1
        assert lines_naming(scanned, path) + lines_naming(classified, path), f"{kind} {shown(path)} not reported"

    code, written = cli(db, "write", "--min-confidence", "0")
    assert "Traceback" not in written, written
    assert "read-only.ogg: file is read-only" in written
    after_write = snapshot(regular)
    changed = [p for p in regular if after_write[p][1] != before[p][1]]
    assert len(changed) >= len(odd) - 2, written  # the read-only file and the link's target are written once

    code, undone = cli(db, "undo")
    assert code == 0 and "Traceback" not in undone, undone
    after_undo = snapshot(regular)
    for path in regular:
        audio, state = before[path]
        for stage, now in (("write", after_write[path]), ("undo", after_undo[path])):
            assert (now[0] is None) == (audio is None), f"{shown(path)}: decodability changed by {stage}"
            if audio is not None:
                assert np.array_equal(now[0], audio), f"{shown(path)}: audio changed by {stage}"
        assert after_undo[path][1] == state, f"{shown(path)}: genre not restored by undo"
