"""Matplotlib figures inside Qt widgets, and a zoom-to-fit image view for charts drawn to files."""

from __future__ import annotations

from pathlib import Path

from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap, QResizeEvent
from PySide6.QtWidgets import QLabel, QScrollArea, QSizePolicy, QVBoxLayout, QWidget


class FigureView(QWidget):
    """A matplotlib ``Figure`` drawn by the Qt canvas; redraw with ``figure.clear()`` + ``draw()``."""

    def __init__(self, height_in: float = 2.5, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.figure = Figure(figsize=(6, height_in), layout="constrained")
        self.figure.set_facecolor(self.palette().window().color().name())
        self.canvas = FigureCanvasQTAgg(self.figure)
        self.canvas.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.canvas)

    def draw(self) -> None:
        self.canvas.draw_idle()

    def message(self, text: str) -> None:
        """Replace the figure with one line of text (no data yet, or why not)."""
        self.figure.clear()
        self.figure.text(0.5, 0.5, text, ha="center", va="center", color="#666666", wrap=True)
        self.draw()


class ImageView(QScrollArea):
    """An image file shown at the width of the view (never wider than drawn), scrolling vertically."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel(alignment=Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.label.setWordWrap(True)
        self.setWidget(self.label)
        self.setWidgetResizable(True)
        self._pixmap: QPixmap | None = None

    def show_image(self, path: Path) -> None:
        self._pixmap = QPixmap(str(path))
        self._fit()

    def show_text(self, text: str) -> None:
        self._pixmap = None
        self.label.setPixmap(QPixmap())
        self.label.setText(text)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        if self._pixmap is None or self._pixmap.isNull():
            return
        width = min(self._pixmap.width(), self.viewport().width() - 4)
        self.label.setPixmap(self._pixmap.scaledToWidth(max(width, 50), Qt.TransformationMode.SmoothTransformation))
