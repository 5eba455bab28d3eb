"""The user's confirmed genres as training data: what retraining from the library learns from."""

from __future__ import annotations

import os
from collections.abc import Sequence

from sqlalchemy import func, or_, select

from tagger.library.db import Library
from tagger.library.models import Track, TrackStatus


def confirmed_examples(lib: Library, folders: Sequence[str] = ()) -> list[tuple[str, str, str]]:
    """(song id, path, genre) of every readable track with a confirmed genre, inside ``folders``
    when given (a prefix match on whole folder names); the first confirmed genre is the label."""
    query = select(Track.id, Track.path, Track.confirmed_genres).where(
        Track.status == TrackStatus.OK, Track.confirmed_genres.is_not(None))
    if folders:
        prefixes = [os.path.join(folder, "") for folder in folders]
        # compare the prefix exactly: LIKE would treat % and _ in folder names as wildcards
        query = query.where(or_(*[func.substr(Track.path, 1, len(p)) == p for p in prefixes]))
    with lib.session() as session:
        return [(str(tid), path, genres[0]) for tid, path, genres in session.execute(query.order_by(Track.id))
                if genres]
