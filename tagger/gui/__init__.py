"""The desktop app: a Qt window over the same library functions the CLI calls.

Qt is imported only when the window starts, so the CLI and the library stay usable without it.
"""

from __future__ import annotations


def run_app(argv: list[str] | None = None) -> int:
    """Open the main window and run until it closes; returns the exit code."""
    from tagger.gui.app import run_app as run

    return run(argv)


__all__ = ["run_app"]
