"""The listing over a 20,000-track catalogue: filters select in SQL what the planted tracks say."""

from __future__ import annotations

import pytest

from tagger.library.listing import Filters, list_rows, track_ids
from tagger.library.queries import TrackIds
from tagger.library.review import AcceptRule, accept_predictions
from tests.tagger.library.helpers import BIG_N as N
from tests.tagger.library.helpers import BIG_TRACKS as TRACKS
from tests.tagger.library.helpers import big_library, planted_status  # noqa: F401


@pytest.mark.parametrize("filters, expected", [
    (Filters(folder="a"), lambda t: t["folder"] == "a"),
    (Filters(genre="jazz"), lambda t: t["predicted"] == "jazz"),
    (Filters(genre="ROCK"), lambda t: t["predicted"] == "rock" or t["confirmed"] == ["rock"]),
    (Filters(min_confidence=0.9), lambda t: t["predicted"] is not None and t["confidence"] >= 0.9),
    (Filters(max_confidence=0.1), lambda t: t["predicted"] is not None and t["confidence"] <= 0.1),
    (Filters(status="accepted"), lambda t: planted_status(t) == "accepted"),
    (Filters(status="review"), lambda t: planted_status(t) == "review"),
    (Filters(status="unclassified"), lambda t: planted_status(t) == "unclassified"),
    (Filters(status="missing"), lambda t: planted_status(t) == "missing"),
    (Filters(genre="metal", min_confidence=0.5, folder="b"),
     lambda t: t["predicted"] == "metal" and t["confidence"] >= 0.5),
])
def test_filters(big_library, filters, expected):  # noqa: F811
    lib, folders = big_library
    root = folders[0].rsplit("/", 1)[0]
    folder = f"{root}/{filters.folder}" if filters.folder else None
    got = track_ids(lib, Filters(folders=folders, folder=folder, genre=filters.genre,
                                 min_confidence=filters.min_confidence, max_confidence=filters.max_confidence,
                                 status=filters.status).query())
    assert len(got) == sum(map(expected, TRACKS))


def test_text_search_and_folder_scope(big_library):  # noqa: F811
    lib, folders = big_library
    assert len(track_ids(lib, Filters(folders=folders, text="song 0001").query())) == 10
    assert len(track_ids(lib, Filters(folders=folders[:1]).query())) == N // 2
    assert track_ids(lib, Filters(folders=()).query()) == []  # no folder, nothing shown
    assert len(track_ids(lib, Filters().query())) == N  # no folders named: the whole catalogue


def test_rows_come_sorted_with_empty_values_last(big_library):  # noqa: F811
    lib, folders = big_library
    listed = list_rows(lib, Filters(folders=folders, text="song 0000").query(), sort="confidence", descending=True)
    assert len(listed) == 10
    predicted = [t for t in TRACKS[:10] if t["predicted"]]
    assert [r.confidence for r in listed] == sorted((t["confidence"] for t in predicted), reverse=True) + [None] * 5


def test_accept_above_a_confidence_keeps_the_users_own_genres(big_library):  # noqa: F811
    lib, folders = big_library
    ids = track_ids(lib, Filters(folders=folders, status="review", min_confidence=0.95).query())
    accepted = accept_predictions(lib, TrackIds(ids + [1]), AcceptRule(min_confidence=0.95))
    assert len(accepted) == len(ids)  # track 1 is already accepted
    assert track_ids(lib, Filters(folders=folders, status="review", min_confidence=0.95).query()) == []
    assert len(track_ids(lib, Filters(folders=folders, status="accepted").query())) == \
        sum(planted_status(t) == "accepted" for t in TRACKS) + len(ids)
