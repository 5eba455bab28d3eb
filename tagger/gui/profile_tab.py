"""The taste profile tab: the chart and text of ``genre-tagger profile``, drawn by the same
functions at the size of the window, with snapshots saved on request so the trend panel shows how
the taste moved."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from PySide6.QtCore import Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy import select

from tagger.gui.charts import FigureView
from tagger.library import Library, Track, TrackStatus
from tagger.profile import (
    WEIGHTINGS,
    Profile,
    Weighting,
    compute_profile,
    history,
    render_text,
    save_snapshot,
)
from tagger.profile.chart import TOP_GENRES, draw_profile, panel_heights

_WEIGHTING_TITLES = {"count": "by number of songs", "duration": "by listening time"}


#: Pixels per inch of the chart's panel heights below which its canvas scrolls instead of shrinking.
MIN_PIXELS_PER_INCH = 62
MIN_CHART_WIDTH = 420


@dataclass(frozen=True)
class ProfileView:
    """A computed profile, its text report, the snapshots its trend is drawn from, how many
    snapshot moments exist, and how many files carry a genre tag of their own."""

    profile: Profile
    text: str
    trend: list[Profile]
    snapshots: int
    tagged: int


def tagged_files(lib: Library) -> int:
    """Readable tracks whose file has a genre tag of its own (not a prediction)."""
    with lib.session() as session:
        return sum(bool(genres) for genres in session.scalars(select(Track.genres)
                                                              .where(Track.status == TrackStatus.OK)))


def build_profile(lib: Library, weighting: Weighting, snapshot: bool = False) -> ProfileView:
    """Compute the profile (and, if asked, save a snapshot of both weightings at one moment, so the
    count of snapshots is the same whichever way the profile is viewed): the same steps as
    ``genre-tagger profile``. Runs in a job."""
    profile = compute_profile(lib, weighting)
    past = history(lib, weighting)
    previous = past[-1] if past else None
    if snapshot:
        for other in WEIGHTINGS:
            taken = profile if other == weighting else dataclasses.replace(compute_profile(lib, other),
                                                                           taken_at=profile.taken_at)
            if save_snapshot(lib, taken) and taken is profile:
                past.append(profile)
    trend = past if past and past[-1] is profile else past + [profile]
    moments = {p.taken_at for w in WEIGHTINGS for p in history(lib, w)}
    return ProfileView(profile, render_text(profile, previous, top=TOP_GENRES), trend, len(moments),
                       tagged_files(lib))


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
        self.chart = FigureView(6.0)
        self.chart.setMinimumWidth(MIN_CHART_WIDTH)
        self.chart.message("The profile appears here once the library has genres.")
        scroll = QScrollArea()
        scroll.setWidget(self.chart)
        scroll.setWidgetResizable(True)
        self.text = QPlainTextEdit(readOnly=True)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        splitter = QSplitter()
        splitter.addWidget(scroll)
        splitter.addWidget(self.text)
        splitter.setSizes([700, 300])
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(splitter, 1)

    def refresh(self, snapshot: bool = False) -> None:
        self.status.setText("computing…")
        self.requested.emit(self.weighting.currentData(), snapshot)

    def show_view(self, view: ProfileView) -> None:
        """Draw the chart at the size of the tab; it scrolls rather than shrink past legibility."""
        self.chart.setMinimumHeight(int(sum(panel_heights(view.profile, view.trend)) * MIN_PIXELS_PER_INCH))
        draw_profile(self.chart.figure, view.profile, view.trend, tagged=view.tagged)
        self.chart.draw()
        self.text.setPlainText(view.text)
        self.status.setText(f"{view.snapshots} snapshot{'' if view.snapshots == 1 else 's'} saved")

    def show_error(self, message: str) -> None:
        self.status.setText(message)
