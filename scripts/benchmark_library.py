"""Benchmark the library jobs on a synthetic library: tracks per second for the first scan, a
rescan, classifying, writing genres, and undoing the write.

Builds at least 2,000 short files in mixed formats (WAV, FLAC, Ogg Vorbis, Opus, MP3, M4A, AIFF;
a few distinct encodes per format, copied under different names), in a fresh catalogue.

``--real N`` measures classifying instead on N real-length tracks: each the concatenation of
``--clips`` consecutive real GTZAN clips of one genre (3 minutes for 6), encoded in turn as MP3,
FLAC, Ogg Vorbis, M4A and Opus. For each shipped model family it prints tracks/s and windows/s
of the whole classify job (catalogue, workers, decode, features, model) beside the decode-only
ceiling (the same workers decoding the same windows, nothing else), all in one run, so a
regression shows as a ratio rather than as a figure that moves with the machine's load.

Usage: python scripts/benchmark_library.py [--files 2000] [--seconds 2] [--model BUNDLE]
       [--device auto] [--workers N] [--dir DIR]
       python scripts/benchmark_library.py --real 60 [--clips 6] [--max-windows K] [--workers N]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from scripts.benchmark_support import TreeMemory  # noqa: E402
from tagger.engine.classifier import worker_count  # noqa: E402
from tagger.library import (  # noqa: E402
    WritePolicy,
    classify_library,
    open_library,
    scan,
    undo,
    write_library,
)
from tests.support import FORMATS, tone, write_audio  # noqa: E402
from trainer.runtime.audio import WindowChoice, WindowSpec, decode_windows  # noqa: E402

DISTINCT_PER_FORMAT = 6
#: Formats of the real-length tracks, in turn; each encoded from a FLAC by ffmpeg, as a ripper would.
REAL_FORMATS = ("mp3", "flac", "ogg", "m4a", "opus")
_ENCODERS = {"mp3": ["-c:a", "libmp3lame", "-b:a", "192k"], "ogg": ["-c:a", "libvorbis", "-q:a", "5"],
             "m4a": ["-c:a", "aac", "-b:a", "192k"], "opus": ["-c:a", "libopus", "-b:a", "128k"]}


def build_library(folder: Path, files: int, seconds: float) -> float:
    """Write ``files`` audio files under ``folder`` (50 to a folder); return their total duration."""
    sources = [write_audio(folder / "_sources" / f"src{i}.{fmt}",
                           tone(seconds, 44100, freq=110 * (1 + i) + 13 * k, channels=2), 44100)
               for k, fmt in enumerate(FORMATS) for i in range(DISTINCT_PER_FORMAT)]
    for n in range(files):
        source = sources[n % len(sources)]
        target = folder / "music" / f"album{n // 50:03d}" / f"track{n:05d}{source.suffix}"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    shutil.rmtree(folder / "_sources")
    return files * seconds


def real_tracks(folder: Path, count: int, clips: int = 6) -> list[Path]:
    """``count`` tracks under ``folder``, each ``clips`` consecutive readable real GTZAN clips of
    one genre joined (stereo at 44.1 kHz: the same clip on both channels), encoded in turn in
    ``REAL_FORMATS``; distinct tracks are copied under new names when more are asked for."""
    from tests.support import gtzan_dir
    from trainer.runtime.audio import UnreadableAudio, decode

    by_genre: dict[str, list[np.ndarray]] = {}
    for clip in sorted((gtzan_dir() / "genres_original").glob("*/*.wav")):
        try:
            by_genre.setdefault(clip.parent.name, []).append(decode(clip, 44100).samples)
        except UnreadableAudio:
            continue  # jazz.00054, GTZAN's corrupt clip
    distinct = [(genre, start) for start in range(max(map(len, by_genre.values())))
                for genre, found in sorted(by_genre.items()) if start < len(found)]
    made: list[Path] = []
    for n in range(count):
        genre, start = distinct[n % len(distinct)]
        fmt = REAL_FORMATS[n % len(REAL_FORMATS)]
        target = folder / "music" / genre / f"{genre}-{n:05d}.{fmt}"
        if n < len(distinct) * len(REAL_FORMATS):
            found = by_genre[genre]
            samples = np.concatenate([found[(start + k) % len(found)] for k in range(clips)])
            flac = write_audio(target.with_suffix(".flac"), np.stack([samples, samples], axis=1), 44100)
            if fmt != "flac":
                subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(flac), *_ENCODERS[fmt], str(target)],
                               check=True)
                flac.unlink()
        else:
            shutil.copyfile(made[n % (len(distinct) * len(REAL_FORMATS))], target)
        made.append(target)
    return made


def decode_only(tracks: list[Path], rate: int, spec: WindowSpec, workers: int) -> int:
    """The ceiling: ``workers`` processes decoding the windows the tagger would, and nothing else;
    returns the number of windows."""
    if workers == 0:
        return sum(len(decode_windows(t, rate, spec).windows) for t in tracks)
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        return sum(len(d.windows) for d in pool.map(decode_windows, tracks, [rate] * len(tracks),
                                                     [spec] * len(tracks), chunksize=4))


def machine() -> str:
    return (f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}")


def classify_real(args: argparse.Namespace, work: Path) -> None:
    """Tracks/s and windows/s per model family beside the decode-only ceiling (see the module)."""
    from tagger.engine import Classifier
    from trainer.runtime.resources import SHIPPED_BUNDLES

    start = time.perf_counter()
    tracks = real_tracks(work, args.real, args.clips)
    print(f"built {len(tracks)} tracks of {args.clips} real clips ({', '.join(REAL_FORMATS)}) in "
          f"{time.perf_counter() - start:.1f} s under {work}")
    print(machine())
    window = WindowChoice(max_windows=args.max_windows)  # each model's own windows, at most this many
    print(f"{'model':<18} {'job':<12} {'tracks/s':>9} {'windows/s':>10} {'of ceiling':>10} {'load':>5}")
    for name, bundle in SHIPPED_BUNDLES.items():
        classifier = Classifier.load(bundle, device=args.device, window=window)
        begin = time.perf_counter()
        windows = decode_only(tracks, classifier.sample_rate, classifier.window,
                              worker_count(args.workers, len(tracks), True))
        ceiling = len(tracks) / (time.perf_counter() - begin)
        print(f"{name:<18} {'decode only':<12} {ceiling:9.2f} {ceiling * windows / len(tracks):10.2f} "
              f"{'1.00':>10} {os.getloadavg()[0]:5.1f}", flush=True)
        with open_library(work / f"{name}.db") as lib:
            scan(lib, [work / "music"])
            begin = time.perf_counter()
            report = classify_library(lib, classifier, workers=args.workers)
            elapsed = time.perf_counter() - begin
        classifier.close()
        assert report.classified == len(tracks), report
        speed = len(tracks) / elapsed
        print(f"{name:<18} {'classify':<12} {speed:9.2f} {speed * windows / len(tracks):10.2f} "
              f"{speed / ceiling:10.2f} {os.getloadavg()[0]:5.1f}", flush=True)
    print(f"{windows / len(tracks):.1f} windows a track; goal: 10,000 tracks of 3 minutes in 10 minutes "
          f"= 16.7 tracks/s")


def timed(label: str, count: int, job: Callable[[], object], audio_s: float | None = None) -> object:
    start = time.perf_counter()
    result = job()
    elapsed = time.perf_counter() - start
    realtime = f"  {audio_s / elapsed:8.1f} x realtime" if audio_s else ""
    print(f"{label:<22} {count:6d} tracks  {elapsed:8.2f} s  {count / elapsed:9.1f} tracks/s{realtime}", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=2.0, help="length of each file")
    parser.add_argument("--model", type=Path, help="model bundle (default: the shipped model)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--workers", type=int, help="decoding processes (default: one per core)")
    parser.add_argument("--dir", type=Path, help="work folder (default: a temporary one, removed after)")
    parser.add_argument("--real", type=int, metavar="N", help="classify N real-length tracks with every shipped "
                        "model beside the decode-only ceiling (see above)")
    parser.add_argument("--clips", type=int, default=6, help="real clips of 30 s joined into each track (default 6)")
    parser.add_argument("--max-windows", type=int, help="windows per track (default: the tagger's)")
    args = parser.parse_args()
    if args.real:
        work = args.dir or Path(tempfile.mkdtemp(prefix="genre-tagger-bench-"))
        try:
            classify_real(args, work)
        finally:
            if args.dir is None:
                shutil.rmtree(work, ignore_errors=True)
        return

    from tagger.engine import Classifier

    work = args.dir or Path(tempfile.mkdtemp(prefix="genre-tagger-bench-"))
    try:
        start = time.perf_counter()
        audio_s = build_library(work, args.files, args.seconds)
        print(f"built {args.files} files ({', '.join(FORMATS)}) of {args.seconds:g} s in "
              f"{time.perf_counter() - start:.1f} s under {work}")
        print(f"{machine()}, load average {os.getloadavg()[0]:.1f} before starting")
        with open_library(work / "library.db") as lib:
            report = timed("first scan", args.files, lambda: scan(lib, [work / "music"]))
            assert report.added == args.files and not report.unreadable, report
            report = timed("rescan (unchanged)", args.files, lambda: scan(lib, [work / "music"]))
            assert report.unchanged == args.files, report

            start = time.perf_counter()
            classifier = Classifier.load(args.model, device=args.device)
            print(f"model {classifier.bundle_id} loaded in {time.perf_counter() - start:.1f} s "
                  f"on {classifier.device}")
            with TreeMemory() as memory:
                report = timed("classify", args.files,
                               lambda: classify_library(lib, classifier, workers=args.workers), audio_s)
            assert report.classified == args.files, report
            print(f"peak memory while classifying, this process and its workers: {memory.peak_mib:.0f} MiB")

            policy = WritePolicy(min_confidence=0.0)
            report = timed("write (dry run)", args.files, lambda: write_library(lib, policy, dry_run=True))
            report = timed("write", args.files, lambda: write_library(lib, policy))
            assert len(report.changes) == args.files, report
            report = timed("undo", args.files, lambda: undo(lib))
            assert len(report.changes) == args.files, report
            report = timed("rescan after undo", args.files, lambda: scan(lib, [work / "music"]))
            assert report.unchanged == args.files, report
        print(f"load average {os.getloadavg()[0]:.1f} at the end (other programs slow every figure)")
    finally:
        if args.dir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
