"""The window while it works and when it closes: rows fill in as tracks finish, the status bar
says what is happening, quitting mid-run stops at once and leaves no process behind, standard
shortcuts, and actions that fail say why in the window."""

from __future__ import annotations

import multiprocessing
import re
import threading

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence

from tagger.gui.jobs import progress_text
from tagger.library import open_library
from tests.tagger.gui.conftest import JOB_TIMEOUT_MS, rows, select_file, wait_idle


def test_progress_text_gives_count_speed_and_time_left():
    # 10 tracks in 3 s since the first count (2 done then): 3.3 tracks/s, 30 left -> 9 s
    assert progress_text(12, 42, 3.0, counted_from=2) == "12 / 42, 3.3 tracks/s, about 9 s left"
    assert progress_text(2, 42, 0.0, counted_from=2) == "2 / 42"  # no rate measured yet
    assert progress_text(42, 42, 5.0) == "42 / 42"
    assert progress_text(10, 1000, 10.0) == "10 / 1,000, 1.0 tracks/s, about 16 min left"


class GatedClassifier:
    """The real classifier, handing out one result each time the test opens the gate."""

    def __init__(self, classifier) -> None:
        self.classifier = classifier
        self.bundle_id, self.labels = classifier.bundle_id, classifier.labels
        self.gate = threading.Semaphore(0)

    def classify_paths(self, paths, workers):
        for n, result in enumerate(self.classifier.classify_paths(paths, workers=0)):
            if n and not self.gate.acquire(timeout=60):
                return
            yield result


def test_rows_fill_in_as_tracks_finish_and_the_bar_counts(qtbot, window, music, monkeypatch):
    from tagger.engine import Classifier

    gated = GatedClassifier(Classifier.load(window.settings.bundle_path, device="cpu",
                                            window=window.settings.window_choice()))
    monkeypatch.setattr(window, "_load_classifier", lambda ctx: gated)
    window.add_folder(music)

    def predicted() -> int:
        return sum(r.predicted is not None for r in rows(window))

    # the live refresh shows the first row (committed just before its count reaches the bar)
    qtbot.waitUntil(lambda: predicted() == 1 and window.job_text.text() == "Classifying: 1 / 4",
                    timeout=JOB_TIMEOUT_MS)
    assert window.busy and len(rows(window)) == 5
    gated.gate.release()
    counted = r"Classifying: 2 / 4, \d+\.\d tracks/s, about \d+ (s|min) left"
    qtbot.waitUntil(lambda: predicted() == 2 and re.fullmatch(counted, window.job_text.text()) is not None,
                    timeout=JOB_TIMEOUT_MS)
    assert window.busy
    gated.gate.release(2)
    wait_idle(qtbot, window)
    assert predicted() == 4


def test_the_bar_names_each_stage(qtbot, window, music):
    window.add_folder(music)
    stages: list[str] = []
    window.job.staged.connect(stages.append)  # queued from the job's thread: none is missed after this
    wait_idle(qtbot, window)
    assert stages[-2:] == ["loading model", "Classifying"]


def test_closing_during_classification_stops_at_once_and_leaves_no_process(qtbot, make_window, music, tmp_path):
    window = make_window(workers=1)  # a real decoding worker process
    window.add_folder(music)
    qtbot.waitUntil(lambda: window.job_text.text() == "starting workers…", timeout=JOB_TIMEOUT_MS)
    qtbot.waitUntil(lambda: bool(multiprocessing.active_children()), timeout=JOB_TIMEOUT_MS)
    window.close()
    assert window.job_text.text() == "stopping…" and window.isVisible()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5000)
    assert multiprocessing.active_children() == []
    window.pool.waitForDone()
    # ending the workers is not the files' fault: no readable file is marked unreadable
    with open_library(tmp_path / "data" / "library.db") as lib:
        window.lib = lib
        window.model.set_library(lib)
        marked = {r.path.rsplit("/", 1)[-1] for r in rows(window) if r.shown_status == "unreadable"}
    assert marked <= {"broken.mp3"}


def test_standard_shortcuts(qtbot, window):
    actions = {a.shortcut().toString(): a.text() for a in window.findChildren(QAction) if not a.shortcut().isEmpty()}
    assert actions["Ctrl+W"] == "&Close window"
    assert actions["Ctrl+Q"] == "&Quit"
    assert actions["Ctrl+S"] == "&Preview and write…"
    assert QKeySequence("Ctrl+W") not in window.write_action.shortcuts()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window, Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5000)


def test_play_and_show_in_folder_say_why_they_failed(qtbot, window, music, monkeypatch):
    window.add_folder(music)
    wait_idle(qtbot, window)
    select_file(window, "plain.wav")
    window.show_current_detail()
    monkeypatch.setattr("tagger.gui.detail.QDesktopServices.openUrl", lambda url: False)  # no launcher
    window.detail.play.click()
    assert window.messages.level == "error"
    assert "No application could be started to play it" in window.messages.text.text()
    window.detail.reveal.click()
    assert "to show its folder" in window.messages.text.text()
    (music / "plain.wav").unlink()
    window.detail.play.click()
    assert "plain.wav is not there any more" in window.messages.text.text()
