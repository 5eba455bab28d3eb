"""A synthetic genre collection: small, labelled, real audio files that any method can train on.

Six styles, each with its own tempo range, metre and rhythm pattern, chord vocabulary and preferred
instruments. Every clip draws its own tempo, key, instruments, brightness, mix levels, pattern
variations and noise floor, so the time-averaged spectrum of a clip says only part of its class:
the instruments overlap between styles, while tempo, metre and rhythm live in the time structure.

``generate`` writes ``<out>/<style>/<style>.NNNNN.wav`` (16-bit mono WAV, the GTZAN naming), and
each clip depends only on ``(seed, style, index)``: asking for more clips keeps the first ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import soundfile as sf

SAMPLE_RATE = 22050
TABLE_SIZE = 2048

# Chord qualities as semitone offsets from the chord root.
QUALITIES: dict[str, tuple[int, ...]] = {
    "maj": (0, 4, 7), "min": (0, 3, 7), "maj7": (0, 4, 7, 11), "min7": (0, 3, 7, 10),
    "dom7": (0, 4, 7, 10), "sus2": (0, 2, 7), "power": (0, 7, 12),
}


@dataclass(frozen=True)
class Timbre:
    """An additive instrument: harmonic amplitudes ``~ k ** -tilt`` (odd harmonics only if ``odd``),
    ``stretch`` detunes upper partials (bells), and an attack / decay / sustain envelope in seconds."""

    tilt: float
    n_harmonics: int
    attack_s: float
    decay_s: float
    sustain: float
    odd: bool = False
    stretch: float = 1.0


TIMBRES: dict[str, Timbre] = {
    "sine": Timbre(tilt=3.0, n_harmonics=2, attack_s=0.01, decay_s=0.4, sustain=0.6),
    "organ": Timbre(tilt=1.2, n_harmonics=8, attack_s=0.02, decay_s=0.2, sustain=0.9, odd=True),
    "saw": Timbre(tilt=1.0, n_harmonics=24, attack_s=0.005, decay_s=0.25, sustain=0.5),
    "square": Timbre(tilt=1.0, n_harmonics=24, attack_s=0.005, decay_s=0.15, sustain=0.4, odd=True),
    "pluck": Timbre(tilt=1.5, n_harmonics=12, attack_s=0.002, decay_s=0.18, sustain=0.0),
    "bell": Timbre(tilt=0.8, n_harmonics=6, attack_s=0.002, decay_s=0.6, sustain=0.0, stretch=1.07),
    "pad": Timbre(tilt=1.8, n_harmonics=10, attack_s=0.4, decay_s=1.0, sustain=0.8),
}


@dataclass(frozen=True)
class Style:
    """One class. Patterns are one bar of steps (``x`` a hit); ``progressions`` list chords as
    (semitones above the key, quality), one chord per ``bars_per_chord`` bars."""

    name: str
    tempo: tuple[float, float]          # quarter-note beats per minute
    beats_per_bar: int
    steps_per_beat: int
    kick: str
    snare: str
    hat: str
    chord: str
    bass: str
    chord_steps: float                  # how long a chord hit rings, in steps
    progressions: tuple[tuple[tuple[int, str], ...], ...]
    chord_timbres: tuple[str, ...]
    bass_timbres: tuple[str, ...]
    bars_per_chord: int = 1
    walking_bass: bool = False
    open_hat: bool = False


STYLES: tuple[Style, ...] = (
    Style("ambient", (60, 80), 4, 4, kick="", snare="", hat="",
          chord="x...............", bass="x.......x.......", chord_steps=32,
          progressions=(((0, "maj7"), (5, "maj7")), ((0, "sus2"), (10, "sus2")), ((0, "min7"), (8, "maj7"))),
          chord_timbres=("pad", "organ", "sine", "bell"), bass_timbres=("sine", "pad"), bars_per_chord=2),
    Style("waltz", (120, 160), 3, 2, kick="x.....", snare="", hat="",
          chord="..x.x.", bass="x.....", chord_steps=1.5,
          progressions=(((0, "maj"), (5, "maj"), (7, "maj"), (0, "maj")),
                        ((0, "maj"), (9, "min"), (5, "maj"), (7, "dom7"))),
          chord_timbres=("pluck", "bell", "organ", "saw"), bass_timbres=("pluck", "sine", "organ")),
    Style("march", (104, 124), 4, 4, kick="x.......x.......", snare="....x.x.....x.xx", hat="",
          chord="x...x...x...x...", bass="x.......x.......", chord_steps=2,
          progressions=(((0, "maj"), (7, "maj"), (0, "maj"), (5, "maj")),
                        ((0, "maj"), (5, "maj"), (7, "maj"), (7, "maj"))),
          chord_timbres=("saw", "square", "organ", "pluck"), bass_timbres=("saw", "square", "sine")),
    Style("techno", (122, 136), 4, 4, kick="x...x...x...x...", snare="....x.......x...", hat="..x...x...x...x.",
          chord="...x.....x......", bass="x.xx.xx.x.xx.xx.", chord_steps=1.5,
          progressions=(((0, "min"), (0, "min"), (8, "maj"), (10, "maj")), ((0, "power"), (3, "power"))),
          chord_timbres=("saw", "square", "organ", "pluck"), bass_timbres=("saw", "square"), open_hat=True),
    Style("swing", (130, 180), 4, 3, kick="x.....x.....", snare="........x...", hat="x..x.xx..x.x",
          chord="...x.....x..", bass="x..x..x..x..", chord_steps=2,
          progressions=(((2, "min7"), (7, "dom7"), (0, "maj7"), (9, "dom7")),
                        ((0, "maj7"), (9, "min7"), (2, "min7"), (7, "dom7"))),
          chord_timbres=("organ", "bell", "pluck", "pad"), bass_timbres=("pluck", "sine"), walking_bass=True),
    Style("reggae", (66, 84), 4, 4, kick="........x.......", snare="........x.......", hat="x.x.x.x.x.x.x.x.",
          chord="..x...x...x...x.", bass="x..x..x...x.x...", chord_steps=1,
          progressions=(((0, "min"), (5, "min")), ((0, "maj"), (7, "maj"), (9, "min"), (5, "maj"))),
          chord_timbres=("organ", "pluck", "square", "saw"), bass_timbres=("sine", "organ")),
)
GENRES: tuple[str, ...] = tuple(s.name for s in STYLES)
# Probability that a part takes an instrument from the style's own list rather than any instrument.
STYLE_TIMBRE_P = 0.6


@lru_cache(maxsize=512)
def _wavetable(timbre: Timbre, max_harmonic: int, tilt_shift: float) -> np.ndarray:
    """One period (TABLE_SIZE samples) of the timbre, band-limited to ``max_harmonic``."""
    k = np.arange(1, min(timbre.n_harmonics, max_harmonic) + 1)
    amps = k ** -(timbre.tilt + tilt_shift)
    if timbre.odd:
        amps[1::2] = 0.0
    phase = 2 * np.pi * np.arange(TABLE_SIZE) / TABLE_SIZE
    table = (amps[:, None] * np.sin(k[:, None] * timbre.stretch ** (k[:, None] - 1) * phase)).sum(0)
    return (table / np.abs(table).max()).astype(np.float32)


def _note(freq: float, length: int, timbre: Timbre, tilt_shift: float, sr: int) -> np.ndarray:
    """A note of ``length`` samples at ``freq`` Hz with the timbre's envelope and a 5 ms release."""
    table = _wavetable(timbre, max(1, int(sr / 2 / freq)), round(tilt_shift, 1))
    t = np.arange(length) / sr
    index = (t * freq * TABLE_SIZE).astype(np.int64) % TABLE_SIZE
    env = np.minimum(t / timbre.attack_s, 1.0) * (timbre.sustain + (1 - timbre.sustain) * np.exp(-t / timbre.decay_s))
    env *= np.minimum((length - np.arange(length)) / (0.005 * sr), 1.0)
    return table[index] * env.astype(np.float32)


def _drums(rng: np.random.Generator, sr: int) -> dict[str, np.ndarray]:
    """One kit per clip: kick (pitch-swept sine), snare (noise + tone), closed and open hat."""
    def decay(seconds: float, tau: float) -> np.ndarray:
        return np.exp(-np.arange(int(seconds * sr)) / (tau * sr))

    t = np.arange(int(0.35 * sr)) / sr
    f0, f1 = rng.uniform(110, 180), rng.uniform(40, 60)
    kick = np.sin(2 * np.pi * np.cumsum(f1 + (f0 - f1) * np.exp(-t / 0.03)) / sr) * decay(0.35, rng.uniform(0.08, 0.15))
    body = np.sin(2 * np.pi * rng.uniform(160, 240) * t[: int(0.2 * sr)])
    snare = (0.7 * np.diff(rng.standard_normal(int(0.2 * sr) + 1)) + 0.5 * body) * decay(0.2, rng.uniform(0.04, 0.08))
    hat = np.diff(rng.standard_normal(int(0.3 * sr) + 2), 2)
    return {"kick": kick, "snare": 0.5 * snare, "hat": 0.25 * hat[: int(0.06 * sr)] * decay(0.06, 0.015),
            "open_hat": 0.2 * hat * decay(0.3, 0.08)}


def _midi_hz(midi: float) -> float:
    return 440.0 * 2 ** ((midi - 69) / 12)


def _pick_timbre(rng: np.random.Generator, preferred: tuple[str, ...]) -> Timbre:
    pool = preferred if rng.random() < STYLE_TIMBRE_P else tuple(TIMBRES)
    return TIMBRES[pool[rng.integers(len(pool))]]


def render(style: Style, duration_s: float, rng: np.random.Generator, sr: int = SAMPLE_RATE) -> np.ndarray:
    """One clip of ``style``: mono float32, ``round(duration_s * sr)`` samples, peak below 1."""
    n = int(round(duration_s * sr))
    out = np.zeros(n + 4 * sr, dtype=np.float32)  # room for notes ringing past the end
    step_s = 60.0 / rng.uniform(*style.tempo) / style.steps_per_beat
    steps_per_bar = style.beats_per_bar * style.steps_per_beat
    key = int(rng.integers(45, 57))                 # A2..G#3
    progression = style.progressions[rng.integers(len(style.progressions))]
    chord_timbre, bass_timbre = _pick_timbre(rng, style.chord_timbres), _pick_timbre(rng, style.bass_timbres)
    tilt = rng.uniform(-0.4, 0.8)                   # brighter or duller than the instrument's default
    levels = {part: 10 ** (rng.uniform(-6, 3) / 20) for part in ("kick", "snare", "hat", "chord", "bass")}
    kit = _drums(rng, sr)
    drop_p = rng.uniform(0.0, 0.15)                 # played hits that this performance leaves out
    swing = rng.uniform(0.0, 0.3) if style.steps_per_beat == 4 else 0.0

    def place(signal: np.ndarray, step: int, gain: float) -> None:
        delay = swing * step_s if step % 2 else 0.0
        start = int((step * step_s + delay + rng.normal(0, 0.004)) * sr)
        if 0 <= start < n:
            out[start : start + len(signal)] += gain * signal[: len(out) - start]

    n_steps = int(duration_s / step_s) + 1
    offset = int(rng.integers(steps_per_bar))       # clips start anywhere in the bar
    walk = key - 12
    for step in range(n_steps):
        pos = (step + offset) % steps_per_bar
        bar = (step + offset) // steps_per_bar
        root, quality = progression[(bar // style.bars_per_chord) % len(progression)]
        for part, pattern in (("kick", style.kick), ("snare", style.snare), ("hat", style.hat)):
            if pattern and pattern[pos] == "x" and rng.random() >= drop_p:
                sound = "open_hat" if part == "hat" and style.open_hat else part
                place(kit[sound], step, levels[part] * rng.uniform(0.7, 1.0))
        if style.chord[pos] == "x" and rng.random() >= drop_p:
            length = int(style.chord_steps * step_s * sr)
            notes = [_note(_midi_hz(key + 12 + root + i), length, chord_timbre, tilt, sr) for i in QUALITIES[quality]]
            place(np.sum(notes, axis=0) / len(notes), step, levels["chord"] * 0.5)
        if style.bass[pos] == "x":
            if style.walking_bass:   # a tone or semitone towards a chord tone; land on it when close or far
                target = key - 12 + root + int(rng.choice(QUALITIES[quality]))
                gap = target - walk
                walk = target if abs(gap) <= 2 or abs(gap) > 7 else walk + int(np.sign(gap)) * int(rng.integers(1, 3))
                pitch = walk
            else:
                pitch = key - 12 + root + (7 if rng.random() < 0.2 else 0)
            length = int(min(style.steps_per_beat, 4) * step_s * sr)
            place(_note(_midi_hz(pitch), length, bass_timbre, tilt, sr), step, levels["bass"] * 0.6)
    clip = out[:n] + rng.uniform(0.001, 0.02) * rng.standard_normal(n).astype(np.float32)
    return (clip * rng.uniform(0.3, 0.9) / max(float(np.abs(clip).max()), 1e-6)).astype(np.float32)


def generate(out_dir: Path | str, n_per_class: int = 20, duration_s: float = 10.0,
             sample_rate: int = SAMPLE_RATE, seed: int = 0) -> Path:
    """Write ``n_per_class`` clips of ``duration_s`` seconds per style under ``out_dir``; return it.

    Files are ``<out_dir>/<style>/<style>.NNNNN.wav`` (16-bit PCM at ``sample_rate`` Hz).
    """
    out = Path(out_dir)
    for class_index, style in enumerate(STYLES):
        folder = out / style.name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(n_per_class):
            rng = np.random.default_rng([seed, class_index, i])
            clip = render(style, duration_s, rng, sample_rate)
            sf.write(str(folder / f"{style.name}.{i:05d}.wav"), clip, sample_rate, subtype="PCM_16")
    return out
