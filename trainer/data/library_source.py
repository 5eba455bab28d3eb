"""The user's own music as training data: tracks whose genres the user has confirmed.

An ``AudioSource`` over a list of (song id, path, genre) that the tagger reads from its catalogue,
so these songs are decoded, windowed, featurised, cached and augmented exactly like an audio
folder. A genre with too few songs cannot be split by song into train and test; its songs are
left out and listed in ``skipped`` with the reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from trainer.data.audio import AudioDataset, Item
from trainer.data.audio_source import AudioSource
from trainer.data.feature_cache import FeatureCache
from trainer.runtime.audio import WindowSpec

#: Fewest confirmed songs a genre needs to take part in training.
MIN_SONGS_PER_GENRE = 5


def library_source(examples: Sequence[tuple[str, Path | str, str]], name: str, window: WindowSpec | None = None,
                   cache_dir: Path | str | None = None, use_cache: bool = True,
                   min_songs: int = MIN_SONGS_PER_GENRE) -> AudioSource:
    """A song source over ``examples`` (song id, audio path, genre); ``name`` describes where
    they came from in reports (e.g. the catalogue's path)."""
    counts = Counter(genre for _, _, genre in examples)
    items, skipped = [], []
    for song_id, path, genre in examples:
        if counts[genre] >= min_songs:
            items.append(Item(str(song_id), Path(path), genre))
        else:
            skipped.append((Path(path), f"only {counts[genre]} confirmed songs of {genre}; a genre needs {min_songs}"))
    if len({item.label for item in items}) < 2:
        raise ValueError(f"training needs at least two genres with {min_songs} or more confirmed songs each "
                         f"(found: {', '.join(f'{g} {n}' for g, n in counts.most_common()) or 'none'})")
    cache = FeatureCache(cache_dir) if use_cache else None
    return AudioSource(AudioDataset(Path(name), items, skipped), window or WindowSpec(), cache)
