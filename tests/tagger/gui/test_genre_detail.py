"""The track detail under the MSD genre tagger: genres drawn window by window, the threshold that
makes a genre count, and the descriptors shown apart, never among the genres."""

from __future__ import annotations

import numpy as np
import soundfile as sf

from tagger.engine import Classifier
from tagger.gui.detail import TrackDetailPanel
from tagger.library import classify_library, open_library, scan
from tagger.library.listing import track_detail
from tests.support import gtzan_dir, write_audio
from trainer.runtime.resources import RESOURCES


def test_the_detail_draws_genres_over_the_windows_and_descriptors_apart(qtbot, tmp_path):
    rock, rate = sf.read(gtzan_dir() / "genres_original" / "rock" / "rock.00003.wav", dtype="float32")
    jazz, _ = sf.read(gtzan_dir() / "genres_original" / "jazz" / "jazz.00001.wav", dtype="float32")
    write_audio(tmp_path / "music" / "medley.flac", np.concatenate([rock[: 30 * rate], jazz[: 30 * rate]]), rate)
    msd = Classifier.load(RESOURCES / "musicnn-msd", device="cpu")
    with open_library(tmp_path / "lib.db") as lib:
        scan(lib, [tmp_path / "music"])
        classify_library(lib, msd, workers=0)
        detail = track_detail(lib, 1)
    assert len(detail.window_probs) == 2 and detail.labels == msd.labels

    panel = TrackDetailPanel()
    qtbot.addWidget(panel)
    panel.resize(900, 700)
    panel.show_track(detail, 30.0)
    panel.timeline.canvas.draw()
    strip, lines = panel.timeline.figure.axes
    leading = [msd.labels[int(np.argmax(p))] for p in detail.window_probs]
    assert [t.get_text().split("\n")[0] for t in strip.texts] == leading  # each window's own genre
    assert len(strip.patches) == 2
    [legend] = panel.timeline.figure.legends
    shown = {t.get_text() for t in legend.get_texts()}
    assert shown <= set(msd.labels) and not shown & set(msd.descriptors)
    assert [line.get_ydata()[0] for line in lines.get_lines() if line.get_linestyle() == ":"] == \
        [msd.threshold * 100]  # the line above which a genre counts
    heard = [item.rsplit(" ", 1)[0] for item in panel.facts["heard"].text().split(" · ")]
    assert heard == [d for d, _ in detail.descriptors[:4]] and set(heard) <= set(msd.descriptors)
    assert heard[0] == max(detail.descriptors, key=lambda kv: kv[1])[0]
