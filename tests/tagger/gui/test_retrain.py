"""Retraining from the settings: a real training process with live epochs, cancel, the report,
and switching the library to the new model."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from tagger.library import active_model
from tests.support import gtzan_dir
from tests.tagger.gui.conftest import open_retrain, screenshot

TRAINING_TIMEOUT_MS = 120_000


def test_train_from_the_csv_watch_epochs_cancel_then_use_the_new_model(qtbot, window):
    window.settings_page.retrain.emit()  # the Retrain… button of the settings
    qtbot.waitUntil(lambda: window.retrain_window is not None, timeout=60_000)
    dialog = window.retrain_window
    assert dialog.isVisible()
    dialog.set_dataset("gtzan", str(gtzan_dir() / "features_30_sec.csv"))
    methods = [dialog.method.itemData(i) for i in range(dialog.method.count())]
    assert "knn" in methods and "cnn-mel128" not in methods  # CSV features feed the CSV methods only
    dialog.method.setCurrentIndex(dialog.method.findData("feature-nn"))
    epochs, _ = dialog.parameter_edits["train.epochs"]

    # a long run, cancelled once it is under way: nothing is kept
    epochs.setText("500")
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    assert dialog.running and not dialog.start_button.isEnabled()
    qtbot.waitUntil(lambda: len(dialog.history) >= 1, timeout=TRAINING_TIMEOUT_MS)
    assert dialog.progress.maximum() == 500
    assert "training loss" in dialog.epoch_line.text()
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.running, timeout=TRAINING_TIMEOUT_MS)
    assert dialog.stage.text().startswith("Training cancelled")
    assert not list(window.settings.models_dir.glob("*/bundle"))

    # a short run to the end: the report, then the new bundle becomes the active model
    epochs.setText("3")
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.running, timeout=TRAINING_TIMEOUT_MS)
    assert dialog.outcome is not None, dialog.stage.text()
    assert [h["epoch"] for h in dialog.history] == [1, 2, 3]
    assert all(h["valid_accuracy"] is not None for h in dialog.history)
    assert f"Test accuracy {dialog.outcome.accuracy:.1%}" in dialog.report_title.toPlainText()
    assert "macro F1" in dialog.report_title.toPlainText()
    assert Path(dialog.outcome.confusion_png).is_file()
    screenshot(dialog, "11-retrain-report")

    qtbot.mouseClick(dialog.use_button, Qt.MouseButton.LeftButton)
    assert window.settings["model"] == dialog.outcome.bundle
    assert window.bundle is not None and window.bundle.meta["method"] == "feature-nn"
    with window.lib.session() as session:
        assert active_model(session).bundle_id == window.bundle.bundle_id
    assert window.settings_page.model_choice.currentData() == dialog.outcome.bundle
    assert "feature-nn" in window.settings_page.model_text.text()


def test_a_bad_dataset_is_a_message_not_a_crash(qtbot, window, tmp_path):
    dialog = open_retrain(qtbot, window)
    dialog.set_dataset("folders", str(tmp_path / "nowhere"))
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    assert "choose the dataset" in dialog.stage.text()
    assert not dialog.running

    empty = tmp_path / "empty"
    (empty / "rock").mkdir(parents=True)
    dialog.set_dataset("folders", str(empty))
    dialog.method.setCurrentIndex(dialog.method.findData("knn"))
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.running, timeout=TRAINING_TIMEOUT_MS)
    assert "Training failed" in dialog.stage.text() and "no readable audio" in dialog.stage.text()
    assert dialog.start_button.isEnabled()

    dialog.set_dataset("library")
    assert "0 accepted tracks" in dialog.library_note.text()
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    assert "accept or set genres first" in dialog.stage.text()
