"""Retraining from the settings: choose a dataset, a method from the trainer's registry and its
main parameters, train in a separate process with live progress, then read the report and make
the new bundle the active model.

The process is spawned (never forked from a threaded GUI) and talks back through a queue that a
timer drains, so the window stays responsive however heavy the training is; cancelling asks the
training loop to stop and, for methods that cannot stop midway, ends the process after a grace
period.
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import queue as queue_module
import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from tagger.gui.bundles import LEAKY_COLUMN, REFERENCE_SPLIT, bundle_info
from tagger.gui.charts import FigureView, draw_confusion
from trainer import service
from trainer.runtime.bundle import BundleError
from trainer.service import (
    DEFAULT_METHODS,
    SPLIT_NAMES,
    TrainOutcome,
    TrainRequest,
    main_parameters,
    parse_overrides,
)

#: Dataset kinds: key -> title.
DATASETS: dict[str, str] = {
    "gtzan": "GTZAN (its folder, or features_30_sec.csv)",
    "folders": "A folder with one sub-folder per genre",
    "library": "My library (tracks whose genre I accepted)",
}
#: The split each dataset kind starts on: GTZAN's fault-filtered split, the basis of the shipped
#: model's figure; other data has no such list, so a random split by song.
DEFAULT_SPLITS = {"gtzan": REFERENCE_SPLIT, "folders": "random-80-20", "library": "random-80-20"}
#: Seconds a cancelled run gets to stop by itself before its process is ended.
CANCEL_GRACE_S = 5.0
POLL_MS = 100
#: Height (px) under which the training curve scrolls instead of shrinking.
CURVE_MIN_PX = 170


def path_problem(kind: str, text: str) -> str | None:
    """What is wrong with ``text`` as the location of a ``kind`` dataset (a quick look at the
    folder, nothing is read), or None when it looks usable. The empty path has its own message."""
    if not text.strip():
        return "Choose the dataset's folder" + (" or its features CSV." if kind == "gtzan" else ".")
    path = Path(text.strip()).expanduser()
    if not path.exists():
        return f"{path} does not exist."
    if path.is_file():
        if kind == "gtzan" and path.suffix.lower() == ".csv":
            return None
        return f"{path.name} is a file, not " + ("a dataset folder or a features CSV." if kind == "gtzan" else
                                                  "a folder with one sub-folder per genre.")
    if kind == "gtzan" and any((path / sub).is_dir() for sub in ("genres_original", "genres", "images_original")):
        return None
    if any(child.is_dir() for child in path.iterdir()):
        return None
    return (f"{path} holds no genre folders: expected " + ("genres_original/ or " if kind == "gtzan" else "")
            + "one sub-folder per genre.")


class TrainingProcess(QObject):
    """One training run in a spawned process, its messages turned into signals."""

    staged = Signal(str)
    epoch = Signal(dict)
    done = Signal(object)  # TrainOutcome
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, request: TrainRequest, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.request = request
        context = multiprocessing.get_context("spawn")
        self.queue = context.Queue()
        self.cancel_event = context.Event()
        self.process = context.Process(target=service.main, args=(request, self.queue, self.cancel_event),
                                       name="genre-tagger-training", daemon=True)
        self.timer = QTimer(self, interval=POLL_MS)
        self.timer.timeout.connect(self._poll)
        self.finished = False

    def start(self) -> None:
        self.process.start()
        self.timer.start()

    def cancel(self) -> None:
        """Ask the run to stop; end the process if it has not after ``CANCEL_GRACE_S``."""
        self.cancel_event.set()
        QTimer.singleShot(int(CANCEL_GRACE_S * 1000), self._end_if_alive)

    def stop_now(self) -> None:
        """End the process at once (the app is closing)."""
        self.cancel_event.set()
        self._end_if_alive()

    def _end_if_alive(self) -> None:
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(2)
        if not self.finished:
            self._finish()
            self.cancelled.emit()

    def _finish(self) -> None:
        self.finished = True
        self.timer.stop()

    def _poll(self) -> None:
        while not self.finished:
            try:
                kind, payload = self.queue.get_nowait()
            except queue_module.Empty:
                break
            self._handle(kind, payload)
        if not self.finished and not self.process.is_alive() and self.queue.empty():
            self._finish()
            self.failed.emit(f"the training process stopped unexpectedly (exit code {self.process.exitcode})")

    def _handle(self, kind: str, payload: Any) -> None:
        if kind == "stage":
            self.staged.emit(payload)
        elif kind == "epoch":
            self.epoch.emit(payload)
        else:
            self._finish()  # the process exits by itself; it is a daemon, reaped by multiprocessing
            if kind == "done":
                self.done.emit(TrainOutcome(**payload))
            elif kind == "cancelled":
                self.cancelled.emit()
            else:
                self.failed.emit(payload)


class RetrainWindow(QDialog):
    """The retrain dialog (not modal: the library stays usable while a model trains).

    ``specs`` is the trainer's method registry (loading it imports every method family, so the
    window does that in a job first); ``library_examples()`` gives the user's confirmed tracks as
    (song id, path, genre); ``use_bundle`` is emitted with the new bundle's folder when the user
    makes it active."""

    use_bundle = Signal(str)
    #: (dataset kind, path) whenever the user chooses a dataset, for the settings to remember.
    dataset_chosen = Signal(str, str)

    def __init__(self, specs: dict[str, service.MethodSpec], models_dir: Path, device: str,
                 library_examples: Callable[[], list[tuple[str, str, str]]], library_name: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Retrain the model")
        self.resize(980, 700)
        self.models_dir, self.device = models_dir, device
        self.library_examples, self.library_name = library_examples, library_name
        self.specs = specs
        self.run: TrainingProcess | None = None
        self.outcome: TrainOutcome | None = None
        self.history: list[dict] = []

        self.dataset = QComboBox()
        for key, title in DATASETS.items():
            self.dataset.addItem(title, key)
        self.path = QLineEdit()
        self.path.setPlaceholderText("a dataset folder or features CSV")
        self.path.editingFinished.connect(self._path_edited)
        self.path.textChanged.connect(self._check_path)
        self.path_note = QLabel(wordWrap=True)
        self.path_note.setStyleSheet("color: #b3261e")
        self.folder_button = QPushButton("Folder…")
        self.folder_button.clicked.connect(self._choose_folder)
        self.csv_button = QPushButton("CSV file…")
        self.csv_button.clicked.connect(self._choose_csv)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path, 1)
        path_row.addWidget(self.folder_button)
        path_row.addWidget(self.csv_button)
        self.library_note = QLabel()
        self.method = QComboBox()
        self.method.setMinimumContentsLength(24)
        self.method_note = QLabel(wordWrap=True)
        self.split = QComboBox()
        self.split.addItems(list(SPLIT_NAMES))
        self.split.setCurrentText(REFERENCE_SPLIT)
        self.split.currentIndexChanged.connect(self._explain_figure)
        self.leave_out = QCheckBox(f"Leave out the clips' '{LEAKY_COLUMN}' column, as the shipped model does")
        self.leave_out.setToolTip("GTZAN's length column tells which batch of files a clip came from, not how it "
                                  "sounds; every window the tagger cuts has the same length")
        self.leave_out.setChecked(True)
        self.leave_out.toggled.connect(self._explain_figure)
        self.figure_note = QLabel(wordWrap=True)
        self.seed = QSpinBox(minimum=0, maximum=10_000)
        self.parameters_box = QGroupBox("Main parameters")
        self.parameters_form = QFormLayout(self.parameters_box)
        self.parameter_edits: dict[str, tuple[QLineEdit, Any]] = {}

        choose = QGroupBox("Dataset and method")
        form = QFormLayout(choose)
        form.addRow("Dataset", self.dataset)
        form.addRow("Location", path_row)
        form.addRow("", self.path_note)
        form.addRow("", self.library_note)
        form.addRow("Method", self.method)
        form.addRow("", self.method_note)
        form.addRow("", self.leave_out)
        form.addRow("Split (by song)", self.split)
        form.addRow("", self.figure_note)
        form.addRow("Seed", self.seed)

        self.start_button = QPushButton("Train")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel training")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.stage = QLabel("Choose a dataset and a method, then press Train.")
        self.stage.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.epoch_line = QLabel()
        self.curve = FigureView(2.2)
        self.curve.message("loss and validation accuracy appear here, epoch by epoch")
        run_row = QHBoxLayout()
        run_row.addWidget(self.start_button)
        run_row.addWidget(self.cancel_button)
        run_row.addWidget(self.progress, 1)

        self.report_title = QTextBrowser(openLinks=False, maximumHeight=120, frameShape=QFrame.Shape.NoFrame)
        self.report_title.viewport().setAutoFillBackground(False)
        self.confusion = FigureView(4.0)
        self.confusion.setMinimumHeight(320)
        self.confusion.message("The report (accuracy, confusion matrix) appears here after training.")
        self.use_button = QPushButton("Use this model")
        self.use_button.setEnabled(False)
        self.use_button.clicked.connect(self._use)
        self.open_button = QPushButton("Open report folder")
        self.open_button.setEnabled(False)
        self.open_button.clicked.connect(self._open_report)
        report_box = QGroupBox("Report")
        report_layout = QVBoxLayout(report_box)
        report_layout.addWidget(self.report_title)
        report_layout.addWidget(self.confusion, 1)
        report_buttons = QHBoxLayout()
        report_buttons.addStretch()
        report_buttons.addWidget(self.open_button)
        report_buttons.addWidget(self.use_button)
        report_layout.addLayout(report_buttons)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addWidget(choose)
        left_layout.addWidget(self.parameters_box)
        left_layout.addLayout(run_row)
        left_layout.addWidget(self.stage)
        left_layout.addWidget(self.epoch_line)
        left_layout.addWidget(self.curve, 1)
        self.curve.setMinimumHeight(CURVE_MIN_PX)
        left_scroll = QScrollArea()  # a small screen scrolls the form; the curve never becomes a sliver
        left_scroll.setWidget(left)
        left_scroll.setWidgetResizable(True)
        left_scroll.setFrameShape(QFrame.Shape.NoFrame)
        splitter = QSplitter()
        splitter.addWidget(left_scroll)
        splitter.addWidget(report_box)
        splitter.setSizes([520, 460])
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.close)
        close.button(QDialogButtonBox.StandardButton.Close).setToolTip(
            "Close this window; a training under way goes on, and reopening shows it")
        outer = QVBoxLayout(self)
        outer.addWidget(splitter, 1)
        outer.addWidget(close)

        self.dataset.currentIndexChanged.connect(self._dataset_changed)
        self.method.currentIndexChanged.connect(self._method_changed)
        self._dataset_changed()

    # Choices

    @property
    def dataset_kind(self) -> str:
        return self.dataset.currentData()

    def set_dataset(self, kind: str, path: str = "") -> None:
        """Choose the dataset (one of ``DATASETS``) and, for the folder kinds, where it is."""
        self.dataset.setCurrentIndex(max(self.dataset.findData(kind), 0))
        self.path.setText(path)
        self._path_edited()

    def _path_edited(self) -> None:
        self._check_path()  # again: the folder may have changed since the text did
        self._refill_methods()
        self.dataset_chosen.emit(self.dataset_kind, self.path.text().strip())

    def _check_path(self) -> None:
        """Say at once what is wrong with the typed location; say nothing while it is empty."""
        text = self.path.text()
        problem = path_problem(self.dataset_kind, text) if text.strip() and self.dataset_kind != "library" else None
        self.path_note.setText(problem or "")
        self.path_note.setVisible(problem is not None)

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Dataset folder", self.path.text())
        if folder:
            self.set_dataset(self.dataset_kind, folder)

    def _choose_csv(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Features CSV", self.path.text(), "CSV files (*.csv)")
        if path:
            self.set_dataset(self.dataset_kind, path)

    def _dataset_changed(self) -> None:
        library = self.dataset_kind == "library"
        for widget in (self.path, self.folder_button):
            widget.setEnabled(not library)
        self._check_path()
        self.csv_button.setEnabled(self.dataset_kind == "gtzan")
        if library:
            examples = self.library_examples()
            genres = {g for _, _, g in examples}
            self.library_note.setText(f"{len(examples)} accepted tracks in {len(genres)} genres"
                                      + ("" if examples else ": accept some genres in the library first"))
        else:
            self.library_note.clear()
        self.library_note.setVisible(library)
        filtered = self.split.findText(REFERENCE_SPLIT)
        self.split.model().item(filtered).setEnabled(self.dataset_kind == "gtzan")
        self.split.setCurrentText(DEFAULT_SPLITS[self.dataset_kind])
        self._refill_methods(DEFAULT_METHODS[self.dataset_kind])
        self.dataset_chosen.emit(self.dataset_kind, self.path.text().strip())

    def _has_column_choice(self) -> bool:
        name = self.method.currentData()
        return name is not None and "drop_columns" in {f.name for f in dataclasses.fields(self.specs[name].config)}

    def _explain_figure(self) -> None:
        """Say whether the run's test figure will stand beside the shipped model's."""
        problems = []
        if self.split.currentText() != REFERENCE_SPLIT:
            problems.append(f"a {self.split.currentText()} split lets one artist's songs sit on both sides, "
                            "so its figure reads higher")
        if self._has_column_choice() and not self.leave_out.isChecked():
            problems.append(f"the '{LEAKY_COLUMN}' column flatters the figure")
        if problems:
            self.figure_note.setStyleSheet("color: #8a5a00")
            self.figure_note.setText(f"Not comparable with the shipped model's figure ({REFERENCE_SPLIT} split): "
                                     + "; ".join(problems) + ".")
        else:
            self.figure_note.setStyleSheet("color: #666666")
            self.figure_note.setText(f"The test figure will compare with the shipped model's ({REFERENCE_SPLIT} "
                                     "split, no artist on both sides).")

    def _refill_methods(self, choose: str | None = None) -> None:
        """CSV features feed only the methods built on those features; audio feeds every method.
        ``choose`` selects a method (the data kind's default), else the current one stays."""
        csv = self.dataset_kind == "gtzan" and self.path.text().lower().endswith(".csv")
        current = choose or self.method.currentData() or DEFAULT_METHODS["gtzan"]
        self.method.blockSignals(True)
        self.method.clear()
        for name, spec in sorted(self.specs.items()):
            if not csv or spec.pipeline == "gtzan-csv":
                published = f", published {spec.published}%" if spec.published else ""
                self.method.addItem(f"{name} (seed {spec.seed}{published})", name)
        self.method.setCurrentIndex(max(self.method.findData(current), 0))
        self.method.blockSignals(False)
        self._method_changed()

    def _method_changed(self) -> None:
        name = self.method.currentData()
        if name is None:
            return
        if not self.running:
            self._clear_results("Choose a dataset and a method, then press Train.")
        spec = self.specs[name]
        self.method_note.setText(f"{spec.summary} — input: {spec.pipeline}")
        self.leave_out.setVisible(self._has_column_choice())
        self._explain_figure()
        while self.parameters_form.rowCount():
            self.parameters_form.removeRow(0)
        self.parameter_edits = {}
        for key, default in main_parameters(name).items():
            edit = QLineEdit(json.dumps(default))
            edit.setToolTip(f"as genre-trainer --set {key}=VALUE")
            self.parameter_edits[key] = (edit, default)
            self.parameters_form.addRow(key, edit)

    def overrides(self) -> dict[str, Any]:
        """The parameters the user changed, parsed as the trainer's ``--set`` parses them."""
        changed = [f"{key}={edit.text().strip()}" for key, (edit, default) in self.parameter_edits.items()
                   if edit.text().strip() != json.dumps(default)]
        if self._has_column_choice() and self.leave_out.isChecked():
            changed.append(f"drop_columns={json.dumps([LEAKY_COLUMN])}")
        return parse_overrides(changed)

    def request(self) -> TrainRequest:
        """The run the form describes; raises ValueError with a message when it is incomplete."""
        method = self.method.currentData()
        if method is None:
            raise ValueError("choose a method")
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        out = str(self.models_dir / f"{method}-{stamp}")
        common = {"method": method, "out": out, "split": self.split.currentText(), "seed": self.seed.value(),
                  "overrides": self.overrides(), "device": self.device}
        if self.dataset_kind == "library":
            examples = tuple(self.library_examples())
            if not examples:
                raise ValueError("no accepted genres in your library yet: accept or set genres first")
            return TrainRequest(examples=examples, examples_name=self.library_name, **common)
        path = self.path.text().strip()
        problem = path_problem(self.dataset_kind, path)
        if problem:
            raise ValueError(problem)
        return TrainRequest(data=(path,), **common)

    # The run

    def _clear_results(self, stage: str) -> None:
        """Forget the last run's report, curve and figures (another method or dataset is chosen)."""
        self.history = []
        self.outcome = None
        self.use_button.setEnabled(False)
        self.open_button.setEnabled(False)
        self.report_title.clear()
        self.confusion.message("The report (accuracy, confusion matrix) appears here after training.")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.epoch_line.clear()
        self.curve.message("loss and validation accuracy appear here, epoch by epoch")
        self.stage.setText(stage)

    def start(self) -> None:
        try:
            request = self.request()
        except ValueError as exc:
            self.stage.setText(f"<span style='color:#b3261e'>{exc}</span>")
            return
        self._clear_results("starting the training process…")
        self.confusion.message("training…")
        epochs = request.overrides.get("train.epochs", main_parameters(request.method).get("train.epochs"))
        self.progress.setRange(0, int(epochs) if epochs else 0)
        self.curve.message("waiting for the first epoch" if epochs else "this method trains in one go, without epochs")
        self.run = TrainingProcess(request, self)
        self.run.staged.connect(lambda text: self.stage.setText(f"{text}…"))
        self.run.epoch.connect(self._epoch)
        self.run.done.connect(self._done)
        self.run.failed.connect(self._failed)
        self.run.cancelled.connect(self._cancelled)
        self._set_running(True)
        self.run.start()

    def cancel(self) -> None:
        if self.run is not None and not self.run.finished:
            self.stage.setText("stopping…")
            self.cancel_button.setEnabled(False)
            self.run.cancel()

    @property
    def running(self) -> bool:
        return self.run is not None and not self.run.finished

    def _set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        for widget in (self.dataset, self.method, self.split, self.seed, self.parameters_box, self.leave_out):
            widget.setEnabled(not running)
        if not running and self.progress.maximum() == 0:
            self.progress.setRange(0, 1)

    def _epoch(self, log: dict) -> None:
        self.history.append(log)
        if self.progress.maximum():
            self.progress.setValue(min(log["epoch"], self.progress.maximum()))
        valid = ("" if log["valid_accuracy"] is None else
                 f", validation loss {log['valid_loss']:.3f}, validation accuracy {log['valid_accuracy']:.1%}")
        self.epoch_line.setText(f"epoch {log['epoch']}: training loss {log['train_loss']:.3f}{valid}")
        self._draw_curve()

    def _draw_curve(self) -> None:
        figure = self.curve.figure
        figure.clear()
        loss = figure.add_subplot()
        epochs = [h["epoch"] for h in self.history]
        lines = loss.plot(epochs, [h["train_loss"] for h in self.history], label="training loss", color="#1f77b4")
        if any(h["valid_loss"] is not None for h in self.history):
            lines += loss.plot(epochs, [h["valid_loss"] for h in self.history], label="validation loss",
                               color="#ff7f0e")
            accuracy = loss.twinx()
            lines += accuracy.plot(epochs, [100 * (h["valid_accuracy"] or 0) for h in self.history],
                                   color="#2ca02c", label="validation accuracy")
            accuracy.set_ylabel("accuracy %")
            accuracy.set_ylim(0, 100)
        loss.xaxis.get_major_locator().set_params(integer=True)
        loss.set_xlabel("epoch")
        loss.set_ylabel("loss")
        loss.legend(handles=lines, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=3, fontsize=8,
                    frameon=False)
        self.curve.draw()

    def _done(self, outcome: TrainOutcome) -> None:
        self.outcome = outcome
        self._set_running(False)
        self.progress.setValue(self.progress.maximum())
        self.stage.setText("Done. Read the report, then make the new model active if you like it.")
        if not self.history:
            self.curve.message("this method trained in one go: no epochs to show")
        try:
            problem = bundle_info(outcome.bundle).comparability()
        except BundleError as exc:
            problem = str(exc)
        note = (f"<br><b style='color:#8a5a00'>Not comparable with the shipped model: {problem}.</b>" if problem else
                f"<br>On the same basis as the shipped model's figure ({REFERENCE_SPLIT} split).")
        self.report_title.setText(f"<h3>Test accuracy {outcome.accuracy:.1%} over {outcome.n_test} songs, "
                                  f"{outcome.split} split</h3>macro F1 {outcome.macro_f1:.3f}; "
                                  f"{len(outcome.labels)} genres{note}<br><small>{outcome.title}<br>"
                                  f"bundle: {outcome.bundle}</small>")
        self._draw_confusion(Path(outcome.report_dir) / "report.json")
        self.use_button.setEnabled(True)
        self.open_button.setEnabled(True)

    def _failed(self, message: str) -> None:
        self._set_running(False)
        self.stage.setText(f"<span style='color:#b3261e'>Training failed: {message}</span>")
        self.confusion.message("no report: the training did not finish")
        if not self.history:
            self.curve.message("no epochs: the training did not finish")

    def _cancelled(self) -> None:
        self._set_running(False)
        self.stage.setText("Training cancelled; nothing was saved.")
        self.confusion.message("no report: the training was cancelled")
        if not self.history:
            self.curve.message("no epochs: the training was cancelled")
        if self.run is not None:
            shutil.rmtree(self.run.request.out, ignore_errors=True)

    def _draw_confusion(self, report: Path) -> None:
        """The run's confusion matrix, drawn at the size of the panel (a picture scaled down to fit
        would shrink its digits to a few pixels)."""
        try:
            summary = json.loads(report.read_text(encoding="utf-8"))
            draw_confusion(self.confusion.figure, summary["confusion_matrix"], summary["labels"])
        except (OSError, ValueError, KeyError) as exc:
            self.confusion.message(f"no confusion matrix: {exc}")
            return
        self.confusion.draw()

    def _open_report(self) -> None:
        if self.outcome is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(self.outcome.report_dir))

    def _use(self) -> None:
        if self.outcome is not None:
            self.use_bundle.emit(self.outcome.bundle)
            self.stage.setText(f"{Path(self.outcome.bundle).parent.name} is now the active model.")
            self.use_button.setEnabled(False)

    def shutdown(self) -> None:
        """End a running training at once (the app is closing)."""
        if self.running and self.run is not None:
            self.run.stop_now()
