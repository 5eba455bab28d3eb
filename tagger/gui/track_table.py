"""The library table: a Qt model over the catalogue that stays smooth at tens of thousands of rows.

Filtering and sorting happen in SQL and yield only the ordered track ids (a few ints per row);
the columns are fetched a page at a time when the view first paints those rows, and only a
bounded number of pages is kept. Refreshing while a job runs keeps the pages' identity, so the
view neither jumps nor loses its selection when the same rows just got new values.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget
from sqlalchemy.exc import SQLAlchemyError

from tagger.library import Library, listing
from tagger.library.listing import Filters, folder_of
from tagger.library.queries import STATUSES, Row

#: Table columns: key (a ``tagger.library.listing.SORT_KEYS`` key) -> title, in the order shown.
COLUMNS: dict[str, str] = {
    "title": "Title",
    "artist": "Artist",
    "album": "Album",
    "genres": "Current genre",
    "predicted": "Predicted genre",
    "confidence": "Confidence",
    "confirmed": "Accepted genre",
    "status": "Status",
    "file": "File",
    "folder": "Folder",
}
_KEYS = list(COLUMNS)
_STATE_TITLES = STATUSES | {"written": "Written"}
_STATE_COLOURS = {"accepted": QColor("#1b7f3b"), "written": QColor("#1f5fa8"), "unreadable": QColor("#b3261e"),
                  "missing": QColor("#b3261e"), "unclassified": QColor("#6b6b6b")}
#: Role under which every cell gives its row's track id.
TRACK_ID_ROLE = Qt.ItemDataRole.UserRole + 1


class TrackTableModel(QAbstractTableModel):
    """Rows of the catalogue that ``filters`` lets through, sorted by one column."""

    PAGE = 200
    MAX_PAGES = 40

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lib: Library | None = None
        self.filters = Filters(folders=())
        self.sort_key = "title"
        self.descending = False
        self._ids: list[int] = []
        self._row_of: dict[int, int] | None = None
        self._pages: OrderedDict[int, list[Row | None]] = OrderedDict()

    # Qt model interface

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._ids)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(_KEYS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[_KEYS[section]]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        if role == TRACK_ID_ROLE:
            return self._ids[index.row()]
        if role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.ForegroundRole,
                        Qt.ItemDataRole.TextAlignmentRole):
            return None
        row = self.row(index.row())
        if row is None:
            return None
        key = _KEYS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return folder_of(row.path, self.filters.folders or ()) if key == "folder" else self._display(row, key)
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{row.path}\n{row.error}" if row.error else row.path
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return (Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter) if key == "confidence" else None
        return _STATE_COLOURS.get(row.shown_status) if key == "status" else None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.sort_key = _KEYS[column]
        self.descending = order == Qt.SortOrder.DescendingOrder
        self.refresh()

    @staticmethod
    def _display(row: Row, key: str) -> str:
        if key == "title":
            return row.title or os.path.splitext(os.path.basename(row.path))[0]
        if key == "genres":
            return "; ".join(row.genres)
        if key == "confirmed":
            return "; ".join(row.confirmed or [])
        if key == "confidence":
            return "" if row.confidence is None else f"{row.confidence:.0%}"
        if key == "status":
            return _STATE_TITLES[row.shown_status]
        if key == "file":
            return os.path.basename(row.path)
        return getattr(row, key) or ""

    # The catalogue behind it

    def set_library(self, lib: Library | None) -> None:
        self.lib = lib
        self.refresh()

    def set_filters(self, filters: Filters) -> None:
        self.filters = filters
        self.refresh()

    def refresh(self) -> None:
        """Query the ids again; unchanged ids keep the view as it is, with fresh values."""
        ids = listing.track_ids(self.lib, self.filters.query(), self.sort_key, self.descending) if self.lib else []
        self._pages.clear()
        if ids == self._ids:
            if ids:
                self.dataChanged.emit(self.index(0, 0), self.index(len(ids) - 1, len(_KEYS) - 1))
            return
        self.beginResetModel()
        self._ids, self._row_of = ids, None
        self.endResetModel()

    def row(self, position: int) -> Row | None:
        """The row at ``position``, loading its page if needed."""
        page = position // self.PAGE
        if page not in self._pages:
            ids = self._ids[page * self.PAGE:(page + 1) * self.PAGE]
            try:
                found = listing.rows(self.lib, ids) if self.lib and ids else {}
            except SQLAlchemyError:   # the catalogue vanished or broke under the window: blank rows, read
                return None           # again at the next paint; the job that meets it says what happened
            self._pages[page] = [found.get(i) for i in ids]
            if len(self._pages) > self.MAX_PAGES:
                self._pages.popitem(last=False)
        else:
            self._pages.move_to_end(page)
        return self._pages[page][position % self.PAGE]

    @property
    def ids(self) -> list[int]:
        """Every track id shown, in order (cheap: no row is loaded)."""
        return self._ids

    @property
    def loaded_rows(self) -> int:
        """How many rows are held in memory now."""
        return sum(len(p) for p in self._pages.values())

    def position_of(self, track_id: int) -> int | None:
        if self._row_of is None:
            self._row_of = {tid: i for i, tid in enumerate(self._ids)}
        return self._row_of.get(track_id)


#: Typical text of each column, in characters, where its title and values do not say it.
_TYPICAL_CHARS = {"title": 24, "artist": 16, "album": 16, "genres": 12, "predicted": 12, "confirmed": 12,
                  "file": 22}
#: Room for the padding and the sort arrow of a header section (px).
_HEADER_PADDING = 28


def default_widths(advance: Callable[[str], int]) -> dict[str, int]:
    """Each column's starting width for a font whose text width is ``advance(text)``: wide enough
    for its title (and sort arrow) and, for the status and confidence, every value it can show."""
    widths = {}
    for key, title in COLUMNS.items():
        values = list(_STATE_TITLES.values()) if key == "status" else ["100%"] if key == "confidence" else []
        values.append("n" * _TYPICAL_CHARS.get(key, 0))
        widths[key] = max([advance(title)] + [advance(v) for v in values]) + _HEADER_PADDING
    return widths


class TrackTableView(QTableView):
    """The table, set up for many rows: fixed row heights, sortable headers, row selection."""

    def __init__(self, model: TrackTableModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table_model = model
        self.setModel(model)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.setSortingEnabled(True)
        self.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        rows = self.verticalHeader()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(self.fontMetrics().height() + 8)
        rows.hide()
        header = self.horizontalHeader()
        header.setStretchLastSection(True)
        for key, width in default_widths(self.fontMetrics().horizontalAdvance).items():
            self.setColumnWidth(_KEYS.index(key), width)

    def selected_ids(self) -> list[int]:
        model = self.table_model
        return [model.ids[i.row()] for i in self.selectionModel().selectedRows()]

    def current_id(self) -> int | None:
        index = self.currentIndex()
        return self.table_model.ids[index.row()] if index.isValid() else None

    def select_ids(self, ids: Iterable[int], current: int | None = None) -> None:
        """Select the rows of ``ids`` that are shown (after a refresh that reset the model)."""
        model = self.table_model
        rows = sorted(r for r in (model.position_of(i) for i in ids) if r is not None)
        selection = QItemSelection()
        for start, end in _runs(rows):
            selection.select(model.index(start, 0), model.index(end, model.columnCount() - 1))
        flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        self.selectionModel().select(selection, flags)
        row = model.position_of(current) if current is not None else None
        if row is not None:
            self.selectionModel().setCurrentIndex(model.index(row, 0), QItemSelectionModel.SelectionFlag.NoUpdate)


def _runs(rows: Sequence[int]) -> list[tuple[int, int]]:
    """Sorted row numbers as (first, last) runs of consecutive rows."""
    runs: list[tuple[int, int]] = []
    for r in rows:
        if runs and r == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], r)
        else:
            runs.append((r, r))
    return runs
