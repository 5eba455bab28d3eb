"""The library table's model over a 20,000-track catalogue: rows are served lazily, a page at a
time, and filtering and sorting happen in SQL."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from sqlalchemy import insert

from tagger.gui.catalogue import COLUMNS, Filters, accept_predictions, track_ids
from tagger.gui.library_model import TRACK_ID_ROLE, LibraryModel
from tagger.library import Model, Prediction, Track, open_library

N = 20_000
GENRES = ["blues", "jazz", "rock", "metal"]


def planted(i: int) -> dict:
    """Track i: folder a or b; every other one predicted; every 10th accepted; a few missing."""
    return {"folder": "a" if i % 2 else "b",
            "predicted": GENRES[(i // 2) % 4] if i % 2 == 0 else None,
            "confidence": (i % 100) / 100,
            "confirmed": ["rock"] if i % 10 == 0 else None,
            "status": "missing" if i % 1000 == 1 else "ok"}


TRACKS = [planted(i) for i in range(N)]


def state(t: dict) -> str:
    if t["status"] != "ok":
        return t["status"]
    return "accepted" if t["confirmed"] else "review" if t["predicted"] else "unclassified"


@pytest.fixture(scope="module")
def big_library(tmp_path_factory):
    root = tmp_path_factory.mktemp("big")
    lib = open_library(root / "library.db")
    with lib.engine.begin() as conn:
        conn.execute(insert(Model), [{"id": 1, "bundle_id": "m1", "labels": GENRES, "active": True}])
        conn.execute(insert(Track), [
            {"id": i + 1, "path": f"{root}/{t['folder']}/track{i:05d}.flac", "size": 1, "mtime_ns": 1,
             "title": f"Song {i:05d}", "artist": f"Artist {i % 97}", "genres": [],
             "confirmed_genres": t["confirmed"], "status": t["status"]}
            for i, t in enumerate(TRACKS)])
        conn.execute(insert(Prediction), [
            {"track_id": i + 1, "model_id": 1, "genre": t["predicted"], "confidence": t["confidence"],
             "probs": [0.25] * 4, "n_windows": 1, "padded": False}
            for i, t in enumerate(TRACKS) if t["predicted"]])
    yield lib, (f"{root}/a", f"{root}/b")
    lib.close()


def test_twenty_thousand_rows_are_served_lazily(qtbot, big_library):
    lib, folders = big_library
    model = LibraryModel()
    model.set_library(lib)
    model.set_filters(Filters(folders=folders))
    assert model.rowCount() == N
    assert model.loaded_rows == 0  # counting needs no row
    far = model.index(N - 1, 0)
    assert model.data(far) == "Song 19999"
    assert model.loaded_rows == model.PAGE  # one page, not the library
    assert model.data(far, TRACK_ID_ROLE) == N
    for row in range(0, N, 97):  # scrolling through keeps a bounded cache
        model.data(model.index(row, 0))
    assert model.loaded_rows <= model.PAGE * model.MAX_PAGES


def test_sorting_happens_in_sql_with_empty_values_last(qtbot, big_library):
    lib, folders = big_library
    model = LibraryModel()
    model.set_library(lib)
    model.set_filters(Filters(folders=folders))
    confidence = list(COLUMNS).index("confidence")
    model.sort(confidence, Qt.SortOrder.DescendingOrder)
    assert model.data(model.index(0, confidence)) == "98%"
    assert model.data(model.index(N - 1, confidence)) == ""
    assert model.loaded_rows == 2 * model.PAGE
    model.sort(0, Qt.SortOrder.DescendingOrder)
    assert model.data(model.index(0, 0)) == "Song 19999"


@pytest.mark.parametrize("filters, expected", [
    (Filters(folder="a"), lambda t: t["folder"] == "a"),
    (Filters(genre="jazz"), lambda t: t["predicted"] == "jazz"),
    (Filters(genre="ROCK"), lambda t: t["predicted"] == "rock" or t["confirmed"] == ["rock"]),
    (Filters(min_confidence=0.9), lambda t: t["predicted"] is not None and t["confidence"] >= 0.9),
    (Filters(status="accepted"), lambda t: state(t) == "accepted"),
    (Filters(status="review"), lambda t: state(t) == "review"),
    (Filters(status="unclassified"), lambda t: state(t) == "unclassified"),
    (Filters(status="missing"), lambda t: state(t) == "missing"),
    (Filters(genre="metal", min_confidence=0.5, folder="b"),
     lambda t: t["predicted"] == "metal" and t["confidence"] >= 0.5),
])
def test_filters(big_library, filters, expected):
    lib, folders = big_library
    root = folders[0].rsplit("/", 1)[0]
    folder = f"{root}/{filters.folder}" if filters.folder else None
    got = track_ids(lib, Filters(folders=folders, folder=folder, genre=filters.genre,
                                 min_confidence=filters.min_confidence, status=filters.status))
    assert len(got) == sum(map(expected, TRACKS))


def test_text_search_and_folder_scope(big_library):
    lib, folders = big_library
    assert len(track_ids(lib, Filters(folders=folders, text="song 0001"))) == 10
    assert len(track_ids(lib, Filters(folders=folders[:1]))) == N // 2
    assert track_ids(lib, Filters()) == []  # no folder, nothing shown


def test_accept_above_a_confidence_keeps_the_users_own_genres(big_library):
    lib, folders = big_library
    ids = track_ids(lib, Filters(folders=folders, status="review", min_confidence=0.95))
    assert accept_predictions(lib, ids + [1], min_confidence=0.95) == len(ids)  # track 1 is already accepted
    assert track_ids(lib, Filters(folders=folders, status="review", min_confidence=0.95)) == []
    assert len(track_ids(lib, Filters(folders=folders, status="accepted"))) == \
        sum(state(t) == "accepted" for t in TRACKS) + len(ids)
