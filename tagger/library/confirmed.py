"""The user's confirmed genres as training data: what retraining from the library learns from.

``genre-tagger confirmed --csv FILE`` writes them as ``path,genre,song`` rows, the file the trainer
reads to train from a library without importing the app.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from typing import TextIO

from tagger.library.db import Library
from tagger.library.queries import (
    Confirmed,
    FileState,
    Folder,
    Query,
    active_model_id,
    catalogue_select,
)
from tagger.library.schema import Track, TrackStatus

#: The CSV's columns: the audio file, its label, and the song it belongs to (for song-level splits).
CSV_FIELDS = ("path", "genre", "song")


def confirmed_examples(lib: Library, folders: Sequence[str] = ()) -> list[tuple[str, str, str]]:
    """(song id, path, genre) of every readable track with a confirmed genre, inside ``folders``
    when given (whole folder names); the first confirmed genre is the label."""
    query: Query = FileState(TrackStatus.OK) & Confirmed()
    if folders:
        query &= Folder(tuple(folders))
    with lib.session() as session:
        found = catalogue_select(active_model_id(session), Track.id, Track.path, Track.confirmed_genres)
        return [(str(tid), path, genres[0]) for tid, path, genres
                in session.execute(found.where(query.clause()).order_by(Track.id))]


def write_examples_csv(examples: Sequence[tuple[str, str, str]], out: TextIO) -> None:
    """``examples`` (song id, path, genre) as CSV rows under a ``CSV_FIELDS`` header. A path whose
    name is not UTF-8 keeps its bytes when ``out`` encodes with ``errors="surrogateescape"``."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    writer.writerows((path, genre, song) for song, path, genre in examples)
