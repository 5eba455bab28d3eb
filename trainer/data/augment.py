"""Seed 004's data augmentation: time-stretched and shifted copies of the training clips.

Each training clip is used six times: as it is, stretched by 0.81, 0.93, 1.07 and 1.23 (a rate
above 1 speeds the clip up and shortens it; pitch is kept), and rotated by 5 seconds. Only the
training songs are augmented (``trainer.run.run_method`` asks for it on those only).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

STRETCH_RATES: tuple[float, ...] = (0.81, 0.93, 1.07, 1.23)
SHIFT_S = 5.0


@dataclass(frozen=True)
class Variant:
    """One way of presenting a clip; ``name`` is stable and goes into feature-cache keys."""

    name: str
    stretch: float = 1.0
    shift_s: float = 0.0

    def apply(self, samples: np.ndarray, sample_rate: int) -> np.ndarray:
        """The variant of mono ``samples``: about ``len(samples) / stretch`` samples, float32."""
        out = np.asarray(samples, dtype=np.float32)
        if self.stretch != 1.0:
            out = time_stretch(out, self.stretch)
        if self.shift_s:
            out = shift(out, sample_rate, self.shift_s)
        return out


ORIGINAL = Variant("original")


def time_stretch(samples: np.ndarray, rate: float) -> np.ndarray:
    """Phase-vocoder time stretch (pitch kept): ``rate`` 1.23 gives ``round(len / 1.23)`` samples."""
    import librosa

    return librosa.effects.time_stretch(np.asarray(samples, dtype=np.float32), rate=rate).astype(np.float32)


def shift(samples: np.ndarray, sample_rate: int, seconds: float) -> np.ndarray:
    """Rotate the clip ``seconds`` later: its last ``seconds`` wrap round to the start (length kept)."""
    return np.roll(samples, int(round(seconds * sample_rate)))


def seed_004_variants(stretch_rates: tuple[float, ...] = STRETCH_RATES,
                      shift_s: float = SHIFT_S) -> tuple[Variant, ...]:
    """The original plus each stretch plus the shift: six presentations of every training clip."""
    return (ORIGINAL,
            *(Variant(f"stretch-{rate:g}", stretch=rate) for rate in stretch_rates),
            Variant(f"shift-{shift_s:g}s", shift_s=shift_s))
