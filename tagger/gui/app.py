"""Starting the app: the Qt application, its icon and name, the log, and a last-resort error hook
that shows a message in the window instead of a traceback."""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import TracebackType

from tagger.paths import data_dir
from trainer.runtime.resources import RESOURCES

ICON = RESOURCES / "icons" / "genre-tagger.svg"
log = logging.getLogger("tagger.gui")


def _has_display() -> bool:
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def apt_package(soname: str) -> str:
    """The Debian/Ubuntu package that ships ``soname`` by the shared-library naming rule:
    ``libxcb-cursor.so.0`` -> ``libxcb-cursor0``, ``libxkbcommon-x11.so.0`` -> ``libxkbcommon-x11-0``."""
    name, _, version = soname.partition(".so.")
    version = version.split(".")[0]
    return (name + ("-" if name[-1].isdigit() else "") + version).lower() if version else name.lower()


def missing_libraries(ldd_output: str) -> list[str]:
    """The libraries ``ldd`` could not find, once each, in order."""
    return list(dict.fromkeys(re.findall(r"^\s*(\S+) => not found", ldd_output, re.MULTILINE)))


def xcb_problem() -> str | None:
    """One line saying which system libraries Qt's X11 plugin lacks (and their apt packages), or
    None. Qt itself would only print a page of hints and abort with a core dump."""
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if not sys.platform.startswith("linux") or platform not in ("", "xcb") or shutil.which("ldd") is None:
        return None
    if not platform and os.environ.get("WAYLAND_DISPLAY"):
        return None
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    plugin = Path(list(spec.submodule_search_locations)[0]) / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    if not plugin.is_file():
        return None
    ldd = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True, check=False)
    missing = missing_libraries(ldd.stdout)
    if not missing:
        return None
    return (f"genre-tagger: the window cannot open: Qt's X11 support needs {', '.join(missing)}, which this system "
            f"lacks. Install {'it' if len(missing) == 1 else 'them'} with: sudo apt-get install "
            f"{' '.join(apt_package(m) for m in missing)}")


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
    problem = xcb_problem()
    if problem is not None:
        print(problem, file=sys.stderr)
        return 2
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from tagger.gui.jobs import describe_error
    from tagger.gui.main_window import MainWindow
    from tagger.settings import Settings
    from trainer.runtime.device import configure_process

    configure_process()
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
