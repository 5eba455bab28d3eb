"""Charts that stay readable: no overlapping labels for a track of any length, legends outside the
data, no panel collapsing at 1024x640, one colour per genre in every chart, and a taste profile
whose text, chart and snapshot count agree."""

from __future__ import annotations

import itertools
import warnings
from datetime import UTC, datetime, timedelta

import numpy as np
from matplotlib.figure import Figure

from tagger.gui.detail import TrackDetailPanel, clock
from tagger.gui.profile_tab import build_profile
from tagger.library.listing import TrackDetail
from tagger.library.queries import Row
from tagger.profile import GenreShares, Profile, render_text
from tagger.profile.chart import (
    OTHER,
    TOP_GENRES,
    distinct_labels,
    draw_profile,
    genre_colours,
)
from tests.tagger.gui.conftest import select_file, wait_idle

LABELS = ["blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock"]


def _long_track(seconds: float = 324.0, window_s: float = 30.0) -> TrackDetail:
    """A track that changes genre every window: 11 windows over 324 s, as in a real album track."""
    starts = list(np.arange(0.0, seconds - window_s, window_s)) + [seconds - window_s]
    probs = [np.roll(np.linspace(0.3, 0.02, len(LABELS)), i).tolist() for i in range(len(starts))]
    row = Row(1, "/music/long.flac", "Long", "Artist", "Album", "flac", [], None, "ok", None, "blues", 0.3, False, False)
    ranked = sorted(zip(LABELS, np.mean(probs, axis=0)), key=lambda kv: -kv[1])
    return TrackDetail(row, seconds, "flac", LABELS, ranked, starts, probs)


def _overlaps(boxes) -> list:
    return [(a, b) for a, b in itertools.combinations(boxes, 2) if a.overlaps(b)]


def _text_boxes(figure: Figure, texts) -> list:
    renderer = figure.canvas.get_renderer()
    return [t.get_window_extent(renderer) for t in texts if t.get_visible() and t.get_text()]


def test_the_track_chart_stays_readable_for_a_long_track_at_small_and_large_sizes(qtbot):
    detail = _long_track()
    assert len(detail.window_starts_s) == 11
    for width, height in ((330, 420), (900, 700)):
        panel = TrackDetailPanel()
        qtbot.addWidget(panel)
        panel.resize(width, height)
        panel.show()
        qtbot.waitExposed(panel)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # "constrained_layout not applied" would be raised here
            panel.show_track(detail, 30.0)
            panel.timeline.canvas.draw()
        figure = panel.timeline.figure
        strip, lines = figure.axes
        labels = [t for t in strip.texts]
        ticks = lines.get_xticklabels()
        assert not _overlaps(_text_boxes(figure, labels)), (width, "window labels overlap")
        assert not _overlaps(_text_boxes(figure, ticks)), (width, "time labels overlap")
        assert len(labels) < 11 if width < 500 else len(labels) >= 10  # thinned only when they would not fit
        renderer = figure.canvas.get_renderer()
        [legend] = figure.legends
        assert figure.bbox.contains(*legend.get_window_extent(renderer).min)  # within the figure, not cut off
        assert figure.bbox.contains(*legend.get_window_extent(renderer).max)
        assert not legend.get_window_extent(renderer).overlaps(lines.get_window_extent(renderer))
        assert not legend.get_window_extent(renderer).overlaps(strip.get_window_extent(renderer))
        assert lines.get_window_extent(renderer).height > 60  # a real plot, not a sliver
        image = panel.timeline.grab().toImage()
        assert len({image.pixel(x, y) for x in range(0, image.width(), 5) for y in range(0, image.height(), 5)}) > 10
    assert [clock(s) for s in (0, 65, 324, 3725)] == ["0:00", "1:05", "5:24", "1:02:05"]


def test_one_colour_per_genre_in_the_track_chart_and_the_profile(qtbot):
    assert genre_colours(["rock", "jazz"])["rock"] == genre_colours(["jazz", "synthwave", "rock"])["rock"]
    assert len({genre_colours([g])[g] for g in LABELS}) == 10
    assert genre_colours(["Synthwave"])["Synthwave"] == genre_colours(["synthwave", "pop"])["synthwave"]
    panel = TrackDetailPanel()
    qtbot.addWidget(panel)
    panel.show_track(_long_track(), 30.0)
    strip = panel.timeline.figure.axes[0]
    track_colours = {tuple(bar.get_facecolor()) for bar in strip.patches}
    profile = Profile("count", "m", GenreShares("Library", {g: 10.0 - i for i, g in enumerate(LABELS)}, 55, 0, 0))
    figure = Figure(figsize=(8, 6))
    draw_profile(figure, profile)
    bars = figure.axes[0].patches
    names = [t.get_text() for t in figure.axes[0].get_yticklabels()]
    profile_colours = dict(zip(names, (tuple(b.get_facecolor()) for b in bars)))
    assert track_colours and track_colours <= set(profile_colours.values())
    assert all(profile_colours[g] == tuple(genre_colours([g])[g]) for g in LABELS)


def test_profile_text_and_chart_show_the_same_top_genres():
    weights = {f"genre{i:02d}": float(20 - i) for i in range(14)}  # 14 genres: the last 4 become "other"
    profile = Profile("count", "m", GenreShares("Library", weights, int(sum(weights.values())), 0, 0))
    figure = Figure(figsize=(8, 6))
    draw_profile(figure, profile)
    charted = [t.get_text() for t in figure.axes[0].get_yticklabels()][::-1]
    listed = [line.split()[0] for line in render_text(profile, top=TOP_GENRES).splitlines()[2:]]
    assert listed == [f"genre{i:02d}" for i in range(TOP_GENRES)]
    assert charted == listed + [OTHER]


def test_snapshots_in_the_same_minute_get_distinct_labels():
    t = datetime(2026, 11, 30, 21, 5, 10, tzinfo=UTC)
    assert len(set(distinct_labels([t, t + timedelta(seconds=20)]))) == 2
    assert distinct_labels([t, t + timedelta(hours=1)])[0].endswith(":05")  # minutes are enough here
    same = distinct_labels([t, t])
    assert len(set(same)) == 2 and same[1].endswith("#2")


def test_the_profile_tab_counts_snapshots_alike_in_both_views_and_real_genre_tags(qtbot, window, music):
    window.add_folder(music)
    wait_idle(qtbot, window)
    tab = window.profile_tab
    window.tabs.setCurrentWidget(tab)
    wait_idle(qtbot, window)
    tab.snapshot_button.click()
    wait_idle(qtbot, window)
    assert tab.status.text() == "1 snapshot saved"
    tab.weighting.setCurrentIndex(tab.weighting.findData("duration"))
    wait_idle(qtbot, window)
    assert tab.status.text() == "1 snapshot saved"
    title = tab.chart.figure.axes[0].get_title()
    assert title == "Library: 4 tracks\n0 by genres you accepted, 4 by prediction; 0 of the files have a genre tag"
    select_file(window, "plain.wav")
    window.set_genre("rock")  # an accepted genre, not yet in the file
    wait_idle(qtbot, window)
    view = build_profile(window.lib, "count")
    assert (view.tagged, view.profile.library.confirmed) == (0, 1)
