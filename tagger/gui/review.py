"""Review and write: the bar above the table that accepts or changes genres, the preview of a
write (the CLI's ``write --dry-run`` with the same policy), and the write history for undo.

The widgets only collect choices and show reports; the window runs ``write_library``, ``undo``,
``accept_predictions`` and ``confirm_genres`` as jobs, exactly as the CLI calls them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from tagger.library import EditReport, SessionSummary, WritePolicy
from tagger.options import BY_KEY
from tagger.settings import Settings

#: Where a write applies: key -> title.
SCOPES: dict[str, str] = {
    "accepted": "Accepted tracks",
    "selected": "Selected tracks",
    "all": "Every track in my folders (predictions the policy allows, too)",
}
#: A preview lists at most this many files; the rest are counted.
PREVIEW_ROWS = 2000


class ReviewBar(QWidget):
    """Accept the selection's predictions, accept every shown track above a confidence, set or
    clear a genre, and open the write preview."""

    accept_selected = Signal()
    accept_above = Signal(float)
    set_genre = Signal(str)
    clear_selected = Signal()
    preview = Signal()

    def __init__(self, threshold: float, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.accept_button = QPushButton("Accept selected")
        self.accept_button.setToolTip("Accept the predicted genre of the selected tracks")
        self.accept_button.clicked.connect(self.accept_selected)
        self.threshold = _percent_box(threshold)
        self.bulk_button = QPushButton(f"Accept all above {threshold:.0%}")
        self.bulk_button.setToolTip("Accept the prediction of every track in the list at or above this confidence "
                                    "(genres you chose yourself are kept)")
        self.bulk_button.clicked.connect(lambda: self.accept_above.emit(self.threshold.value() / 100))
        self.threshold.valueChanged.connect(lambda v: self.bulk_button.setText(f"Accept all above {v:.0f}%"))
        self.genre = QComboBox(editable=True)
        self.genre.setMinimumContentsLength(12)
        self.genre.lineEdit().setPlaceholderText("genre")
        set_button = QPushButton("Set genre")
        set_button.setToolTip("Give the selected tracks this genre instead of the prediction")
        set_button.clicked.connect(self._set_genre)
        clear_button = QPushButton("Clear")
        clear_button.setToolTip("Forget the accepted genre of the selected tracks")
        clear_button.clicked.connect(self.clear_selected)
        self.preview_button = QPushButton("Preview and write…")
        self.preview_button.setDefault(True)
        self.preview_button.clicked.connect(self.preview)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.accept_button, self.threshold, self.bulk_button, QLabel("  "), self.genre, set_button,
                       clear_button):
            layout.addWidget(widget)
        layout.addStretch()
        layout.addWidget(self.preview_button)

    def set_genres(self, genres: list[str]) -> None:
        current = self.genre.currentText()
        self.genre.clear()
        self.genre.addItems(genres)
        self.genre.setCurrentText(current)

    def _set_genre(self) -> None:
        genre = self.genre.currentText().strip()
        if genre:
            self.set_genre.emit(genre)


def _percent_box(fraction: float) -> QSpinBox:
    box = QSpinBox()
    box.setRange(0, 100)
    box.setSuffix("%")
    box.setValue(round(fraction * 100))
    return box


class WritePreviewDialog(QDialog):
    """Choose what to write and how (the CLI's policy options), see every change, then write.

    ``run_preview(policy, scope)`` and ``run_write(policy, scope)`` are the window's; it calls
    ``show_preview`` with the dry run's report."""

    def __init__(self, settings: Settings, counts: dict[str, int],
                 run_preview: Callable[[WritePolicy, str], None], run_write: Callable[[WritePolicy, str], None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Preview and write genres")
        self.resize(820, 560)
        self._run_preview, self._run_write = run_preview, run_write
        self.scopes = QButtonGroup(self)
        scope_box = QGroupBox("Write to")
        scope_layout = QVBoxLayout(scope_box)
        for i, (key, title) in enumerate(SCOPES.items()):
            button = QRadioButton(f"{title} ({counts.get(key, 0)})" if key in counts else title)
            button.setProperty("scope", key)
            button.setEnabled(counts.get(key, 1) > 0)
            self.scopes.addButton(button, i)
            scope_layout.addWidget(button)
        default = next((b for b in self.scopes.buttons() if b.isEnabled()), self.scopes.buttons()[-1])
        default.setChecked(True)
        self.mode = QComboBox()
        for value, title in (BY_KEY["write_mode"].choices or {}).items():
            self.mode.addItem(title, value)
        self.mode.setCurrentIndex(self.mode.findData(settings["write_mode"]))
        self.min_confidence = _percent_box(settings["min_confidence"])
        self.min_confidence.setSpecialValueText(BY_KEY["min_confidence"].special)
        self.max_genres = QSpinBox(minimum=0, maximum=5)
        self.max_genres.setSpecialValueText(BY_KEY["max_genres"].special)
        self.max_genres.setValue(settings["max_genres"])
        self.id3v23 = QCheckBox(BY_KEY["id3v23"].title)
        self.id3v23.setChecked(settings["id3v23"])
        policy_box = QGroupBox("Policy (as genre-tagger write)")
        form = QFormLayout(policy_box)
        form.addRow(BY_KEY["write_mode"].title, self.mode)
        form.addRow(BY_KEY["min_confidence"].title, self.min_confidence)
        form.addRow(BY_KEY["max_genres"].title, self.max_genres)
        form.addRow("", self.id3v23)
        top = QHBoxLayout()
        top.addWidget(scope_box, 1)
        top.addWidget(policy_box, 1)
        self.mode.currentIndexChanged.connect(self._stale)
        self.min_confidence.valueChanged.connect(self._stale)
        self.max_genres.valueChanged.connect(self._stale)
        self.id3v23.toggled.connect(self._stale)
        self.scopes.idToggled.connect(self._stale)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["File", "Genre now", "Genre after"])
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.preview_button = self.buttons.addButton("Preview", QDialogButtonBox.ButtonRole.ActionRole)
        self.preview_button.clicked.connect(self.preview)
        self.write_button = self.buttons.addButton("Write", QDialogButtonBox.ButtonRole.AcceptRole)
        self.write_button.setEnabled(False)
        self.write_button.clicked.connect(self.write)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.buttons)

    @property
    def scope(self) -> str:
        return self.scopes.checkedButton().property("scope")

    def policy(self) -> WritePolicy:
        return WritePolicy(mode=self.mode.currentData(), min_confidence=self.min_confidence.value() / 100 or None,
                           max_genres=self.max_genres.value() or None, id3_version=3 if self.id3v23.isChecked() else 4)

    def _stale(self) -> None:
        self.write_button.setEnabled(False)
        self.summary.setText("The choices changed: press Preview to see what will be written.")

    def preview(self) -> None:
        self.write_button.setEnabled(False)
        self.summary.setText("Reading the files…")
        self._run_preview(self.policy(), self.scope)

    def show_preview(self, report: EditReport) -> None:
        changes = report.changes
        self.table.setRowCount(min(len(changes), PREVIEW_ROWS))
        for row, change in enumerate(changes[:PREVIEW_ROWS]):
            for column, text in enumerate((change.path, "; ".join(change.old_genres) or "(none)",
                                           "; ".join(change.new_genres))):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.table.setItem(row, column, item)
        lines = [f"<b>{len(changes)} file{'' if len(changes) == 1 else 's'} will change.</b>"]
        if len(changes) > PREVIEW_ROWS:
            lines.append(f"The first {PREVIEW_ROWS} are listed.")
        for reason, n in Counter(s.reason for s in report.skipped).most_common(4):
            lines.append(f"Left alone: {n} ({reason}).")
        if report.failed:
            lines.append(f"<span style='color:#b3261e'>Cannot be written: {len(report.failed)} — "
                         + "; ".join(f"{f.path}: {f.reason}" for f in report.failed[:3]) + "</span>")
        self.summary.setText(" ".join(lines))
        self.write_button.setEnabled(bool(changes))
        self.write_button.setText(f"Write {len(changes)} file{'' if len(changes) == 1 else 's'}")

    def preview_failed(self, message: str) -> None:
        self.summary.setText(f"<span style='color:#b3261e'>{message}</span>")

    def write(self) -> None:
        self._run_write(self.policy(), self.scope)
        self.accept()


class HistoryDialog(QDialog):
    """Write and undo sessions, newest first; undo any write session that still has changes."""

    undo_session = Signal(int)

    def __init__(self, sessions: list[SessionSummary], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Write history")
        self.resize(620, 360)
        self.table = QTableWidget(len(sessions), 5)
        self.table.setHorizontalHeaderLabels(["Session", "Kind", "Started", "Files changed", "Can be undone"])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        for row, s in enumerate(sessions):
            for column, value in enumerate((s.id, s.kind, s.started_at, s.done, s.revertible)):
                item = QTableWidgetItem(str(value))
                item.setData(Qt.ItemDataRole.UserRole, s.id if s.kind == "write" and s.revertible else None)
                self.table.setItem(row, column, item)
        self.table.resizeColumnsToContents()
        self.undo_button = QPushButton("Undo this session")
        self.undo_button.setEnabled(False)
        self.undo_button.clicked.connect(self._undo)
        self.table.itemSelectionChanged.connect(
            lambda: self.undo_button.setEnabled(self._selected() is not None))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.addButton(self.undo_button, QDialogButtonBox.ButtonRole.ActionRole)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Every write keeps the previous genres; undo puts them back exactly."))
        layout.addWidget(self.table)
        layout.addWidget(buttons)

    def _selected(self) -> int | None:
        items = self.table.selectedItems()
        return items[0].data(Qt.ItemDataRole.UserRole) if items else None

    def _undo(self) -> None:
        session_id = self._selected()
        if session_id is not None:
            self.undo_session.emit(session_id)
            self.accept()
