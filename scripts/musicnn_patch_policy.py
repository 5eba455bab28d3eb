"""What classifying only some of a window's 3-s patches costs a shipped MusiCNN tagger (the MSD
tagger by default, ``--model musicnn-mtt`` for the MagnaTagATune one), measured on the real GTZAN
clips: each clip's first 30-s window (10 patches) judged on k patches spread evenly over it
(``MusicnnMel(patches=k)``) against all 10, for k = 1..10.

Per k: how often the top genre and the genres the tagger names (``tagger.genres.pick``: threshold
and at most two) are the same as with every patch; the mean and largest absolute change of a genre
probability; how often the clip's own GTZAN genre (jazz, rock; classical has no MSD genre) is among
the genres named. The network runs once per patch; the subsets only change which patches are averaged.
The excerpts (2-3 s) have one patch each, so no policy changes what they get.

Usage: python scripts/musicnn_patch_policy.py [--folder DIR] [--model musicnn-msd|musicnn-mtt]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tagger.engine import Classifier  # noqa: E402
from tagger.genres import pick  # noqa: E402
from tests.support import gtzan_dir  # noqa: E402
from trainer.runtime.audio import UnreadableAudio, cut_windows, decode  # noqa: E402
from trainer.runtime.features.musicnn import MusicnnMel  # noqa: E402
from trainer.runtime.resources import RESOURCES  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folder", type=Path, help="GTZAN-style folder of <genre>/*.wav (default: the real clips)")
    parser.add_argument("--model", choices=("musicnn-msd", "musicnn-mtt"), default="musicnn-msd")
    args = parser.parse_args()
    folder = args.folder or gtzan_dir() / "genres_original"
    classifier = Classifier.load(RESOURCES / args.model, device="cpu")
    method, vocabulary = classifier.bundle.model, classifier.vocabulary
    clips, probs = [], []
    for path in sorted(folder.rglob("*.wav")):
        try:
            audio = decode(path, classifier.sample_rate)
        except UnreadableAudio as exc:
            print(f"skipped {path.name}: {exc.reason}")
            continue
        window = cut_windows(audio.samples, classifier.sample_rate, classifier.window).frames[:1]
        probs.append(method.window_outputs(MusicnnMel()(window))["probs"][0])   # (patches, labels)
        clips.append(path.parent.name)
    count = probs[0].shape[0]
    print(f"{args.model}: {len(clips)} clips, {count} patches a window; against all {count} patches:")
    print("   k  same top genre  same genres named  mean |dp|  max |dp|  own genre named (jazz, rock)")

    def judged(p: np.ndarray) -> tuple[np.ndarray, list[str]]:
        genre = vocabulary.split(p[None])[0][0]
        return genre, pick(sorted(zip(vocabulary.genres, genre.tolist()), key=lambda kv: -kv[1]), vocabulary.threshold)

    full = [judged(p.mean(axis=0)) for p in probs]
    for k in range(1, count + 1):
        chosen = MusicnnMel(patches=k).chosen(count)
        part = [judged(p[chosen].mean(axis=0)) for p in probs]
        top = np.mean([f[1][:1] == s[1][:1] for f, s in zip(full, part)])
        named = np.mean([f[1] == s[1] for f, s in zip(full, part)])
        diff = np.abs(np.stack([f[0] - s[0] for f, s in zip(full, part)]))
        own = [genre.capitalize() in s[1] for genre, s in zip(clips, part) if genre in ("jazz", "rock")]
        print(f"  {k:2d}  {top:14.0%}  {named:17.0%}  {diff.mean():9.4f}  {diff.max():8.3f}  {np.mean(own):.0%} of {len(own)}")


if __name__ == "__main__":
    main()
