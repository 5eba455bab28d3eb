"""Benchmark the library jobs on a synthetic library: tracks per second for the first scan, a
rescan, classifying, writing genres, and undoing the write.

Builds at least 2,000 short files in mixed formats (WAV, FLAC, Ogg Vorbis, Opus, MP3, M4A, AIFF;
a few distinct encodes per format, copied under different names), in a fresh catalogue.

Usage: python scripts/benchmark_library.py [--files 2000] [--seconds 2] [--model BUNDLE]
       [--device auto] [--workers N] [--dir DIR]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from scripts.benchmark_support import TreeMemory  # noqa: E402
from tagger.library import (  # noqa: E402
    WritePolicy,
    classify_library,
    open_library,
    scan,
    undo,
    write_library,
)
from tests.support import FORMATS, tone, write_audio  # noqa: E402

DISTINCT_PER_FORMAT = 6


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
    args = parser.parse_args()

    from tagger.engine import Classifier

    work = args.dir or Path(tempfile.mkdtemp(prefix="genre-tagger-bench-"))
    try:
        start = time.perf_counter()
        audio_s = build_library(work, args.files, args.seconds)
        print(f"built {args.files} files ({', '.join(FORMATS)}) of {args.seconds:g} s in "
              f"{time.perf_counter() - start:.1f} s under {work}")
        print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
              f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.1f} before starting")
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
