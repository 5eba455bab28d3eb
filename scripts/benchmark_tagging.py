"""Benchmark tagging end to end, stage by stage: decode, features, model, and the whole classify run,
for the GTZAN-feature model (XGBoost) with the librosa engine (the reference) and the torch engine,
and for the default MusiCNN tagger (features: its mel; model: its network) with its CPU engine, the
torch network on the CPU, and, when present, CUDA, all in one run.

Every engine sees the same files in the same run, read once beforehand so that all find them in
the page cache. Stages are timed serially in this process on one core
(decode + windowing of every file, then features of every window, then the model on them);
"end to end" is ``Classifier.classify_paths`` as the tagger runs it, with its worker processes
(``--workers``, default one per core), started by the run; "again, warm" is a second run on the
same workers, as every run after the first in the app (a worker's start-up, and the FFmpeg
libraries a damaged file makes it load once, are not counted again). x-realtime is seconds of
audio per second of wall clock. Peak memory: the largest resident set of this process and its
workers together during the end to end runs (sampled from /proc every 0.1 s), and CUDA's peak.

Files: a folder you give (``--folder``, recursive), else the real GTZAN clips in
../shared/data/gtzan/genres_original (unreadable ones are reported and skipped).

Usage: python scripts/benchmark_tagging.py [--folder DIR] [--limit N] [--repeat N] [--workers N]
       [--model BUNDLE] [--patches K] [--engines librosa torch-cpu torch-cuda musicnn-cpu musicnn-torch-cpu musicnn-cuda]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from scripts.benchmark_support import TreeMemory  # noqa: E402
from tagger.engine import Classifier, TrackFailure  # noqa: E402
from tests.support import gtzan_dir  # noqa: E402
from trainer.runtime.audio import AUDIO_EXTENSIONS, UnreadableAudio, cut_windows, decode  # noqa: E402
from trainer.runtime.resources import SHIPPED_BUNDLES  # noqa: E402

ENGINES = {"librosa": ("cpu", True), "torch-cpu": ("cpu", False), "torch-cuda": ("cuda", False),
           "musicnn-cpu": ("cpu", False), "musicnn-torch-cpu": ("cpu", False), "musicnn-cuda": ("cuda", False)}
# The musicnn rows run the converted MSD tagger (the default model) on the same files: on the CPU by
# its numpy engine, or (musicnn-torch-cpu) by the torch network; the others the GTZAN-feature model.
MUSICNN = SHIPPED_BUNDLES["musicnn-msd"]
GTZAN_FEATURES = SHIPPED_BUNDLES["gtzan10-xgboost"]


def line(stage: str, seconds: float, tracks: int, windows: int, audio_s: float) -> None:
    print(f"  {stage:<14} {seconds:9.2f} s {tracks / seconds:9.2f} tr/s {windows / seconds:10.1f} win/s "
          f"{seconds / max(windows, 1) * 1e3:10.1f} ms/win {audio_s / seconds:9.1f}x realtime", flush=True)


def run_engine(name: str, files: list[Path], model: Path | None, workers: int, repeat: int,
               patches: int | None) -> None:
    import torch
    from threadpoolctl import threadpool_limits

    device, exact = ENGINES[name]
    classifier = Classifier.load(model, device=device, exact_features=exact, patches=patches)
    if name == "musicnn-torch-cpu":
        classifier.bundle.model.engine = "torch"
    musicnn = name.startswith("musicnn")
    print(f"{name}: features {classifier.features}, model {classifier.bundle_id} on {classifier.device}")
    rate = classifier.sample_rate

    for path in files:  # untimed: load the decoders, put every file in the page cache
        try:
            decode(path, rate)
        except UnreadableAudio:
            pass
    started = time.perf_counter()
    windows, audio_s = [], 0.0
    for path in files:
        try:
            audio = decode(path, rate)
        except UnreadableAudio:
            continue
        audio_s += audio.duration_s
        windows.append(cut_windows(audio.samples, rate, classifier.window).frames)
    decoded = time.perf_counter() - started
    n_tracks, frames = len(windows), np.concatenate(windows)
    line("decode", decoded, n_tracks, len(frames), audio_s)

    threads = torch.get_num_threads()
    with threadpool_limits(1):  # one core for the stages, as in the tagger's workers
        torch.set_num_threads(1)
        classifier.bundle.model.predict_proba(classifier.pipeline(frames[:1]))  # filterbanks, numba, weights: not timed
        if device == "cuda":
            torch.cuda.reset_peak_memory_stats()
            torch.cuda.synchronize()
        started = time.perf_counter()
        features = classifier.pipeline(frames)
        line("mel" if musicnn else "features", time.perf_counter() - started, n_tracks, len(frames), audio_s)
        started = time.perf_counter()
        classifier.bundle.model.predict_proba(features)
        line("network" if musicnn else "model", time.perf_counter() - started, n_tracks, len(frames), audio_s)
    torch.set_num_threads(threads)

    with TreeMemory() as memory:
        for run in ("end to end", "again, warm"):   # the second run finds the workers started and loaded
            started = time.perf_counter()
            results = list(classifier.classify_paths(files * repeat, workers=workers))
            elapsed = time.perf_counter() - started
            done = [r for r in results if not isinstance(r, TrackFailure)]
            line(f"{run} ({workers}w)", elapsed, len(done), sum(r.n_windows for r in done),
                 sum(r.duration_s for r in done))
    classifier.close()
    gpu = f", CUDA peak {torch.cuda.max_memory_allocated() / 2**20:.0f} MiB" if device == "cuda" else ""
    print(f"  peak memory of the end to end run, this process and its workers: {memory.peak_mib:.0f} MiB{gpu}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folder", type=Path, help="music folder (default: the real GTZAN clips)")
    parser.add_argument("--limit", type=int, help="use at most this many files")
    parser.add_argument("--repeat", type=int, default=1,
                        help="end to end: classify the file list this many times over (a bigger library)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--model", type=Path, help="model bundle of the librosa and torch rows (default: the "
                        "shipped GTZAN-feature model, gtzan10-xgboost)")
    parser.add_argument("--patches", type=int, help="musicnn rows: judge this many 3-s patches of each window "
                        "(default: the tagger's own policy)")
    parser.add_argument("--engines", nargs="+", choices=list(ENGINES), default=list(ENGINES))
    args = parser.parse_args()

    import torch

    folder = args.folder or gtzan_dir() / "genres_original"
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS)[: args.limit]
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}"
          + (f", {torch.cuda.get_device_name()}" if torch.cuda.is_available() else "") + f"; {len(files)} files in {folder}; "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for name in args.engines:
        if name.endswith("cuda") and not torch.cuda.is_available():
            print(f"{name}: no CUDA device, skipped")
            continue
        run_engine(name, files, MUSICNN if name.startswith("musicnn") else args.model or GTZAN_FEATURES,
                   args.workers, args.repeat, args.patches)


if __name__ == "__main__":
    main()
