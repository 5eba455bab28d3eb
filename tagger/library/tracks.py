"""Small track-level operations the CLI and the GUI share."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import select, update

from tagger.library.db import Library, LibraryError, among
from tagger.library.schema import Track


def track_ids_for(lib: Library, paths: Iterable[Path | str]) -> dict[str, int | None]:
    """The catalogue id of each given file (``None`` if unknown), matched on its absolute path."""
    wanted = {str(Path(p).expanduser().resolve()): None for p in paths}
    with lib.session() as session:
        found = dict(session.execute(select(Track.path, Track.id).where(among(Track.path, wanted))).all())
    return {p: found.get(p) for p in wanted}


def confirm_genres(lib: Library, track_ids: Iterable[int], genres: list[str] | None) -> None:
    """Record the user's own genres for tracks (``None`` forgets them). Confirmed genres win over
    predictions when writing tags and in the taste profile, and label the user's data for training."""
    if genres is not None:  # each genre once, as first written, without stray spaces
        unique: dict[str, str] = {}
        for genre in genres:
            unique.setdefault(genre.strip().casefold(), genre.strip())
        if not unique or "" in unique:
            raise LibraryError("a genre cannot be empty")
        genres = list(unique.values())
    with lib.session() as session:
        session.execute(update(Track).where(among(Track.id, track_ids)).values(confirmed_genres=genres))
        session.commit()


