"""Retraining from the settings: a real training process with live epochs, cancel, the report,
and switching the library to the new model."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

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
    assert window.bundle is not None and window.bundle.manifest.method == "feature-nn"
    with window.lib.session() as session:
        assert active_model(session).bundle_id == window.bundle.bundle_id
    assert window.settings_page.model_choice.currentData() == dialog.outcome.bundle
    assert "feature-nn" in window.settings_page.model_text.text()


def test_a_bad_dataset_is_a_message_not_a_crash(qtbot, window, tmp_path):
    dialog = open_retrain(qtbot, window)
    dialog.set_dataset("folders", str(tmp_path / "nowhere"))
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    assert "nowhere does not exist" in dialog.stage.text()
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


def test_the_location_is_checked_as_it_is_typed(qtbot, window, tmp_path):
    dialog = open_retrain(qtbot, window)
    dialog.set_dataset("folders", "")
    assert dialog.path_note.text() == ""  # nothing typed yet: nothing to complain about
    dialog.path.setText(str(tmp_path / "nowhere"))
    assert dialog.path_note.text() == f"{tmp_path / 'nowhere'} does not exist."
    (tmp_path / "notes.txt").write_text("hello")
    dialog.path.setText(str(tmp_path / "notes.txt"))
    assert dialog.path_note.text() == "notes.txt is a file, not a folder with one sub-folder per genre."
    (tmp_path / "flat").mkdir()
    dialog.path.setText(str(tmp_path / "flat"))
    assert "holds no genre folders" in dialog.path_note.text()
    (tmp_path / "flat" / "rock").mkdir()
    dialog.path.editingFinished.emit()  # the user presses Enter once the folder is right
    assert dialog.path_note.text() == ""  # the message goes away once the folder is right
    dialog.set_dataset("gtzan", str(gtzan_dir() / "features_30_sec.csv"))
    assert dialog.path_note.text() == ""


def test_retraining_starts_on_the_shipped_models_basis_and_says_when_a_figure_is_not_comparable(qtbot, window):
    dialog = open_retrain(qtbot, window)
    dialog.set_dataset("gtzan", str(gtzan_dir() / "features_30_sec.csv"))
    dialog.method.setCurrentIndex(dialog.method.findData("xgboost"))
    assert dialog.split.currentText() == "filtered"
    assert dialog.leave_out.isChecked() and dialog.overrides() == {"drop_columns": ("length",)}
    assert dialog.figure_note.text().startswith("The test figure will compare with the shipped model's")
    dialog.leave_out.setChecked(False)
    assert dialog.overrides() == {}
    assert "the 'length' column flatters the figure" in dialog.figure_note.text()
    dialog.leave_out.setChecked(True)
    dialog.split.setCurrentText("random-80-20")
    assert dialog.figure_note.text().startswith("Not comparable with the shipped model's figure")
    dialog.set_dataset("folders", str(gtzan_dir() / "genres_original"))
    assert dialog.split.currentText() == "random-80-20"
    assert not dialog.split.model().item(dialog.split.findText("filtered")).isEnabled()
    dialog.set_dataset("gtzan", str(gtzan_dir() / "features_30_sec.csv"))
    assert dialog.split.currentText() == "filtered"


def test_a_run_without_epochs_its_report_and_a_method_switch(qtbot, window):
    csv = str(gtzan_dir() / "features_30_sec.csv")
    dialog = open_retrain(qtbot, window)
    dialog.set_dataset("gtzan", csv)
    assert window.settings["retrain_path"] == csv and window.settings["retrain_dataset"] == "gtzan"
    dialog.method.setCurrentIndex(dialog.method.findData("knn"))
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.running, timeout=TRAINING_TIMEOUT_MS)
    assert dialog.outcome is not None, dialog.stage.text()
    assert dialog.outcome.split == "filtered"
    assert [t.get_text() for t in dialog.curve.figure.texts] == ["this method trained in one go: no epochs to show"]
    report = dialog.report_title.toPlainText()
    assert "filtered split" in report and "On the same basis as the shipped model's figure" in report
    # the confusion matrix is drawn at the panel's size, one count per non-empty cell, summing to the test songs
    [ax] = dialog.confusion.figure.axes
    assert sum(float(t.get_text()) for t in ax.texts) == dialog.outcome.n_test
    image = dialog.confusion.grab().toImage()
    assert len({image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)}) > 20
    screenshot(dialog, "12-retrain-knn")

    dialog.method.setCurrentIndex(dialog.method.findData("rf"))  # another method: the old report goes
    assert dialog.outcome is None and not dialog.use_button.isEnabled()
    assert dialog.report_title.toPlainText() == "" and not dialog.confusion.figure.axes

    qtbot.mouseClick(dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Close),
                     Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    window.retrain_window = None  # the next dialog (as after a restart) starts from the remembered data
    assert open_retrain(qtbot, window).path.text() == csv


def test_each_kind_of_data_starts_with_its_own_method(qtbot, window, tmp_path):
    """A library or a folder of a user's own music starts on a MusiCNN head (it learns from a few
    dozen songs); GTZAN starts on the shipped model's family; a method picked by hand stays while
    the path changes."""
    from trainer.service import DEFAULT_METHODS

    dialog = open_retrain(qtbot, window)
    dialog.set_dataset("library")
    assert dialog.method.currentData() == DEFAULT_METHODS["library"] == "logreg-musicnn"
    dialog.set_dataset("gtzan", "")
    assert dialog.method.currentData() == DEFAULT_METHODS["gtzan"] == "xgboost"
    dialog.set_dataset("folders", "")
    assert dialog.method.currentData() == "logreg-musicnn"
    dialog.method.setCurrentIndex(dialog.method.findData("knn"))
    dialog.path.setText(str(tmp_path))
    assert dialog.method.currentData() == "knn"
