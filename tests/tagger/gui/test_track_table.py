"""The library table's model over a 20,000-track catalogue: rows are served lazily, a page at a
time, and sorting happens in SQL."""

from __future__ import annotations

from PySide6.QtCore import Qt

from tagger.gui.track_table import COLUMNS, TRACK_ID_ROLE, TrackTableModel
from tagger.library.listing import Filters
from tests.tagger.library.helpers import BIG_N as N
from tests.tagger.library.helpers import big_library  # noqa: F401


def test_twenty_thousand_rows_are_served_lazily(qtbot, big_library):  # noqa: F811
    lib, folders = big_library
    model = TrackTableModel()
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


def test_sorting_happens_in_sql_with_empty_values_last(qtbot, big_library):  # noqa: F811
    lib, folders = big_library
    model = TrackTableModel()
    model.set_library(lib)
    model.set_filters(Filters(folders=folders))
    confidence = list(COLUMNS).index("confidence")
    model.sort(confidence, Qt.SortOrder.DescendingOrder)
    assert model.data(model.index(0, confidence)) == "98%"
    assert model.data(model.index(N - 1, confidence)) == ""
    assert model.loaded_rows == 2 * model.PAGE
    model.sort(0, Qt.SortOrder.DescendingOrder)
    assert model.data(model.index(0, 0)) == "Song 19999"


def test_nothing_is_shown_before_the_window_names_its_folders(qtbot, big_library):  # noqa: F811
    lib, _ = big_library
    model = TrackTableModel()
    model.set_library(lib)
    assert model.rowCount() == 0
