"""The library table as a user first sees it: a folder column that tells same-named files apart,
columns wide enough for what they hold, and a detail panel that never describes a hidden row."""

from __future__ import annotations

import shutil

from tagger.gui.track_table import _STATE_TITLES, COLUMNS
from tests.tagger.gui.conftest import rows, select_file, wait_idle


def test_same_named_files_read_apart_by_their_folder(qtbot, window, music):
    (music / "live").mkdir()
    shutil.copy(music / "plain.wav", music / "live" / "plain.wav")
    window.add_folder(music)
    wait_idle(qtbot, window)
    column = list(COLUMNS).index("folder")
    shown = {}
    for position, row in enumerate(rows(window)):
        if row.path.endswith("/plain.wav"):
            shown[row.path] = window.model.index(position, column).data()
    assert sorted(shown.values()) == ["music", "music/live"]


def test_default_widths_fit_every_status_and_title(qtbot, window):
    metrics = window.view.fontMetrics()
    keys = list(COLUMNS)
    for key, title in COLUMNS.items():
        assert window.view.columnWidth(keys.index(key)) > metrics.horizontalAdvance(title), key
    status = window.view.columnWidth(keys.index("status"))
    assert all(status > metrics.horizontalAdvance(text) + 8 for text in _STATE_TITLES.values())


def test_the_detail_panel_empties_when_its_track_is_filtered_out_or_its_folder_removed(qtbot, window, music):
    window.add_folder(music)
    wait_idle(qtbot, window)
    select_file(window, "plain.wav")
    window.show_current_detail()
    wait_idle(qtbot, window)
    assert window.detail.detail.row.path.endswith("plain.wav")
    window.search.setText("high")
    window.apply_filters()
    assert window.model.rowCount() == 1
    assert window.detail.detail is None and "Select a track" in window.detail.title.text()
    window.search.clear()
    window.apply_filters()
    select_file(window, "plain.wav")
    window.show_current_detail()
    wait_idle(qtbot, window)
    assert window.detail.detail is not None
    window.folder_list.setCurrentRow(1)
    window.remove_folder()
    assert window.detail.detail is None


def test_the_track_detail_keeps_its_room_on_a_small_and_a_large_window(qtbot, window):
    from PySide6.QtCore import Qt

    from tagger.gui.detail import TIMELINE_MIN_PX

    window.resize(1024, 640)
    qtbot.waitUntil(lambda: window.detail_split.orientation() == Qt.Orientation.Vertical)
    assert window.detail.width() > 600 and window.detail.timeline.height() >= TIMELINE_MIN_PX
    window.resize(1920, 1080)
    qtbot.waitUntil(lambda: window.detail_split.orientation() == Qt.Orientation.Horizontal)
    assert 300 < window.detail.width() < 1920 // 2 and window.detail.timeline.height() >= TIMELINE_MIN_PX
