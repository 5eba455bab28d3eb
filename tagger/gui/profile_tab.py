"""The taste profile tab: the chart and text of ``genre-tagger profile``, drawn by the same
functions, with snapshots saved on request so the trend panel shows how the taste moved."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QSplitter, QVBoxLayout, QWidget

from tagger.gui.charts import ImageView
from tagger.library import Library
from tagger.profile import WEIGHTINGS, Profile, Weighting, compute_profile, draw_chart, history, render_text, save_snapshot

_WEIGHTING_TITLES = {"count": "by number of songs", "duration": "by listening time"}


@dataclass(frozen=True)
class ProfileView:
    """A computed profile, its text report and its chart image."""

    profile: Profile
    text: str
    chart: Path
    snapshots: int


def build_profile(lib: Library, weighting: Weighting, snapshot: bool = False) -> ProfileView:
    """Compute the profile (and save it as a snapshot if asked), then draw it with its history,
    beside the catalogue: the same steps as ``genre-tagger profile``. Runs in a job."""
    profile = compute_profile(lib, weighting)
    past = history(lib, weighting)
    previous = past[-1] if past else None
    if snapshot and save_snapshot(lib, profile):
        past.append(profile)
    trend = past if past and past[-1] is profile else past + [profile]
    chart = draw_chart(profile, lib.path.with_name("profile.png"), trend)
    return ProfileView(profile, render_text(profile, previous, top=8), chart, len(past))


class ProfileTab(QWidget):
    """Weighting choice, refresh and snapshot buttons, the chart, and the text with changes."""

    #: (weighting, save a snapshot?) the window should compute.
    requested = Signal(str, bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.weighting = QComboBox()
        for value in WEIGHTINGS:
            self.weighting.addItem(_WEIGHTING_TITLES.get(value, value), value)
        self.weighting.currentIndexChanged.connect(lambda: self.refresh())
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(lambda: self.refresh())
        self.snapshot_button = QPushButton("Save snapshot")
        self.snapshot_button.setToolTip("Remember today's profile, so later ones can show how your taste moved")
        self.snapshot_button.clicked.connect(lambda: self.refresh(snapshot=True))
        self.status = QLabel()
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Genre shares"))
        bar.addWidget(self.weighting)
        bar.addWidget(refresh)
        bar.addWidget(self.snapshot_button)
        bar.addWidget(self.status, 1)
        self.chart = ImageView()
        self.chart.show_text("The profile appears here once the library has genres.")
        self.text = QPlainTextEdit(readOnly=True)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        splitter = QSplitter()
        splitter.addWidget(self.chart)
        splitter.addWidget(self.text)
        splitter.setSizes([700, 300])
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(splitter, 1)

    def refresh(self, snapshot: bool = False) -> None:
        self.status.setText("computing…")
        self.requested.emit(self.weighting.currentData(), snapshot)

    def show_view(self, view: ProfileView) -> None:
        self.chart.show_image(view.chart)
        self.text.setPlainText(view.text)
        self.status.setText(f"{view.snapshots} snapshot{'' if view.snapshots == 1 else 's'} saved")

    def show_error(self, message: str) -> None:
        self.status.setText(message)
