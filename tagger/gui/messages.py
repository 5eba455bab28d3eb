"""Messages in the window instead of pop-ups or tracebacks: a bar at the top that says what
happened, with the list of files behind it (unreadable, read-only, ...) one click away."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

_STYLES = {
    "info": "background: #e8f1fb; border: 1px solid #9cc3ea;",
    "warning": "background: #fff4d6; border: 1px solid #e5c06a;",
    "error": "background: #fde7e6; border: 1px solid #e49a95;",
}


class DetailsDialog(QDialog):
    """A list of (file, reason) rows."""

    def __init__(self, title: str, items: list[tuple[str, str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.resize(760, 420)
        table = QTableWidget(len(items), 2)
        table.setHorizontalHeaderLabels(["File", "Reason"])
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.verticalHeader().hide()
        table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        table.horizontalHeader().setStretchLastSection(True)
        table.setColumnWidth(0, 420)
        for row, (path, reason) in enumerate(items):
            for column, text in enumerate((path, reason)):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                table.setItem(row, column, item)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(table)
        layout.addWidget(buttons)


class MessageBar(QFrame):
    """The latest message, its level shown by colour; hidden until there is one."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.level = "info"
        self.text = QLabel(wordWrap=True, textInteractionFlags=Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details_button = QPushButton("Details…")
        self.details_button.clicked.connect(self.show_details)
        close = QToolButton(text="✕", autoRaise=True)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.details_button)
        layout.addWidget(close)
        self.details: list[tuple[str, str]] = []
        self.details_title = ""
        self.dialog: DetailsDialog | None = None
        self.hide()

    def show_message(self, text: str, level: str = "info", details: list[tuple[str, str]] | None = None,
                     details_title: str = "Files") -> None:
        self.level = level
        self.setStyleSheet(f"MessageBar {{ {_STYLES[level]} border-radius: 4px; }}")
        self.text.setText(text)
        self.details = list(details or [])
        self.details_title = details_title
        self.details_button.setVisible(bool(self.details))
        self.show()

    def show_details(self) -> None:
        self.dialog = DetailsDialog(self.details_title, self.details, self.window())
        self.dialog.show()
