"""Starting the app: the Qt application, its icon and name, the log, and a last-resort error hook
that shows a message in the window instead of a traceback."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from types import TracebackType

from tagger.paths import RESOURCES, data_dir

ICON = RESOURCES / "icons" / "genre-tagger.svg"
log = logging.getLogger("tagger.gui")


def _has_display() -> bool:
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _log_to_file() -> Path:
    path = data_dir() / "genre-tagger.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    return path


def run_app(argv: list[str] | None = None, settings_path: Path | None = None) -> int:
    """Open the main window with the settings at ``settings_path`` (default: the data folder)."""
    if not _has_display():
        print("genre-tagger: no display to open the window on. Use the command line "
              "(genre-tagger --help), or run under a virtual screen (xvfb-run genre-tagger).", file=sys.stderr)
        return 2
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from tagger.gui.jobs import describe_error
    from tagger.gui.main_window import MainWindow
    from tagger.gui.settings import Settings

    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName("genre-tagger")
    app.setApplicationDisplayName("Genre Tagger")
    app.setDesktopFileName("genre-tagger")
    app.setWindowIcon(QIcon(str(ICON)))
    log_path = _log_to_file()
    window = MainWindow(Settings.load(settings_path))

    def show_error(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        log.error("unhandled error", exc_info=(kind, exc, tb))
        window.messages.show_message(f"{describe_error(exc)} (logged in {log_path})", "error")

    previous, sys.excepthook = sys.excepthook, show_error
    try:
        window.show()
        return app.exec()
    finally:
        sys.excepthook = previous
