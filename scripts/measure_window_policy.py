"""What judging a track on K of its windows costs against judging it on every window.

Tracks are made from the real GTZAN clips in ``../shared/data/gtzan/genres_original``: each joins
``--clips`` consecutive readable clips of one genre (6 clips: 3 minutes, 6 windows of 30 s), one
track starting at each clip. Every shipped model classifies every window of every track once; a
track's K-window answer is then the mean over the windows the tagger's policy picks at that cap
(``plan_windows``: spread evenly, first and last included; these tracks have no silent window),
compared with its every-window answer: the top genre, and for the multi-label MSD tagger also the
genres it would name (those above its threshold, at most 2). The GTZAN-10 models' agreement with
the clip's label is shown too, but they were trained on these clips: it is not an accuracy.

Usage: python scripts/measure_window_policy.py [--clips 6] [--caps 1 2 3 4 5] [--workers N]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from scripts.benchmark_library import real_tracks  # noqa: E402
from tagger.engine import Classifier, TrackResult  # noqa: E402
from trainer.runtime.audio import WindowSpec, plan_windows  # noqa: E402
from trainer.runtime.resources import SHIPPED_BUNDLES  # noqa: E402

EVERY = 10_000  # a cap no track here reaches


def at_cap(result: TrackResult, cap: int, rate: int) -> TrackResult:
    """``result`` (judged at ``rate`` Hz) as if only the windows the policy picks under ``cap``
    had been judged."""
    n = int(round(result.duration_s * rate))
    picked = {start for start, _ in plan_windows(n, rate, WindowSpec(max_windows=cap))}
    rows = [i for i, s in enumerate(result.window_starts_s) if int(round(s * rate)) in picked]
    window_probs = result.window_probs[rows]
    return replace(result, probs=window_probs.mean(axis=0), window_probs=window_probs,
                   window_starts_s=result.window_starts_s[rows])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=6, help="clips joined into a track (default 6)")
    parser.add_argument("--caps", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--workers", type=int, help="decoding processes (default: the tagger's choice)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="genre-tagger-windows-") as work:
        tracks = real_tracks(Path(work), 29, args.clips)  # one per readable clip: 10 + 9 + 10
        label = {t: t.parent.name for t in tracks}
        print(f"{len(tracks)} tracks of {args.clips} real clips; load average {os.getloadavg()[0]:.1f}")
        for name, bundle in SHIPPED_BUNDLES.items():
            begin = time.perf_counter()
            classifier = Classifier.load(bundle, device="cpu", window=WindowSpec(max_windows=EVERY))
            results = [r for r in classifier.classify_paths(tracks, workers=args.workers) if isinstance(r, TrackResult)]
            classifier.close()
            windows = sum(r.n_windows for r in results)
            print(f"\n{name}: {len(results)} tracks, {windows} windows, every window judged in "
                  f"{time.perf_counter() - begin:.0f} s (load average {os.getloadavg()[0]:.1f})")
            multi = results[0].threshold is not None
            head = f"{'windows':>8} {'same top genre':>15}" + (f" {'same genres':>12}" if multi else
                                                                   f" {'top = clip label':>17}")
            print(head)
            for cap in [*args.caps, EVERY]:
                capped = [at_cap(r, cap, classifier.sample_rate) for r in results]
                same = sum(c.top(1)[0][0] == r.top(1)[0][0] for c, r in zip(capped, results))
                row = f"{'every' if cap == EVERY else f'at most {cap}':>8} {same:>9}/{len(results)} "
                if multi:
                    agree = sum(c.genres() == r.genres() for c, r in zip(capped, results))
                    row += f"{agree:>7}/{len(results)}"
                else:
                    right = sum(c.top(1)[0][0] == label[c.path] for c in capped)
                    row += f"{right:>12}/{len(results)}"
                print(row, flush=True)


if __name__ == "__main__":
    main()
