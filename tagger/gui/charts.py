"""Matplotlib figures inside Qt widgets, drawn at the widget's size, and the confusion matrix."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from PySide6.QtWidgets import QSizePolicy, QVBoxLayout, QWidget


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


def draw_confusion(figure: Figure, matrix: Sequence[Sequence[float]], labels: Sequence[str]) -> None:
    """A confusion matrix (rows true, columns predicted) on ``figure``: each row shaded by its share
    so rare genres read as clearly as common ones, the count in every cell in a legible size."""
    counts = np.asarray(matrix, dtype=float)
    if counts.shape != (len(labels), len(labels)):
        raise ValueError(f"a {counts.shape} matrix for {len(labels)} genres")
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    figure.clear()
    ax = figure.add_subplot()
    ax.imshow(shares, cmap="Blues", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right", fontsize=9)
    ax.set_yticks(range(len(labels)), labels, fontsize=9)
    ax.set_xlabel("predicted genre")
    ax.set_ylabel("true genre")
    digits = 10 if len(labels) <= 12 else 8
    for (i, j), value in np.ndenumerate(counts):
        if value:
            ax.text(j, i, f"{value:g}", ha="center", va="center", fontsize=digits,
                    color="white" if shares[i, j] > 0.5 else "black")
