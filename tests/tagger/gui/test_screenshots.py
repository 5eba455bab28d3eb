"""Pictures of every main view, saved to test-artifacts/screenshots/ for a person to look at."""

from __future__ import annotations

from tests.tagger.gui.conftest import (
    SCREENSHOTS,
    open_retrain,
    screenshot,
    select_file,
    wait_idle,
)

VIEWS = ("01-welcome", "02-scanning", "03-library", "04-track-detail", "05-write-preview", "06-written",
         "07-write-history", "08-taste-profile", "09-settings", "10-retrain")


def test_screenshots_of_the_main_views(qtbot, make_window, music):
    window = make_window()
    window.resize(1500, 900)
    screenshot(window, "01-welcome")

    window.add_folder(music)
    qtbot.waitUntil(lambda: window.job_progress.isVisible())
    screenshot(window, "02-scanning")
    wait_idle(qtbot, window)
    window.compute_profile("count", True)  # a first snapshot, so the profile shows a trend
    wait_idle(qtbot, window)
    select_file(window, "mid.ogg")
    window.accept_selected()
    wait_idle(qtbot, window)
    select_file(window, "plain.wav")
    window.set_genre("rock")
    wait_idle(qtbot, window)

    select_file(window, "low.flac")
    qtbot.waitUntil(lambda: window.detail.detail.row.path.endswith("low.flac"), timeout=5000)
    wait_idle(qtbot, window)  # the spectrogram
    screenshot(window, "03-library")
    screenshot(window.detail, "04-track-detail")

    window.accept_above(0.0)
    wait_idle(qtbot, window)
    window.open_preview()
    qtbot.waitUntil(window.preview_dialog.write_button.isEnabled, timeout=30_000)
    screenshot(window.preview_dialog, "05-write-preview")
    window.preview_dialog.write()
    wait_idle(qtbot, window)
    screenshot(window, "06-written")
    window.open_history()
    screenshot(window.history_dialog, "07-write-history")

    window.tabs.setCurrentWidget(window.profile_tab)
    qtbot.waitUntil(lambda: "snapshot" in window.profile_tab.status.text(), timeout=30_000)
    assert "changes since the snapshot" in window.profile_tab.text.toPlainText()
    screenshot(window, "08-taste-profile")

    window.tabs.setCurrentWidget(window.settings_page)
    screenshot(window, "09-settings")

    dialog = open_retrain(qtbot, window)
    dialog.resize(1100, 720)
    screenshot(dialog, "10-retrain")

    assert set(VIEWS) <= {p.stem for p in SCREENSHOTS.glob("*.png")}
