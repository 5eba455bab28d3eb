"""Track detail: what the model heard in each window of the selected track, and its spectrogram.

The timeline colours each window by the genre it leans to and plots the top genres' probability
window by window, so a medley or a track that changes style shows where it changes. The
spectrogram is computed by a job (decoding a long track takes a moment) and drawn when it arrives.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from tagger.gui.charts import FigureView
from tagger.library.listing import TrackDetail
from tagger.profile.chart import genre_colours

SPECTROGRAM_RATE = 22050
#: Longer tracks show their first this-many seconds in the spectrogram.
SPECTROGRAM_MAX_S = 600.0


@dataclass(frozen=True)
class Spectrogram:
    """A mel spectrogram in dB, (mels, frames), with the time covered."""

    track_id: int
    db: np.ndarray
    seconds: float


def compute_spectrogram(track_id: int, path: str) -> Spectrogram:
    """Decode ``path`` and compute its mel spectrogram (runs in a job, off the GUI thread)."""
    import librosa

    from trainer.runtime.audio import decode

    samples = decode(path, SPECTROGRAM_RATE).samples[: int(SPECTROGRAM_MAX_S * SPECTROGRAM_RATE)]
    mel = librosa.feature.melspectrogram(y=samples, sr=SPECTROGRAM_RATE, n_mels=96, hop_length=1024)
    return Spectrogram(track_id, librosa.power_to_db(mel, ref=np.max), len(samples) / SPECTROGRAM_RATE)


#: A window's genre is written inside the strip only when the window is at least this wide (px).
MIN_LABEL_PX = 56
#: Room (px) a legend entry of the track chart takes: the legend gets as many columns as fit.
LEGEND_ENTRY_PX = 100
#: Heights (px) under which the charts scroll instead of shrinking.
TIMELINE_MIN_PX = 250
SPECTROGRAM_MIN_PX = 170


def clock(seconds: float) -> str:
    """``m:ss``, or ``h:mm:ss`` from an hour on: what a track's time looks like in a player."""
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def labelled_windows(spans: list[tuple[float, float]], axes_px: float) -> list[int]:
    """Indices of the windows wide enough on screen (``axes_px`` for the whole time axis) to carry
    their genre as text; the others are told apart by colour and the legend."""
    if not spans:
        return []
    total = spans[-1][1] - spans[0][0]
    return [i for i, (a, b) in enumerate(spans) if total > 0 and (b - a) / total * axes_px >= MIN_LABEL_PX]


def window_spans(starts: list[float], length_s: float, duration_s: float | None) -> list[tuple[float, float]]:
    """(start, end) of each window's own stretch: up to the next window; the last one to its own
    end, or the track's end when that comes first (a padded short track)."""
    if not starts:
        return []
    last_end = starts[-1] + length_s
    if duration_s:
        last_end = max(min(last_end, duration_s), starts[-1] + 1.0)
    return list(zip(starts, starts[1:] + [last_end]))


def open_with_system(path: Path, what: str) -> str | None:
    """Open ``path`` with the desktop's default application; ``None`` when that worked, else the
    reason in words (the system itself only prints "Unable to detect a launcher" to stderr)."""
    if not path.exists():
        return f"{path} is not there any more: it was moved or deleted (scan again to update the library)."
    if QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))):
        return None
    return (f"No application could be started to {what}: the desktop has no default application for it "
            f"(on Linux, xdg-open and a desktop session are needed). The file is {path}")


class TrackDetailPanel(QWidget):
    """Facts, top genres, the per-window timeline and the spectrogram of one track. ``failed``
    carries the reason when Play or Show in folder could not do it."""

    failed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.detail: TrackDetail | None = None
        self.title = QLabel("<i>Select a track to see what the model heard.</i>")
        self.title.setWordWrap(True)
        facts = QFormLayout()
        self.facts: dict[str, QLabel] = {}
        for key, text in (("file", "File"), ("current", "Genre in file"), ("predicted", "Predicted"),
                          ("heard", "Also heard"), ("accepted", "Accepted"), ("status", "Status")):
            label = QLabel()
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.facts[key] = label
            facts.addRow(f"{text}:", label)
        self.play = QPushButton("Play")
        self.play.setToolTip("Open the file in the system's music player")
        self.play.clicked.connect(self._play)
        self.reveal = QPushButton("Show in folder")
        self.reveal.clicked.connect(self._reveal)
        buttons = QHBoxLayout()
        buttons.addWidget(self.play)
        buttons.addWidget(self.reveal)
        buttons.addStretch()
        self.timeline = FigureView(2.6)
        self.timeline.setMinimumHeight(TIMELINE_MIN_PX)
        self.timeline.canvas.mpl_connect("resize_event", lambda event: self._redraw_timeline())
        self.spectrogram = FigureView(2.2)
        self.spectrogram.setMinimumHeight(SPECTROGRAM_MIN_PX)
        self._window_length_s = 30.0
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.addWidget(self.title)
        layout.addLayout(facts)
        layout.addLayout(buttons)
        layout.addWidget(QLabel("<b>Genre per window</b>"))
        layout.addWidget(self.timeline, 3)
        layout.addWidget(QLabel("<b>Spectrogram</b>"))
        layout.addWidget(self.spectrogram, 2)
        scroll = QScrollArea()  # on a small screen the panel scrolls; its charts never shrink to slivers
        scroll.setWidget(body)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        self.show_track(None, 30.0)

    def show_track(self, detail: TrackDetail | None, window_length_s: float) -> None:
        self.detail = detail
        self._window_length_s = window_length_s
        self.play.setEnabled(detail is not None)
        self.reveal.setEnabled(detail is not None)
        if detail is None:
            self.title.setText("<i>Select a track to see what the model heard.</i>")
            for label in self.facts.values():
                label.clear()
            self.timeline.message("no track selected")
            self.spectrogram.message("")
            return
        row = detail.row
        name = row.title or Path(row.path).stem
        byline = " — ".join(x for x in (row.artist, row.album) if x)
        self.title.setText(f"<b>{escape(name)}</b><br>{escape(byline)}")
        length = f", {detail.duration_s:.0f} s" if detail.duration_s else ""
        self.facts["file"].setText(f"{row.path} ({detail.format or '?'}{length})")
        self.facts["current"].setText("; ".join(row.genres) or "(none)")
        self.facts["predicted"].setText(" · ".join(f"{g} {p:.0%}" for g, p in detail.ranked[:3]) or "(not classified)")
        # descriptors (eras, moods, voices) are shown apart from the genres: they are never written
        self.facts["heard"].setText(" · ".join(f"{d} {p:.0%}" for d, p in detail.descriptors[:4]) or "(nothing)")
        self.facts["accepted"].setText("; ".join(row.confirmed or []) or "(not yet)")
        state = row.shown_status if not row.error else f"{row.shown_status}: {row.error}"
        self.facts["status"].setText(state + (" (shorter than one window, padded)" if detail.padded else ""))
        self._draw_timeline(detail, window_length_s)
        self.spectrogram.message("computing the spectrogram…" if row.status == "ok" else "no audio")

    def _redraw_timeline(self) -> None:
        if self.detail is not None and self.detail.window_probs:
            self._draw_timeline(self.detail, self._window_length_s)

    def _draw_timeline(self, detail: TrackDetail, length_s: float) -> None:
        """The strip of each window's leading genre over the lines of the three top genres, one
        legend above both (never over the data), times as m:ss with as many ticks as fit."""
        from matplotlib.patches import Patch
        from matplotlib.ticker import FuncFormatter, MaxNLocator

        figure = self.timeline.figure
        figure.clear()
        if not detail.window_probs:
            self.timeline.message("not classified by the active model yet")
            return
        probs = np.asarray(detail.window_probs)
        spans = window_spans(detail.window_starts_s, length_s, detail.duration_s)
        leading = [detail.labels[int(p.argmax())] for p in probs]
        top3 = [genre for genre, _ in detail.ranked[:3]]
        colours = genre_colours(dict.fromkeys(top3 + leading))
        strip, lines = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [1, 2]})
        for (start, end), genre in zip(spans, leading):
            strip.barh(0, end - start, left=start, color=colours[genre], edgecolor="white")
        axes_px = figure.get_figwidth() * figure.dpi * 0.8
        for i in labelled_windows(spans, axes_px):
            (start, end), p = spans[i], probs[i]
            strip.text((start + end) / 2, 0, f"{leading[i]}\n{p.max():.0%}", ha="center", va="center", fontsize=8)
        strip.set_yticks([])
        centres = [(a + b) / 2 for a, b in spans]
        for genre in top3:
            lines.plot(centres, probs[:, detail.labels.index(genre)] * 100, marker="o", color=colours[genre])
        if detail.threshold is not None:  # a multi-label model: genres above this line count
            lines.axhline(detail.threshold * 100, color="grey", linestyle=":", linewidth=1)
        lines.set_ylim(0, 100)
        lines.set_xlim(spans[0][0], spans[-1][1])
        lines.set_ylabel("%")
        lines.xaxis.set_major_locator(MaxNLocator(nbins=max(2, int(axes_px // 70)), steps=[1, 2, 3, 5, 6, 10]))
        lines.xaxis.set_major_formatter(FuncFormatter(lambda x, _: clock(x)))
        lines.set_xlabel("time in the track")
        figure.legend(handles=[Patch(color=colours[g], label=g) for g in colours], loc="outside upper center",
                      ncols=max(1, min(len(colours), int(axes_px / 0.8 // LEGEND_ENTRY_PX))), fontsize=8,
                      frameon=False)
        self.timeline.draw()

    def show_spectrogram(self, spectrogram: Spectrogram) -> None:
        """Draw ``spectrogram`` if it belongs to the track shown (a late result is ignored)."""
        if self.detail is None or self.detail.row.track_id != spectrogram.track_id:
            return
        figure = self.spectrogram.figure
        figure.clear()
        ax = figure.add_subplot()
        ax.imshow(spectrogram.db, origin="lower", aspect="auto", cmap="magma",
                  extent=(0, spectrogram.seconds, 0, spectrogram.db.shape[0]))
        for start in self.detail.window_starts_s[1:]:
            if start < spectrogram.seconds:
                ax.axvline(start, color="white", linestyle="--", linewidth=0.8)
        ax.set_ylabel("mel band")
        ax.set_xlabel("seconds")
        self.spectrogram.draw()

    def spectrogram_failed(self, message: str) -> None:
        self.spectrogram.message(f"no spectrogram: {message}")

    def _play(self) -> None:
        if self.detail is not None:
            self._report(open_with_system(Path(self.detail.row.path), "play it"))

    def _reveal(self) -> None:
        if self.detail is not None:
            self._report(open_with_system(Path(self.detail.row.path).parent, "show its folder"))

    def _report(self, problem: str | None) -> None:
        if problem is not None:
            self.failed.emit(problem)
