"""The main window: music folders, the library table with its filters, review, the track detail,
the taste profile and the settings, and the job bar that runs the CLI's functions off the GUI
thread with progress, a live count and a cancel button."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from PySide6.QtCore import Qt, QThreadPool, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QResizeEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QStackedWidget,
    QStyle,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from tagger.gui.bundles import BundleInfo, activate, bundle_info
from tagger.gui.detail import Spectrogram, TrackDetailPanel, compute_spectrogram
from tagger.gui.jobs import (
    Job,
    JobContext,
    UntilCancelled,
    describe_error,
    end_child_processes,
    progress_text,
)
from tagger.gui.messages import MessageBar
from tagger.gui.profile_tab import ProfileTab, ProfileView, build_profile
from tagger.gui.retrain import RetrainWindow
from tagger.gui.review import HistoryDialog, ReviewBar, WritePreviewDialog
from tagger.gui.settings_page import SettingsPage
from tagger.gui.track_table import TrackTableModel, TrackTableView
from tagger.library import (
    ClassifyReport,
    EditReport,
    Library,
    ScanReport,
    WritePolicy,
    classify_library,
    confirm_genres,
    list_sessions,
    open_library,
    scan,
    undo,
    write_library,
)
from tagger.library.confirmed import confirmed_examples
from tagger.library.listing import Filters, genre_choices, track_detail, track_ids
from tagger.library.queries import STATUSES, Confirmed, Everything, Query, TrackIds
from tagger.library.review import AcceptRule, accept_predictions
from tagger.profile import Weighting
from tagger.settings import Settings

#: While a job runs, the table shows its progress this often (ms), or less often on a library so
#: large that re-reading it would take more than a twentieth of the GUI thread's time.
LIVE_REFRESH_MS = 1000
LIVE_REFRESH_SHARE = 20
#: The detail panel follows the current row after it has rested this long (ms).
DETAIL_DELAY_MS = 150
#: From this window width (px) on, the track detail sits beside the table; below it, under it.
DETAIL_BESIDE_MIN_WIDTH = 1280
#: The detail panel's share of the width beside the table, or of the height under it.
DETAIL_SHARE_BESIDE = 0.26
DETAIL_SHARE_UNDER = 0.38
#: While the window closes, it looks this often (ms) whether the stopped work has ended.
CLOSING_POLL_MS = 50
#: Work that has not ended this long (ms) after the window was asked to close is left to end on its own.
CLOSING_WAIT_MS = 1500


def _sentence(text: str) -> str:
    return text if text.endswith((".", "!", "?")) else f"{text}."


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


class MainWindow(QMainWindow):
    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings
        self.lib: Library | None = None
        self.bundle: BundleInfo | None = None
        self.job: Job | None = None  # the one job that changes the catalogue or files
        self.job_stage = ""
        self._counting: tuple[float, int] | None = None  # (when, done) of the stage's first count
        self.closing = False
        self._detail_beside: bool | None = None  # where the track detail is placed, once known
        self.side_jobs: set[Job] = set()  # read-only work: spectrograms, profile, previews
        self.pool = QThreadPool(self)
        self._classifier: Any = None
        self._classifier_key: tuple | None = None
        self.reopen_after_job = False  # the library setting changed while a job used the old one
        self.preview_dialog: WritePreviewDialog | None = None
        self.history_dialog: HistoryDialog | None = None
        self.retrain_window: RetrainWindow | None = None
        self.setWindowTitle("Genre Tagger")
        self.resize(1400, 860)

        self.messages = MessageBar()
        self.model = TrackTableModel(self)
        self.view = TrackTableView(self.model)
        self.detail = TrackDetailPanel()
        self.review = ReviewBar(settings["accept_threshold"])
        self.profile_tab = ProfileTab()
        self.settings_page = SettingsPage(settings)
        self.tabs = QTabWidget()
        self.tabs.addTab(self._library_tab(), "Library")
        self.tabs.addTab(self.profile_tab, "Taste profile")
        self.tabs.addTab(self.settings_page, "Settings")
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(6, 6, 6, 0)
        layout.addWidget(self.messages)
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)
        self._job_bar()
        self._actions()

        self.live = QTimer(self, interval=LIVE_REFRESH_MS)
        self.live.timeout.connect(self.refresh_table)
        self.detail_timer = QTimer(self, singleShot=True, interval=DETAIL_DELAY_MS)
        self.detail_timer.timeout.connect(self.show_current_detail)
        self.view.selectionModel().currentRowChanged.connect(lambda: self.detail_timer.start())
        self.model.modelReset.connect(self._count_changed)
        self.model.modelReset.connect(self._detail_follows_rows)
        self.detail.failed.connect(lambda text: self.messages.show_message(text, "error"))
        self.review.accept_selected.connect(self.accept_selected)
        self.review.accept_above.connect(self.accept_above)
        self.review.set_genre.connect(self.set_genre)
        self.review.clear_selected.connect(self.clear_selected)
        self.review.preview.connect(self.open_preview)
        self.profile_tab.requested.connect(self.compute_profile)
        self.tabs.currentChanged.connect(self._tab_changed)
        self.settings_page.changed.connect(self._setting_changed)
        self.settings_page.retrain.connect(self.open_retrain)
        self.open_catalogue()

    # Layout

    def _library_tab(self) -> QWidget:
        self.folder_list = QListWidget()
        self.folder_list.currentRowChanged.connect(lambda: self.apply_filters())
        add = QPushButton("Add…")
        add.clicked.connect(lambda: self.add_folder())
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self.remove_folder)
        folder_buttons = QHBoxLayout()
        folder_buttons.addWidget(add)
        folder_buttons.addWidget(self.remove_button)
        folders = QWidget()
        folders_layout = QVBoxLayout(folders)
        folders_layout.setContentsMargins(0, 0, 0, 0)
        folders_layout.addWidget(QLabel("<b>Music folders</b>"))
        folders_layout.addWidget(self.folder_list, 1)
        folders_layout.addLayout(folder_buttons)

        self.search = QLineEdit(placeholderText="Search title, artist, album, file", clearButtonEnabled=True)
        self.search.textChanged.connect(lambda: self.filter_timer.start())
        self.filter_timer = QTimer(self, singleShot=True, interval=250)
        self.filter_timer.timeout.connect(self.apply_filters)
        self.genre_filter = QComboBox(minimumContentsLength=10)
        self.genre_filter.addItem("All genres", None)
        self.genre_filter.currentIndexChanged.connect(lambda: self.apply_filters())
        self.status_filter = QComboBox()
        self.status_filter.addItem("Any status", None)
        for key, title in STATUSES.items():
            self.status_filter.addItem(title, key)
        self.status_filter.currentIndexChanged.connect(lambda: self.apply_filters())
        self.confidence_filter = QSpinBox(minimum=0, maximum=100, suffix="%", prefix="confidence ≥ ")
        self.confidence_filter.valueChanged.connect(lambda: self.filter_timer.start())
        self.count = QLabel()
        filters = QHBoxLayout()
        for widget in (self.search, self.genre_filter, self.status_filter, self.confidence_filter):
            filters.addWidget(widget)
        filters.addWidget(self.count, 1, Qt.AlignmentFlag.AlignRight)

        table_side = QWidget()
        table_layout = QVBoxLayout(table_side)
        table_layout.setContentsMargins(0, 0, 0, 0)
        table_layout.addLayout(filters)
        table_layout.addWidget(self.review)
        table_layout.addWidget(self.view, 1)

        welcome = QWidget()
        welcome_layout = QVBoxLayout(welcome)
        welcome_layout.addStretch()
        hello = QLabel("<h2>Welcome to Genre Tagger</h2><p>Add a folder of music: every track is listed with "
                       "its genre tag beside the genre the model hears, and you decide what is written.</p>",
                       alignment=Qt.AlignmentFlag.AlignCenter, wordWrap=True)
        welcome_layout.addWidget(hello)
        start = QPushButton("Add a music folder…")
        start.clicked.connect(lambda: self.add_folder())
        welcome_layout.addWidget(start, 0, Qt.AlignmentFlag.AlignCenter)
        welcome_layout.addStretch()
        self.library_stack = QStackedWidget()
        self.library_stack.addWidget(welcome)
        self.library_stack.addWidget(table_side)

        self.detail_split = QSplitter()
        self.detail_split.addWidget(self.library_stack)
        self.detail_split.addWidget(self.detail)
        self.detail_split.setStretchFactor(0, 1)
        splitter = QSplitter()
        splitter.addWidget(folders)
        splitter.addWidget(self.detail_split)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([150, 1300])
        return splitter

    def _place_detail(self) -> None:
        """The detail panel beside the table on a wide window, under it on a narrow one, where
        beside it would squeeze either to a sliver."""
        wide = self.width() >= DETAIL_BESIDE_MIN_WIDTH
        if wide == self._detail_beside:
            return
        self._detail_beside = wide
        self.detail_split.setOrientation(Qt.Orientation.Horizontal if wide else Qt.Orientation.Vertical)
        total = self.width() if wide else self.height()
        share = DETAIL_SHARE_BESIDE if wide else DETAIL_SHARE_UNDER
        self.detail_split.setSizes([int(total * (1 - share)), int(total * share)])

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._place_detail()

    def _job_bar(self) -> None:
        self.job_text = QLabel()
        self.job_progress = QProgressBar(maximumWidth=320)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_job)
        bar = self.statusBar()
        bar.addPermanentWidget(self.job_text)
        bar.addPermanentWidget(self.job_progress)
        bar.addPermanentWidget(self.cancel_button)
        for widget in (self.job_text, self.job_progress, self.cancel_button):
            widget.hide()

    def _action(self, text: str, slot: Callable[[], Any], shortcut: str | QKeySequence | None = None,
                icon: QStyle.StandardPixmap | None = None, tip: str = "") -> QAction:
        action = QAction(text, self)
        action.triggered.connect(lambda: slot())
        if shortcut is not None:
            action.setShortcut(shortcut)
        if icon is not None:
            action.setIcon(self.style().standardIcon(icon))
        action.setStatusTip(tip)
        action.setToolTip(tip or text)
        return action

    def _actions(self) -> None:
        pixmap = QStyle.StandardPixmap
        self.add_action = self._action("&Add music folder…", self.add_folder, QKeySequence.StandardKey.Open,
                                       pixmap.SP_DirOpenIcon, "Add a folder of music to the library")
        self.scan_action = self._action("&Scan and classify", self.scan_and_classify, "F5", pixmap.SP_BrowserReload,
                                        "Find new and changed files in your folders, then classify what is new")
        self.classify_action = self._action("&Classify", self.classify, None, pixmap.SP_MediaPlay,
                                            "Classify every track the active model has not judged yet")
        self.cancel_action = self._action("Ca&ncel", self.cancel_job, "Esc", pixmap.SP_BrowserStop,
                                          "Stop the running job after the current file")
        self.write_action = self._action("&Preview and write…", self.open_preview, "Ctrl+S",
                                         pixmap.SP_DialogSaveButton, "See what will be written, then write")
        self.undo_action = self._action("&Undo last write", self.undo_last, QKeySequence.StandardKey.Undo,
                                        pixmap.SP_ArrowBack, "Put back the genres the last write replaced")
        self.undo_tracks_action = self._action("Undo for &selected tracks", self.undo_selected)
        self.history_action = self._action("Write &history…", self.open_history)
        self.accept_action = self._action("&Accept selected", self.accept_selected, "Ctrl+Return")
        self.accept_above_action = self._action(
            "Accept all &above the threshold", lambda: self.accept_above(self.review.threshold.value() / 100))
        self.retrain_action = self._action("&Retrain the model…", self.open_retrain)
        close_action = self._action("&Close window", self.close, "Ctrl+W")
        quit_action = self._action("&Quit", self.close, "Ctrl+Q")
        quit_action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        menus = self.menuBar()
        file_menu = menus.addMenu("&File")
        for action in (self.add_action, self.scan_action, self.classify_action, self.cancel_action):
            file_menu.addAction(action)
        file_menu.addSeparator()
        file_menu.addAction(close_action)
        file_menu.addAction(quit_action)
        edit_menu = menus.addMenu("&Edit")
        for action in (self.undo_action, self.undo_tracks_action, self.history_action):
            edit_menu.addAction(action)
        tags_menu = menus.addMenu("&Tags")
        for action in (self.accept_action, self.accept_above_action, self.write_action):
            tags_menu.addAction(action)
        menus.addMenu("&Model").addAction(self.retrain_action)
        toolbar = QToolBar("Main", movable=False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for action in (self.add_action, self.scan_action, self.classify_action, self.cancel_action):
            toolbar.addAction(action)
        toolbar.addSeparator()
        for action in (self.write_action, self.undo_action):
            toolbar.addAction(action)
        self.addToolBar(toolbar)
        self.cancel_action.setEnabled(False)

    # The catalogue and the model

    def open_catalogue(self) -> None:
        """Open the library the settings name and make the chosen model active in it."""
        if self.lib is not None:
            self.lib.close()
            self.lib = None
        try:
            self.lib = open_library(self.settings.library_path)
        except Exception as exc:  # a damaged or newer catalogue: say so, keep the window usable
            self.messages.show_message(f"The library cannot be opened: {_sentence(describe_error(exc))} "
                                       "Choose another library file in Settings.", "error")
        else:
            if self.lib.backup is not None:
                self.messages.show_message(f"The library was upgraded; the previous version is saved as "
                                           f"{self.lib.backup}.", "info")
        self.activate_model()
        self.refresh_folders()
        self.model.set_library(self.lib)
        self.refresh_genres()
        self._update_actions()

    def activate_model(self) -> None:
        """Describe the model the settings name and make it the catalogue's active one."""
        try:
            self.bundle = bundle_info(self.settings.bundle_path)
            if self.lib is not None:
                activate(self.lib, self.bundle)
        except Exception as exc:
            self.bundle = None
            self.messages.show_message(f"No usable model: {_sentence(describe_error(exc))} Choose a model or "
                                       "retrain one in Settings; scanning and reviewing work without one.", "warning")

    def window_length_s(self) -> float:
        """The window length classification uses now (the setting, else the model's own)."""
        return self.settings["window_s"] or (self.bundle.window_length_s if self.bundle else 30.0)

    def _load_classifier(self, ctx: JobContext) -> Any:
        """The active model, loaded once and kept while the settings that shape it stay the same."""
        from tagger.engine import Classifier

        patches = self.settings["patches"] or None
        key = (str(self.settings.bundle_path), self.settings["device"], self.settings.window_choice(), patches)
        if self._classifier_key != key:
            ctx.stage("loading model")
            self._classifier = Classifier.load(self.settings.bundle_path, device=self.settings["device"],
                                               window=self.settings.window_choice(), patches=patches)
            self._classifier_key = key
        return self._classifier

    def _setting_changed(self, key: str) -> None:
        if key in ("library", "device") and self.retrain_window is not None and not self.retrain_window.running:
            self.retrain_window.deleteLater()  # it trains with these; the next one opens with the new values
            self.retrain_window = None
        if key == "library" and self.job is not None:
            self.reopen_after_job = True
            self.messages.show_message("The new library opens when the running job has finished.", "info")
        elif key == "library":
            self.open_catalogue()
        elif key == "model":
            self.activate_model()
            self.refresh_table()
            self.refresh_genres()
            if self.bundle is not None:
                self.messages.show_message(f"Active model: {self.bundle.title()}. Press Classify to judge your "
                                           "tracks with it.", "info")
        elif key == "accept_threshold":
            self.review.threshold.setValue(round(self.settings[key] * 100))

    # Folders and filters

    def refresh_folders(self) -> None:
        self.folder_list.blockSignals(True)
        self.folder_list.clear()
        self.folder_list.addItem(QListWidgetItem("All my folders"))
        for folder in self.settings.folders:
            item = QListWidgetItem(Path(folder).name or folder)
            item.setToolTip(folder)
            self.folder_list.addItem(item)
        self.folder_list.setCurrentRow(0)
        self.folder_list.blockSignals(False)
        self.library_stack.setCurrentIndex(1 if self.settings.folders else 0)
        self.apply_filters()

    def filters(self) -> Filters:
        row = self.folder_list.currentRow()
        return Filters(folders=tuple(self.settings.folders),
                       folder=self.settings.folders[row - 1] if 0 < row <= len(self.settings.folders) else None,
                       genre=self.genre_filter.currentData(), min_confidence=self.confidence_filter.value() / 100,
                       status=self.status_filter.currentData(), text=self.search.text().strip())

    def apply_filters(self) -> None:
        self.model.set_filters(self.filters())
        self._count_changed()

    def refresh_table(self) -> None:
        """Re-read the shown rows, keeping the selection, the current row and the scroll position."""
        selected, current = self.view.selected_ids(), self.view.current_id()
        scroll = self.view.verticalScrollBar().value()
        before = self.model.ids
        started = time.perf_counter()
        try:
            self.model.refresh()
        except Exception as exc:
            problem = f"The library cannot be read: {describe_error(exc)}"
            if self.messages.level == "warning" and self.messages.isVisible():
                # keep the warning that led here (e.g. a write stopped because the catalogue vanished)
                problem = f"{self.messages.text.text()} {problem}"
            self.messages.show_message(problem, "error", self.messages.details, self.messages.details_title)
            return
        took_ms = (time.perf_counter() - started) * 1000
        self.live.setInterval(max(LIVE_REFRESH_MS, int(took_ms * LIVE_REFRESH_SHARE)))
        if self.model.ids is not before:
            self.view.select_ids(selected, current)
            self.view.verticalScrollBar().setValue(scroll)
        self._count_changed()

    def refresh_genres(self) -> None:
        genres = genre_choices(self.lib) if self.lib else []
        current = self.genre_filter.currentData()
        self.genre_filter.blockSignals(True)
        self.genre_filter.clear()
        self.genre_filter.addItem("All genres", None)
        for genre in genres:
            self.genre_filter.addItem(genre, genre)
        self.genre_filter.setCurrentIndex(max(self.genre_filter.findData(current), 0))
        self.genre_filter.blockSignals(False)
        self.review.set_genres(genres)

    def _count_changed(self) -> None:
        self.count.setText(f"{_plural(len(self.model.ids), 'track')} shown")

    def add_folder(self, folder: str | Path | None = None) -> None:
        """Add a music folder (asking for it when not given) and scan and classify it."""
        if not self._ready():
            return
        if folder is None:
            folder = QFileDialog.getExistingDirectory(self, "Add a music folder", str(Path.home()))
            if not folder:
                return
        path = Path(folder).expanduser().resolve()
        if not path.is_dir():
            self.messages.show_message(f"{path} is not a folder.", "error")
            return
        known = [Path(f) for f in self.settings.folders]
        if any(path == k or path.is_relative_to(k) for k in known):
            self.messages.show_message(f"{path} is already in your folders.", "info")
            return
        self.settings.set("folders", [str(k) for k in known if not k.is_relative_to(path)] + [str(path)])
        self.refresh_folders()
        self.scan_and_classify([str(path)])

    def remove_folder(self) -> None:
        row = self.folder_list.currentRow()
        if row < 1:
            self.messages.show_message("Select one of your folders in the list to remove it.", "info")
            return
        folder = self.settings.folders[row - 1]
        self.settings.set("folders", [f for f in self.settings.folders if f != folder])
        self.refresh_folders()
        self.messages.show_message(f"{folder} is no longer one of your folders. Its tracks stay in the catalogue "
                                   "with their history (add the folder again to see them); no file was touched.")

    # Jobs

    @property
    def busy(self) -> bool:
        return self.job is not None

    def run_job(self, title: str, fn: Callable[[JobContext], Any], done: Callable[[Any], None],
                failed: Callable[[str], None] | None = None) -> Job | None:
        """Run ``fn`` off the GUI thread as the window's one catalogue job, with the job bar."""
        if not self._ready():
            return None
        job = Job(title, fn, self)
        self.job = job
        job.progressed.connect(self._job_progress)
        job.staged.connect(self._job_stage)
        job.succeeded.connect(done)
        job.failed.connect(failed or (lambda message: self.messages.show_message(message, "error")))
        job.finished.connect(self._job_finished)
        self._job_stage(title)
        for widget in (self.job_text, self.job_progress, self.cancel_button):
            widget.show()
        self.cancel_button.setEnabled(True)
        self._update_actions()
        self.live.start()
        job.start(self.pool)
        return job

    def _ready(self) -> bool:
        """True when a catalogue job may start; otherwise the message bar says why not."""
        if self.lib is None:
            self.messages.show_message("No library is open: choose a library file in Settings.", "error")
            return False
        if self.job is not None:
            self.messages.show_message(f"Wait for “{self.job.title}” to finish, or cancel it.", "info")
            return False
        return True

    def run_side_job(self, title: str, fn: Callable[[JobContext], Any], done: Callable[[Any], None],
                     failed: Callable[[str], None]) -> Job:
        """Work that may run beside the catalogue job: it only reads, or writes rows no catalogue
        job touches (profile snapshots)."""
        job = Job(title, fn, self)
        self.side_jobs.add(job)
        job.succeeded.connect(done)
        job.failed.connect(failed)
        job.finished.connect(lambda: self.side_jobs.discard(job))
        job.finished.connect(job.deleteLater)
        return job.start(self.pool)

    def _job_stage(self, stage: str) -> None:
        if self.closing:
            return
        self.job_stage = stage
        self._counting = None
        self.job_text.setText(f"{stage}…")
        self.job_progress.setRange(0, 0)  # busy until the stage counts

    def _job_progress(self, done: int, total: int) -> None:
        """The count, and from the second count on, the speed and the time left."""
        if self.closing:
            return
        now = time.monotonic()
        if self._counting is None:
            self._counting = (now, done)
        since, counted_from = self._counting
        self.job_progress.setRange(0, max(total, 1))
        self.job_progress.setValue(done)
        self.job_progress.setFormat(f"{done:,} / {total:,}")
        self.job_text.setText(f"{self.job_stage}: {progress_text(done, total, now - since, counted_from)}")

    def _job_finished(self) -> None:
        if self.job is not None:
            self.job.deleteLater()
        self.job = None
        self.live.stop()
        if self.closing:
            return
        for widget in (self.job_text, self.job_progress, self.cancel_button):
            widget.hide()
        if self.reopen_after_job:
            self.reopen_after_job = False
            self.open_catalogue()
        self._update_actions()
        self.refresh_table()
        self.refresh_genres()
        self.show_current_detail()

    def cancel_job(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.cancel_button.setEnabled(False)
            self.job_text.setText("stopping after the current file…")

    def _update_actions(self) -> None:
        idle = self.job is None and self.lib is not None
        for action in (self.scan_action, self.classify_action, self.write_action, self.undo_action,
                       self.undo_tracks_action, self.accept_action, self.accept_above_action):
            action.setEnabled(idle)
        self.review.setEnabled(idle)
        self.cancel_action.setEnabled(self.job is not None)

    def _in_folders(self, query: Query = Everything()) -> list[int]:
        """Ids of the tracks in the user's folders that ``query`` selects."""
        return track_ids(self.lib, Filters(folders=tuple(self.settings.folders)).query() & query)

    def scan_and_classify(self, folders: list[str] | None = None) -> None:
        """Scan ``folders`` (default: all of the user's), then classify what the model has not seen."""
        folders = list(folders or self.settings.folders)
        if not folders:
            self.messages.show_message("Add a music folder first.", "info")
            return
        lib = self.lib

        def work(ctx: JobContext) -> tuple[ScanReport, ClassifyReport | str | None]:
            ctx.stage("Scanning")
            scanned = scan(lib, folders, progress=ctx.progress, cancel=ctx.cancel)
            if scanned.cancelled:
                return scanned, None
            try:
                return scanned, self._classify(ctx)
            except Exception as exc:  # the scan stands even when the model cannot be used
                return scanned, describe_error(exc)

        self.run_job("Scanning", work, self._scanned)

    def classify(self) -> None:
        self.run_job("Classifying", self._classify, lambda report: self._classified(report, []))

    def _classify(self, ctx: JobContext) -> ClassifyReport:
        """Classify what the model has not judged. Every track is committed as it finishes, so
        the table's live refresh fills the rows in one by one."""
        classifier = UntilCancelled(self._load_classifier(ctx), ctx.cancel)
        workers = self.settings.workers()
        starting = workers != 0  # worker processes take a while to start before the first track is done
        ctx.stage("starting workers" if starting else "Classifying")

        def progress(done: int, total: int) -> None:
            nonlocal starting
            if starting:
                starting = False
                ctx.stage("Classifying")
            ctx.progress(done, total)

        source = None if self.bundle is None or self.bundle.shipped else str(self.settings.bundle_path.resolve())
        report = classify_library(self.lib, classifier, source=source, workers=workers, track_ids=self._in_folders(),
                                  progress=progress, cancel=ctx.cancel, commit_every=1)
        report.cancelled = report.cancelled or (ctx.cancel.is_set()
                                                and report.classified + len(report.failed) < report.total)
        return report

    def _scanned(self, result: tuple[ScanReport, ClassifyReport | str | None]) -> None:
        scanned, classified = result
        parts = [f"Found {_plural(scanned.found, 'audio file')}: {scanned.added:,} new, {scanned.updated:,} updated, "
                 f"{scanned.unchanged:,} unchanged"]
        if scanned.moved:
            parts.append(f"{len(scanned.moved):,} moved")
        if scanned.missing:
            parts.append(f"{len(scanned.missing):,} missing (kept in the catalogue)")
        if scanned.playlists:
            parts.append(_plural(scanned.playlists, "playlist") + " imported")
        problems = list(scanned.unreadable)
        text = ", ".join(parts) + "."
        if scanned.cancelled:
            text += " Scanning was stopped; press Scan and classify to go on."
        if isinstance(classified, str):
            self.messages.show_message(f"{text} Classifying was not possible: {_sentence(classified)}", "warning",
                                       problems, "Unreadable files")
            return
        self._classified(classified, problems, text)

    def _classified(self, report: ClassifyReport | None, problems: list[tuple[str, str]], prefix: str = "") -> None:
        text = prefix
        if report is not None:
            problems = problems + list(report.failed)
            text += f" Classified {report.classified:,} of {_plural(report.total, 'track')}"
            text += " (stopped; press Classify to go on)." if report.cancelled else "."
        if problems:
            text += f" {_plural(len(problems), 'file')} could not be read (see Details)."
        self.messages.show_message(text.strip(), "warning" if problems else "info", problems, "Files that could not be read")

    # Review

    def _confirm_job(self, title: str, fn: Callable[[Library], int | None], verb: str) -> None:
        lib = self.lib

        def done(n: int | None) -> None:
            if n is not None:
                self.messages.show_message(f"{verb} {_plural(n, 'track')}.", "info")

        self.run_job(title, lambda ctx: fn(lib), done)

    def accept_selected(self) -> None:
        ids = self.view.selected_ids()
        if not ids:
            self.messages.show_message("Select the tracks whose predicted genre you accept.", "info")
            return
        self._confirm_job("Accepting", lambda lib: len(accept_predictions(lib, TrackIds(ids),
                                                                          AcceptRule(keep_confirmed=False))),
                          "Accepted the predicted genre of")

    def accept_above(self, threshold: float) -> None:
        """Accept every listed track's prediction at or above ``threshold`` (keeping the user's own)."""
        ids = list(self.model.ids)
        self.settings.set("accept_threshold", threshold)
        self._confirm_job("Accepting", lambda lib: len(accept_predictions(lib, TrackIds(ids),
                                                                          AcceptRule(min_confidence=threshold))),
                          f"Accepted predictions of {threshold:.0%} or more for")

    def set_genre(self, genre: str) -> None:
        ids = self.view.selected_ids()
        if not ids:
            self.messages.show_message("Select the tracks to give this genre.", "info")
            return

        def work(lib: Library) -> int:
            confirm_genres(lib, ids, [genre])
            return len(ids)

        self._confirm_job("Setting the genre", work, f"Set “{genre}” for")

    def clear_selected(self) -> None:
        ids = self.view.selected_ids()

        def work(lib: Library) -> int:
            confirm_genres(lib, ids, None)
            return len(ids)

        self._confirm_job("Clearing", work, "Cleared the accepted genre of")

    # Writing and undo

    def _scope_ids(self, scope: str) -> list[int]:
        if scope == "selected":
            return self.view.selected_ids()
        return self._in_folders(Confirmed() if scope == "accepted" else Everything())

    def open_preview(self) -> None:
        """The write preview: choose scope and policy, see the dry run, then write."""
        if not self._ready():
            return
        counts = {"accepted": len(self._scope_ids("accepted")), "selected": len(self.view.selected_ids())}
        self.preview_dialog = WritePreviewDialog(self.settings, counts, self.preview_write, self.write, self)
        self.preview_dialog.show()
        self.preview_dialog.preview()

    def preview_write(self, policy: WritePolicy, scope: str) -> None:
        lib, ids, dialog = self.lib, self._scope_ids(scope), self.preview_dialog
        if dialog is None:
            return
        self.run_side_job("Preview", lambda ctx: write_library(lib, policy, dry_run=True, track_ids=ids,
                                                               cancel=ctx.cancel),
                          dialog.show_preview, dialog.preview_failed)

    def write(self, policy: WritePolicy, scope: str) -> None:
        lib, ids = self.lib, self._scope_ids(scope)
        self.run_job("Writing genres", lambda ctx: write_library(lib, policy, track_ids=ids, progress=ctx.progress,
                                                                 cancel=ctx.cancel), self._written)

    @staticmethod
    def _recovered(report: EditReport) -> str:
        """What the journal settled first, if a killed run had left edits unfinished."""
        return (f" First settled {_plural(report.recovered, 'edit')} an interrupted run had left unfinished."
                if report.recovered else "")

    def _written(self, report: EditReport) -> None:
        if report.session_id is None and not report.failed:
            self.messages.show_message("Nothing was written: no file needed a change under this policy."
                                       + self._recovered(report), "info")
            return
        if report.stopped:  # promise only what the journal can still keep
            undo_note = ("Edit ▸ Undo last write puts the old genres back once the catalogue can be written again."
                         if report.journal_kept else
                         "The catalogue holding their journal is gone, so Undo cannot put the old genres back.")
            text = (f"Writing stopped: {report.stopped}. {_plural(len(report.changes), 'file')} had been written "
                    f"before that. {undo_note}" + self._recovered(report))
        else:
            text = (f"Wrote genres into {_plural(len(report.changes), 'file')}. Edit ▸ Undo last write puts the "
                    "old genres back." + self._recovered(report))
        if report.cancelled:
            text += " Writing was stopped before the end."
        failed = [(f.path, f.reason) for f in report.failed]
        if failed:
            text += f" {_plural(len(failed), 'file')} could not be written (read-only or damaged): see Details."
        self.messages.show_message(text, "warning" if failed or report.stopped else "info", failed, "Files not written")

    def undo_last(self, session_id: int | None = None) -> None:
        lib = self.lib
        self.run_job("Undoing", lambda ctx: undo(lib, session_id=session_id, progress=ctx.progress,
                                                 cancel=ctx.cancel), self._undone)

    def undo_selected(self) -> None:
        ids, lib = self.view.selected_ids(), self.lib
        if not ids:
            self.messages.show_message("Select the tracks whose last change to undo.", "info")
            return
        self.run_job("Undoing", lambda ctx: undo(lib, track_ids=ids, progress=ctx.progress, cancel=ctx.cancel),
                     self._undone)

    def _undone(self, report: EditReport) -> None:
        text = f"Restored the previous genres of {_plural(len(report.changes), 'file')}."
        if not report.changes and not report.skipped and not report.failed:
            text = "Nothing to undo."
        text += self._recovered(report)
        left = [(s.path, s.reason) for s in report.skipped] + [(f.path, f.reason) for f in report.failed]
        if left:
            text += f" {_plural(len(left), 'file')} left as they are (changed since, or not writable): see Details."
        self.messages.show_message(text, "warning" if left else "info", left, "Files not restored")

    def open_history(self) -> None:
        if self.lib is None:
            return
        self.history_dialog = HistoryDialog(list_sessions(self.lib), self)
        self.history_dialog.undo_session.connect(self.undo_last)
        self.history_dialog.show()

    # Detail and profile

    def show_current_detail(self) -> None:
        track_id = self.view.current_id()
        detail = track_detail(self.lib, track_id) if self.lib and track_id is not None else None
        self.detail.show_track(detail, self.window_length_s())
        if detail is not None and detail.row.status == "ok":
            path = detail.row.path
            self.run_side_job("Spectrogram", lambda ctx: compute_spectrogram(track_id, path),
                              self._spectrogram_ready, self.detail.spectrogram_failed)

    def _detail_follows_rows(self) -> None:
        """Empty the detail panel when its track is no longer listed (filtered out, or its folder
        removed): it must never describe a row the table does not show."""
        shown = self.detail.detail
        if shown is not None and self.model.position_of(shown.row.track_id) is None:
            self.detail.show_track(None, self.window_length_s())

    def _spectrogram_ready(self, spectrogram: Spectrogram) -> None:
        self.detail.show_spectrogram(spectrogram)

    def _tab_changed(self, index: int) -> None:
        if self.tabs.widget(index) is self.profile_tab:
            self.profile_tab.refresh()

    def compute_profile(self, weighting: str, snapshot: bool) -> None:
        lib = self.lib
        if lib is None:
            self.profile_tab.show_error("no library is open")
            return
        self.run_side_job("Profile", lambda ctx: build_profile(lib, cast(Weighting, weighting), snapshot),
                          self._profile_ready, self.profile_tab.show_error)

    def _profile_ready(self, view: ProfileView) -> None:
        self.profile_tab.show_view(view)

    # Retraining

    def open_retrain(self) -> None:
        """Show the retrain dialog; the trainer's registry is loaded off the GUI thread first."""
        if self.retrain_window is not None:
            self.retrain_window.show()
            self.retrain_window.raise_()
            return
        from trainer.service import methods

        self.retrain_action.setEnabled(False)
        self.statusBar().showMessage("Loading the training methods…")

        def opened(registry: dict) -> None:
            self.statusBar().clearMessage()
            self.retrain_action.setEnabled(True)
            self.retrain_window = RetrainWindow(
                registry, self.settings.models_dir, self.settings["device"],
                lambda: confirmed_examples(self.lib, self.settings.folders) if self.lib else [],
                f"your library ({self.settings.library_path})", self)
            self.retrain_window.use_bundle.connect(lambda path: self.settings_page.set_model(Path(path)))
            self.retrain_window.set_dataset(self.settings["retrain_dataset"], self.settings["retrain_path"])
            self.retrain_window.dataset_chosen.connect(self._remember_dataset)
            self.open_retrain()

        def failed(message: str) -> None:
            self.statusBar().clearMessage()
            self.retrain_action.setEnabled(True)
            self.messages.show_message(f"The trainer cannot be loaded: {message}", "error")

        self.run_side_job("Loading methods", lambda ctx: methods(), opened, failed)

    def _remember_dataset(self, kind: str, path: str) -> None:
        """Keep the retraining dataset for the next time the dialog opens."""
        self.settings.set("retrain_dataset", kind)
        if kind != "library":
            self.settings.set("retrain_path", path)

    # Closing

    def closeEvent(self, event: QCloseEvent) -> None:
        """Close at once when idle. With work running, say "stopping", stop it (jobs are
        cancelled, worker processes and a training run are ended; every classified track is
        already committed) and close as soon as the work has let go, or after ``CLOSING_WAIT_MS``."""
        if not self.closing and (self.job is not None or self.side_jobs or self.pool.activeThreadCount()):
            self.closing = True
            event.ignore()
            self.job_text.setText("stopping…")
            self.job_progress.setRange(0, 0)
            self.cancel_button.setEnabled(False)
            for widget in (self.job_text, self.job_progress):
                widget.show()
            for job in [self.job, *self.side_jobs]:
                if job is not None:
                    job.cancel()
            if self.retrain_window is not None:
                self.retrain_window.shutdown()
            end_child_processes()
            self._close_deadline = time.monotonic() + CLOSING_WAIT_MS / 1000
            self._close_poll = QTimer(self, interval=CLOSING_POLL_MS)
            self._close_poll.timeout.connect(self._close_when_stopped)
            self._close_poll.start()
            return
        self.closing = True
        if self.retrain_window is not None:
            self.retrain_window.shutdown()
        end_child_processes()
        self.live.stop()
        if self.lib is not None and not self.pool.activeThreadCount():
            self.lib.close()
        super().closeEvent(event)

    def _close_when_stopped(self) -> None:
        if self.pool.activeThreadCount() and time.monotonic() < self._close_deadline:
            return
        self._close_poll.stop()
        self.close()
