"""Fixtures for driving the real window offscreen: a small model bundle, a folder of generated
music, and a window whose settings and catalogue live in the test's temporary folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.support import REPO_ROOT, gtzan_dir, tone, write_audio

SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"
#: Long enough for the slowest step of a test (a classification of a few files on a busy machine).
JOB_TIMEOUT_MS = 60_000


@pytest.fixture(scope="session")
def model_bundle(tmp_path_factory) -> Path:
    """k-NN on the GTZAN CSV features (trains in a blink), exported as a real bundle."""
    from trainer import bundle
    from trainer.data.feature_table import load_csv
    from trainer.methods import create
    from trainer.methods.base import Arrays
    from trainer.runtime.features import make

    table, _ = load_csv(gtzan_dir() / "features_30_sec.csv").usable()
    method = create("knn", table.labels, drop_columns=("length",))
    method.fit(Arrays(table.x, table.y(table.labels), table.songs), None)
    return bundle.export(tmp_path_factory.mktemp("model") / "knn", method, make("gtzan-csv"),
                         metrics={"accuracy": 0.64, "n_test": 200}, training_data="GTZAN CSV, every row")


def chord(root_hz: float, seconds: float = 6.0, rate: int = 22050) -> np.ndarray:
    """A noisy major triad: richer than a sine, so every feature has something to measure."""
    mix = sum(tone(seconds, rate, freq=root_hz * ratio) for ratio in (1.0, 1.25, 1.5))
    noise = np.random.default_rng(int(root_hz)).standard_normal(mix.shape).astype(np.float32)
    return (mix / 3 + 0.05 * noise).astype(np.float32)


def medley(rate: int = 22050) -> np.ndarray:
    """Four 5-s parts that sound nothing alike: a low chord, noise, a beat, a high chord."""
    rng = np.random.default_rng(7)
    beat = np.zeros((5 * rate, 1), np.float32)
    for start in range(0, 5 * rate, rate // 2):
        beat[start:start + rate // 20] = rng.standard_normal((rate // 20, 1)) * 0.6
    noise = (0.3 * rng.standard_normal((5 * rate, 1))).astype(np.float32)
    return np.concatenate([chord(110.0, 5.0, rate), noise, beat, chord(1760.0, 5.0, rate)])


@pytest.fixture(scope="session")
def music_template(tmp_path_factory) -> Path:
    """Four tracks in four formats (two in an album folder; one a 20-s medley, four windows of
    5 s), one file that is not audio, and a playlist."""
    folder = tmp_path_factory.mktemp("music-template")
    write_audio(folder / "albums/first/low.flac", medley(), 22050)
    for i, name in enumerate(("albums/first/mid.ogg", "high.mp3", "plain.wav"), 1):
        write_audio(folder / name, chord(110.0 * (i + 1) ** 2), 22050)
    (folder / "broken.mp3").write_text("this is not music\n" * 40)
    (folder / "mix.m3u8").write_text("#EXTM3U\nalbums/first/low.flac\nhigh.mp3\n", encoding="utf-8")
    return folder


@pytest.fixture
def music(tmp_path, music_template) -> Path:
    return Path(shutil.copytree(music_template, tmp_path / "music"))


@pytest.fixture
def make_window(qtbot, tmp_path, model_bundle):
    """``make_window(**settings)``: a shown main window over a fresh catalogue in ``tmp_path``.
    Windows of 5 s keep feature extraction quick; decoding runs in the app (no worker start-up)."""
    from tagger.gui.main_window import MainWindow
    from tagger.settings import Settings

    windows = []

    def make(**values) -> MainWindow:
        settings = Settings(tmp_path / "settings.json", {"library": str(tmp_path / "data" / "library.db"),
                                                         "model": str(model_bundle), "window_s": 5.0,
                                                         "workers": 0} | values)
        window = MainWindow(settings)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.close()


@pytest.fixture
def window(make_window):
    return make_window()


def wait_idle(qtbot, window, timeout: int = JOB_TIMEOUT_MS) -> None:
    """Wait until the window's job (and the jobs it started on the side) have finished."""
    qtbot.waitUntil(lambda: not window.busy and not window.side_jobs, timeout=timeout)


def screenshot(widget, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    assert widget.grab().save(str(path)), f"could not save {path}"
    return path


def rows(window) -> list:
    model = window.model
    return [model.row(i) for i in range(model.rowCount())]


def select_file(window, name: str) -> None:
    """Make the row of the file called ``name`` the selected, current one."""
    [position] = [i for i, row in enumerate(rows(window)) if row.path.endswith(f"/{name}")]
    window.view.selectRow(position)


def open_retrain(qtbot, window):
    """The retrain dialog, once the window has loaded the trainer's registry for it."""
    window.open_retrain()
    qtbot.waitUntil(lambda: window.retrain_window is not None and window.retrain_window.isVisible(),
                    timeout=JOB_TIMEOUT_MS)
    return window.retrain_window
