"""The whole review flow through the real window: add a folder, scan, classify, accept, preview,
write, undo; checked on the table and on the files' tags."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer

from tagger.tags import read_tags
from tests.tagger.gui.conftest import rows, wait_idle

GOOD = ("low.flac", "mid.ogg", "high.mp3", "plain.wav")


def by_name(window) -> dict:
    return {r.path.rsplit("/", 1)[-1]: r for r in rows(window)}


def test_add_scan_classify_accept_write_undo(qtbot, window, music):
    ticks: list[float] = []
    heartbeat = QTimer(window, interval=20)
    heartbeat.timeout.connect(lambda: ticks.append(time.monotonic()))
    heartbeat.start()
    started = time.monotonic()
    window.add_folder(music)
    assert window.busy  # the work runs in a job, the window keeps going
    wait_idle(qtbot, window)
    elapsed = time.monotonic() - started
    heartbeat.stop()
    # the event loop kept turning while files were decoded and classified: a 20-ms timer kept
    # firing, and no pause came near the length of the job (work on the GUI thread would freeze it
    # for most of it). Bounds are relative so that a loaded machine slows both sides alike.
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    assert len(ticks) >= 3 and max(gaps) < max(1.0, elapsed / 2), (len(ticks), max(gaps), elapsed)

    shown = by_name(window)
    assert set(shown) == {*GOOD, "broken.mp3"}
    assert {shown[n].shown_status for n in GOOD} == {"review"}
    assert all(shown[n].predicted and 0 < shown[n].confidence <= 1 for n in GOOD)
    assert shown["broken.mp3"].shown_status == "unreadable"
    assert "could not be read" in window.messages.text.text()
    assert [p.rsplit("/", 1)[-1] for p, _ in window.messages.details] == ["broken.mp3"]
    assert window.count.text() == "5 tracks shown"

    window.status_filter.setCurrentIndex(window.status_filter.findData("review"))
    assert window.model.rowCount() == 4

    # accept one by hand, then the rest in bulk above 0%
    window.view.selectRow(0)
    first = window.view.selected_ids()
    qtbot.mouseClick(window.review.accept_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, window)
    assert window.model.rowCount() == 3  # the accepted one left the "to review" list
    window.review.threshold.setValue(0)
    qtbot.mouseClick(window.review.bulk_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, window)
    assert window.model.rowCount() == 0
    window.status_filter.setCurrentIndex(0)
    shown = by_name(window)
    assert {shown[n].shown_status for n in GOOD} == {"accepted"}
    assert all(shown[n].confirmed == [shown[n].predicted] for n in GOOD)
    assert first[0] in {shown[n].track_id for n in GOOD}

    # preview (a dry run) lists the four files and writes nothing
    window.open_preview()
    dialog = window.preview_dialog
    qtbot.waitUntil(dialog.write_button.isEnabled, timeout=30_000)
    assert dialog.table.rowCount() == 4
    assert dialog.scope == "accepted"
    assert all(read_tags(p).genres == [] for p in music.rglob("*") if p.name in GOOD)

    qtbot.mouseClick(dialog.write_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, window)
    shown = by_name(window)
    for name in GOOD:
        [path] = music.rglob(name)
        assert read_tags(path).genres == [shown[name].predicted]
        assert shown[name].shown_status == "written"
        assert shown[name].genres == [shown[name].predicted]
    assert "Wrote genres into 4 files" in window.messages.text.text()

    window.undo_action.trigger()
    wait_idle(qtbot, window)
    assert "Restored the previous genres of 4 files" in window.messages.text.text()
    shown = by_name(window)
    for name in GOOD:
        [path] = music.rglob(name)
        assert read_tags(path).genres == []
        assert shown[name].shown_status == "accepted"


def test_folders_can_be_removed_and_the_table_follows(qtbot, window, music):
    window.add_folder(music / "albums")
    wait_idle(qtbot, window)
    assert window.model.rowCount() == 2
    window.add_folder(music)  # the parent takes the place of the folder inside it
    wait_idle(qtbot, window)
    assert window.settings.folders == (str(music.resolve()),)
    assert window.model.rowCount() == 5
    window.folder_list.setCurrentRow(1)
    window.remove_folder()
    assert window.settings.folders == ()
    assert window.model.rowCount() == 0
    assert window.library_stack.currentIndex() == 0  # back to the welcome page
