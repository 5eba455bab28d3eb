"""Benchmark the GTZAN CSV feature engines: librosa (the reference) against torch on the CPU and,
when present, on CUDA.

Windows are the real GTZAN clips in ../shared/data/gtzan/ cut as the tagger cuts them (one 30-s
window per clip, zero-padded when short), optionally followed by synthetic noise windows. The CPU
engines are timed in alternating rounds (librosa on one window, then torch on every window), so
both see the same load on a shared machine; the table gives the median over rounds of the
wall-clock and CPU seconds per window, windows per second, and the speed-up over librosa. CPU time
counts every thread of this process. With a model bundle whose pipeline is gtzan-csv (--model, or
the shipped default model), the CUDA rows also time features plus the model's probabilities.

Usage: python scripts/benchmark_features.py [--threads 1 2] [--rounds 5] [--noise 0] [--chunk N]
       [--gpu-windows 1024] [--gpu-chunk 64 256] [--model BUNDLE] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support import gtzan_dir  # noqa: E402
from trainer.runtime.audio import UnreadableAudio, cut_windows, decode  # noqa: E402
from trainer.runtime.resources import SHIPPED_BUNDLES  # noqa: E402

SAMPLE_RATE = 22050


def real_windows() -> tuple[np.ndarray, list[str]]:
    """One 30-s window per readable clip, and the names of the unreadable ones (skipped, not fatal)."""
    windows, skipped = [], []
    for path in sorted((gtzan_dir() / "genres_original").rglob("*.wav")):
        try:
            samples = decode(path, SAMPLE_RATE).samples
        except UnreadableAudio:
            skipped.append(path.name)
            continue
        windows.append(cut_windows(samples, SAMPLE_RATE).frames[0])
    return np.stack(windows), skipped


def per_window(job: Callable[[], object], windows: int) -> tuple[float, float]:
    """Wall-clock and CPU seconds per window of one run of ``job``."""
    wall, cpu = time.perf_counter(), time.process_time()
    job()
    return (time.perf_counter() - wall) / windows, (time.process_time() - cpu) / windows


def row(label: str, windows: int, samples: list[tuple[float, float]], base: tuple[float, float] | None) -> None:
    wall = statistics.median(s[0] for s in samples)
    cpu = statistics.median(s[1] for s in samples)
    speedup = f"{base[0] / wall:9.1f}x {base[1] / cpu:9.1f}x" if base else f"{'1.0x':>10} {'1.0x':>10}"
    print(f"{label:<34} {windows:7d} {wall * 1e3:10.1f} {cpu * 1e3:10.1f} {1 / wall:10.1f} {speedup}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, nargs="+", default=sorted({1, os.cpu_count() or 1}),
                        help="torch.set_num_threads values to time (default: 1 and one per core); the engine "
                             "computes that many windows side by side, each single-threaded")
    parser.add_argument("--rounds", type=int, default=5, help="alternating CPU rounds; the median is shown")
    parser.add_argument("--noise", type=int, default=0, help="synthetic noise windows added to the real ones")
    parser.add_argument("--chunk", type=int, help="torch CPU windows per chunk (default: the engine's)")
    parser.add_argument("--gpu-windows", type=int, default=1024, help="windows per CUDA run (clips repeated)")
    parser.add_argument("--gpu-chunk", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--model", type=Path, help="bundle with a gtzan-csv pipeline, for features plus model "
                                                   "(default: the shipped model, if it is one)")
    parser.add_argument("--repeat", type=int, default=3, help="CUDA runs per measurement; the median is shown")
    args = parser.parse_args()

    import torch

    from trainer.runtime.features.gtzan_csv import librosa_features
    from trainer.runtime.features.gtzan_torch import torch_features

    windows, skipped = real_windows()
    if args.noise:
        rng = np.random.default_rng(0)
        noise = (0.1 * rng.standard_normal((args.noise, windows.shape[1]))).astype(np.float32)
        windows = np.concatenate([windows, noise])
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}; "
          f"{len(windows)} windows of {windows.shape[1] / SAMPLE_RATE:.1f} s ({len(windows) - args.noise} real, "
          f"{args.noise} noise)" + (f"; skipped unreadable {', '.join(skipped)}" if skipped else ""))

    def cpu_torch() -> np.ndarray:
        return torch_features(windows, SAMPLE_RATE, device="cpu", chunk=args.chunk)

    librosa_features(windows[0])  # first calls compile (numba) and build filterbanks: not timed
    for threads in args.threads:
        torch.set_num_threads(threads)
        torch_features(windows[:2], SAMPLE_RATE, device="cpu", chunk=args.chunk)
    reference: list[tuple[float, float]] = []
    engine: dict[int, list[tuple[float, float]]] = {t: [] for t in args.threads}
    for r in range(args.rounds):
        reference.append(per_window(lambda: librosa_features(windows[r % len(windows)]), 1))
        for threads in args.threads:
            torch.set_num_threads(threads)
            engine[threads].append(per_window(cpu_torch, len(windows)))

    print(f"{'engine':<34} {'windows':>7} {'ms/window':>10} {'cpu ms/w':>10} {'windows/s':>10} "
          f"{'vs librosa: wall':>16} {'cpu':>4}")
    base = (statistics.median(s[0] for s in reference), statistics.median(s[1] for s in reference))
    row(f"librosa (reference), {args.rounds} rounds", args.rounds, reference, None)
    for threads, samples in engine.items():
        row(f"torch cpu, {threads} thread{'s' if threads > 1 else ''}", len(windows), samples, base)

    if not torch.cuda.is_available():
        print("no CUDA device: GPU rows skipped")
        return
    print(f"cuda: {torch.cuda.get_device_name()}")
    many = np.resize(windows, (args.gpu_windows, windows.shape[1]))
    method = None
    model = args.model or (SHIPPED_BUNDLES["gtzan10-xgboost"] if SHIPPED_BUNDLES["gtzan10-xgboost"].exists() else None)
    if model:
        from trainer.runtime import bundle as bundles

        loaded = bundles.load(model, device="cuda")
        if loaded.pipeline.name == "gtzan-csv":
            method = loaded.model
        else:
            print(f"{model} uses the {loaded.pipeline.name!r} pipeline, not gtzan-csv: no features + model rows")
    for chunk in args.gpu_chunk:
        def features(chunk: int = chunk) -> np.ndarray:
            out = torch_features(many, SAMPLE_RATE, device="cuda", chunk=chunk)
            torch.cuda.synchronize()
            return out

        features()
        samples = [per_window(features, len(many)) for _ in range(args.repeat)]
        row(f"torch cuda, chunk {chunk}", len(many), samples, base)
        if method is not None:
            samples = [per_window(lambda: method.predict_proba(features()), len(many)) for _ in range(args.repeat)]
            row(f"torch cuda + model, chunk {chunk}", len(many), samples, base)


if __name__ == "__main__":
    main()
