"""Small track-level operations the CLI and the GUI share."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import select, update

from tagger.library.db import Library, among
from tagger.library.models import Track


def track_ids_for(lib: Library, paths: Iterable[Path | str]) -> dict[str, int | None]:
    """The catalogue id of each given file (``None`` if unknown), matched on its absolute path."""
    wanted = {str(Path(p).expanduser().resolve()): None for p in paths}
    with lib.session() as session:
        found = dict(session.execute(select(Track.path, Track.id).where(among(Track.path, wanted))).all())
    return {p: found.get(p) for p in wanted}


def confirm_genres(lib: Library, track_ids: Iterable[int], genres: list[str] | None) -> None:
    """Record the user's own genres for tracks (``None`` forgets them). Confirmed genres win over
    predictions when writing tags and in the taste profile, and label the user's data for training."""
    with lib.session() as session:
        session.execute(update(Track).where(among(Track.id, track_ids)).values(confirmed_genres=genres))
        session.commit()


