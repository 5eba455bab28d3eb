"""Screenshots of every screen of the app at 1024x640 and 1920x1080, for the README.

Run by hand, not by CI (it classifies real clips and trains a small model, about two minutes):

    python scripts/screenshots.py [--out docs/screenshots] [--music FOLDER] [--sizes 1024x640 1920x1080]

Without ``--music`` it builds a small library in a temporary folder from the GTZAN sample clips
(two of each genre, one in a sub-folder under the same name as another, a playlist) and three
broken files, so the screens show real predictions and real error reports. The real window is
driven through adding the folder, classifying, review, the track detail, the write preview, the
write and its history, the taste profile, the settings and a retraining run; each screen is saved
as ``<out>/<width>x<height>/NN-name.png``. Settings and catalogue live in the temporary folder, so
the user's own library is never touched.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GTZAN = REPO.parent / "shared" / "data" / "gtzan"
SIZES = ("1024x640", "1920x1080")
TIMEOUT_S = 300.0


def build_music(folder: Path) -> Path:
    """Two clips of each GTZAN genre, one copied under the same name into a sub-folder, a
    playlist, and three files that are not audio (empty, text, truncated)."""
    clips = GTZAN / "genres_original"
    if not clips.is_dir():
        raise SystemExit(f"screenshots: the GTZAN sample clips are not at {clips}; pass --music FOLDER")
    folder.mkdir(parents=True)
    for genre in sorted(p for p in clips.iterdir() if p.is_dir()):
        for clip in sorted(genre.glob("*.wav"))[:2]:
            shutil.copyfile(clip, folder / clip.name)  # not the mode: the shared clips are read-only
    first = sorted(folder.glob("*.wav"))[0]
    (folder / "live").mkdir()
    shutil.copyfile(first, folder / "live" / first.name)
    (folder / "empty.mp3").write_bytes(b"")
    (folder / "notes.flac").write_text("not music\n" * 50)
    data = first.read_bytes()
    (folder / "truncated.wav").write_bytes(data[: len(data) // 20])
    names = sorted(p.name for p in folder.glob("*.wav"))
    (folder / "evening.m3u8").write_text("#EXTM3U\n" + "\n".join(names[::3]) + "\n", encoding="utf-8")
    return folder


def wait_until(app, condition: Callable[[], bool], what: str, timeout_s: float = TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"screenshots: timed out waiting for {what}")
        app.processEvents()
        time.sleep(0.02)
    app.processEvents()


def settle(app, seconds: float = 0.3) -> None:
    """Let layouts, charts and pending paints finish before a picture is taken."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)


def shoot_size(app, size: str, music: Path, out: Path, work: Path) -> list[Path]:
    """Drive a fresh window over a fresh catalogue at ``size`` and save every screen."""
    from tagger.gui.main_window import MainWindow
    from tagger.settings import Settings

    width, height = (int(v) for v in size.split("x"))
    folder = out / size
    folder.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []

    def save(widget, name: str) -> None:
        settle(app)
        path = folder / f"{name}.png"
        if not widget.grab().save(str(path)):
            raise SystemExit(f"screenshots: could not write {path}")
        saved.append(path)

    settings = Settings(work / size / "settings.json", {"library": str(work / size / "library.db")})
    window = MainWindow(settings)
    window.resize(width, height)
    window.show()
    save(window, "01-welcome")

    window.add_folder(music)
    wait_until(app, lambda: "/" in window.job_text.text() or not window.busy, "the first classified track")
    save(window, "02-classifying")
    wait_until(app, lambda: not window.busy and not window.side_jobs, "the scan and classification")
    save(window, "03-library")

    rows = [window.model.row(i) for i in range(window.model.rowCount())]
    classified = [i for i, r in enumerate(rows) if r is not None and r.predicted]
    in_sub_folder = [i for i in classified if "/live/" in rows[i].path]
    window.view.selectRow((in_sub_folder or classified or [0])[0])
    window.show_current_detail()
    wait_until(app, lambda: not window.side_jobs, "the spectrogram")
    save(window, "04-track-detail")

    window.accept_above(0.5)
    wait_until(app, lambda: not window.busy, "accepting")
    window.open_preview()
    dialog = window.preview_dialog
    dialog.resize(int(width * 0.85), int(height * 0.85))
    wait_until(app, dialog.write_button.isEnabled, "the write preview")
    save(dialog, "05-write-preview")
    dialog.write()
    wait_until(app, lambda: not window.busy, "writing")
    save(window, "06-written")
    window.open_history()
    window.history_dialog.resize(int(width * 0.7), int(height * 0.6))
    save(window.history_dialog, "07-write-history")
    window.history_dialog.close()

    window.tabs.setCurrentWidget(window.profile_tab)
    wait_until(app, lambda: not window.side_jobs, "the profile")
    window.profile_tab.refresh(snapshot=True)
    wait_until(app, lambda: not window.side_jobs, "the snapshot")
    save(window, "08-taste-profile")
    window.tabs.setCurrentWidget(window.settings_page)
    save(window, "09-settings")

    window.open_retrain()
    wait_until(app, lambda: window.retrain_window is not None and window.retrain_window.isVisible(),
               "the retrain dialog")
    retrain = window.retrain_window
    retrain.resize(int(width * 0.9), int(height * 0.9))
    retrain.set_dataset("gtzan", str(GTZAN / "features_30_sec.csv"))
    retrain.method.setCurrentIndex(retrain.method.findData("xgboost"))
    save(retrain, "10-retrain")
    retrain.start()
    wait_until(app, lambda: not retrain.running, "the training run")
    save(retrain, "11-retrain-report")
    retrain.close()

    window.close()
    wait_until(app, lambda: not window.isVisible(), "the window to close")
    return saved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    parser.add_argument("--music", type=Path, help="a folder of music to show (default: GTZAN sample clips)")
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), help="window sizes, WIDTHxHEIGHT")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, str(REPO))
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory(prefix="genre-tagger-screens-") as tmp:
        work = Path(tmp)
        for size in args.sizes:  # each size on fresh copies: the run writes tags into them
            music = work / size / "music"
            if args.music:
                shutil.copytree(args.music, music)
            else:
                build_music(music)
            for path in shoot_size(app, size, music, args.out, work):
                print(path, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
