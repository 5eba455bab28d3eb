"""Bad files, a missing model, a full disk, a read-only file, a damaged catalogue: each one is a
clear message in the window, and the window goes on working."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from tagger.gui.jobs import describe_error
from tagger.library import LibraryError
from tagger.tags import ReadOnlyFile, read_tags
from tests.tagger.gui.conftest import rows, wait_idle


def test_a_missing_model_still_lets_the_user_scan(qtbot, make_window, music, tmp_path):
    window = make_window(model=str(tmp_path / "no-such-bundle"))
    assert window.messages.level == "warning"
    assert "No usable model: model bundle not found" in window.messages.text.text()
    window.add_folder(music)
    wait_idle(qtbot, window)
    text = window.messages.text.text()
    assert "Found 5 audio files: 5 new" in text and "Classifying was not possible" in text
    assert len(rows(window)) == 5
    assert "unusable" in window.settings_page.model_choice.currentText()


def test_a_read_only_file_is_reported_and_left_alone(qtbot, window, music):
    window.add_folder(music)
    wait_idle(qtbot, window)
    window.accept_above(0.0)
    wait_idle(qtbot, window)
    locked = music / "plain.wav"
    locked.chmod(0o444)
    try:
        window.write(window.settings.write_policy(min_confidence=0.0), "accepted")
        wait_idle(qtbot, window)
        assert window.messages.level == "warning"
        assert "Wrote genres into 3 files" in window.messages.text.text()
        assert "1 file could not be written" in window.messages.text.text()
        assert window.messages.details == [(str(locked), "file is read-only")]
        assert read_tags(locked).genres == []
    finally:
        locked.chmod(0o644)


def test_a_full_disk_is_a_message(qtbot, window, music, monkeypatch):
    window.add_folder(music)
    wait_idle(qtbot, window)
    window.accept_above(0.0)
    wait_idle(qtbot, window)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("tagger.gui.main_window.write_library", full)
    window.write(window.settings.write_policy(), "accepted")
    wait_idle(qtbot, window)
    assert window.messages.level == "error"
    assert window.messages.text.text().startswith("The disk is full")
    assert not window.busy and window.write_action.isEnabled()


def test_a_damaged_catalogue_is_a_message(qtbot, make_window, tmp_path):
    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(b"this is not a database" * 100)
    window = make_window(library=str(damaged))
    assert window.lib is None
    assert window.messages.level == "error"
    assert "The library cannot be opened" in window.messages.text.text()
    window.scan_and_classify([str(tmp_path)])
    assert "No library is open" in window.messages.text.text()


@pytest.mark.parametrize("exc, expected", [
    (LibraryError("nothing to undo"), "nothing to undo"),
    (ReadOnlyFile("/music/a.mp3", "file is read-only"), "/music/a.mp3: file is read-only"),
    (PermissionError(errno.EACCES, "Permission denied", "/music"), "Permission denied (/music)"),
    (OSError(errno.ENOSPC, "No space left on device"), "The disk is full"),
    (RuntimeError("boom"), "Unexpected error (RuntimeError): boom"),
])
def test_errors_are_described_in_words(exc, expected):
    assert describe_error(exc).startswith(expected)


def test_a_write_whose_catalogue_vanishes_promises_no_undo(qtbot, window, music, monkeypatch):
    """The catalogue deleted after the first file is written: the window says the write stopped and
    that Undo cannot revert it, instead of the usual promise."""
    import tagger.library.journal as journal

    window.add_folder(music)
    wait_idle(qtbot, window)
    window.accept_above(0.0)
    wait_idle(qtbot, window)
    db, real, written = window.lib.path, journal.write_genres, []

    def write_then_lose_catalogue(*args, **kwargs):
        real(*args, **kwargs)
        written.append(args[0])
        if len(written) == 1:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)

    monkeypatch.setattr(journal, "write_genres", write_then_lose_catalogue)
    window.write(window.settings.write_policy(min_confidence=0.0), "accepted")
    wait_idle(qtbot, window)
    text = window.messages.text.text()
    # the table's refresh may then find the catalogue gone too; the write's message stays first
    assert window.messages.level in ("warning", "error"), text
    assert text.startswith("Writing stopped:") and "1 file had been written" in text
    assert "Undo cannot put the old genres back" in text and "puts the old genres back." not in text
    tracks = [p for p in music.rglob("*") if p.suffix in (".flac", ".ogg", ".mp3", ".wav") and p.name != "broken.mp3"]
    assert [p for p in tracks if read_tags(p).genres] == [Path(written[0])]


def test_a_table_whose_catalogue_vanishes_shows_blank_rows(qtbot, window, music):
    """Painting rows whose catalogue was deleted under the window: blank cells, no exception in
    Qt's event loop (the job that meets the loss is the one that says so)."""
    window.add_folder(music)
    wait_idle(qtbot, window)
    model = window.model
    assert model.rowCount() > 0 and model.data(model.index(0, 0)) is not None
    window.lib.engine.dispose()   # the next query opens the file anew, as after the catalogue is gone
    for suffix in ("", "-wal", "-shm"):
        Path(f"{window.lib.path}{suffix}").unlink(missing_ok=True)
    model._pages.clear()
    assert [model.data(model.index(r, 0)) for r in range(model.rowCount())] == [None] * model.rowCount()
