"""Starting the app: ``genre-tagger`` with no arguments opens the window; without a display it
says what to do instead of crashing; the Linux launcher files are complete."""

from __future__ import annotations

import ast
import configparser
import subprocess

from tagger.cli import main
from tests.support import REPO_ROOT


def test_no_arguments_open_the_window(monkeypatch):
    started = []
    monkeypatch.setattr("tagger.gui.run_app", lambda: started.append(True) or 0)
    assert main([]) == 0 and started == [True]


def test_without_a_display_the_app_says_how_to_go_on(monkeypatch, capsys):
    from tagger.gui import run_app

    for variable in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(variable, raising=False)
    assert run_app() == 2
    assert "xvfb-run genre-tagger" in capsys.readouterr().err


def test_the_desktop_entry_and_the_build_recipe_are_complete():
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(REPO_ROOT / "packaging" / "genre-tagger.desktop")
    desktop = entry["Desktop Entry"]
    assert desktop["Type"] == "Application" and desktop["Exec"] == "genre-tagger"
    assert desktop["Icon"] == "genre-tagger" and desktop["Terminal"] == "false"
    for icon in ("genre-tagger.svg", "genre-tagger.png"):
        assert (REPO_ROOT / "resources" / "icons" / icon).stat().st_size > 0
    spec = (REPO_ROOT / "packaging" / "genre-tagger.spec").read_text()
    ast.parse(spec)
    assert '"launch.py"' in spec and (REPO_ROOT / "packaging" / "launch.py").is_file()
    assert (REPO_ROOT / "packaging" / "build-linux.sh").stat().st_mode & 0o111


LDD_WITHOUT_XCB = """\
\tlinux-vdso.so.1 (0x00007ffd)
\tlibQt6XcbQpa.so.6 => /venv/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f)
\tlibxcb-cursor.so.0 => not found
\tlibxkbcommon-x11.so.0 => not found
\tlibxcb-cursor.so.0 => not found
"""


def test_a_missing_xcb_library_is_named_with_its_package(monkeypatch, capsys):
    from tagger.gui import app

    assert app.missing_libraries(LDD_WITHOUT_XCB) == ["libxcb-cursor.so.0", "libxkbcommon-x11.so.0"]
    assert [app.apt_package(s) for s in ("libxcb-cursor.so.0", "libxkbcommon-x11.so.0", "libGL.so.1")] == \
        ["libxcb-cursor0", "libxkbcommon-x11-0", "libgl1"]
    monkeypatch.setenv("DISPLAY", ":0")
    for variable in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setattr(app.subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(a, 0, LDD_WITHOUT_XCB, ""))
    assert app.run_app() == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.endswith("needs libxcb-cursor.so.0, libxkbcommon-x11.so.0, which this system lacks. "
                         "Install them with: sudo apt-get install libxcb-cursor0 libxkbcommon-x11-0")
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")  # another platform: nothing to check
    assert app.xcb_problem() is None
