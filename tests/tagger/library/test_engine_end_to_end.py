"""A new user's session with the real engine and the shipped model, on real GTZAN clips:
scan, classify the library, dry run, write, undo, profile, all through ``genre-tagger``."""

from __future__ import annotations

import numpy as np
import soundfile as sf
from sqlalchemy import select

from tagger.cli import main
from tagger.library import Prediction, open_library
from tagger.tags import read_tags
from tests.support import gtzan_dir, write_audio
from tests.tagger.tags.readers import ffprobe_genre


def test_scan_classify_write_undo_profile_with_the_shipped_model(tmp_path, capsys):
    music = tmp_path / "music"
    for genre, fmt in (("classical", "flac"), ("jazz", "mp3"), ("rock", "wav")):
        samples, rate = sf.read(gtzan_dir() / "genres_original" / genre / f"{genre}.00001.wav", dtype="float32")
        write_audio(music / f"{genre}.{fmt}", samples, rate)
    db = ["--db", str(tmp_path / "lib.db")]
    assert main([*db, "scan", str(music)]) == 0
    assert main([*db, "classify", "--workers", "0"]) == 0
    assert "3 of 3 tracks classified" in capsys.readouterr().out
    with open_library(tmp_path / "lib.db") as lib, lib.session() as session:
        predictions = {p.track.path.rsplit("/", 1)[1]: p for p in session.scalars(select(Prediction))}
        labels = predictions["rock.wav"].model.labels
    descriptors = predictions["rock.wav"].model.descriptors
    for prediction in predictions.values():  # the default tagger scores each genre on its own
        assert all(0.0 <= p <= 1.0 for p in prediction.probs + prediction.descriptor_probs)
        assert len(prediction.probs) == len(labels) and len(prediction.descriptor_probs) == len(descriptors) > 0
        assert labels[int(np.argmax(prediction.probs))] == prediction.genre
        assert prediction.n_windows == 1 and not prediction.padded  # a 30-second clip is one window

    assert main([*db, "write", "--dry-run", "--min-confidence", "0.01", "--max-genres", "1"]) == 0
    assert "3 files would change" in capsys.readouterr().out
    assert all(read_tags(music / name).genres == [] for name in predictions)
    assert main([*db, "write", "--min-confidence", "0.01", "--max-genres", "1"]) == 0
    for name, prediction in predictions.items():
        assert read_tags(music / name).genres == [prediction.genre]
        assert ffprobe_genre(music / name) == prediction.genre
    assert main([*db, "profile", "--chart", str(tmp_path / "profile.png")]) == 0
    assert "Library: 3 tracks" in capsys.readouterr().out
    assert main([*db, "undo"]) == 0
    assert all(read_tags(music / name).genres == [] for name in predictions)


def test_each_track_comes_back_as_soon_as_it_is_classified(tmp_path, monkeypatch):
    """Cross-track batching never holds a finished track back: in-process, the first result arrives
    before the second track is even decoded, and every result equals the one-track run."""
    import tagger.engine.classifier as engine

    clips = sorted((gtzan_dir() / "genres_original" / "rock").glob("rock.0000[0-3].wav"))
    classifier = engine.Classifier.load(device="cpu")
    prepared: list[str] = []
    real_prepare = engine._prepare

    def counting(path, *args):
        prepared.append(path.name)
        return real_prepare(path, *args)

    monkeypatch.setattr(engine, "_prepare", counting)
    results = classifier.classify_paths(clips, workers=0)
    first = next(results)
    assert prepared == [clips[0].name] and first.path == clips[0]
    rest = list(results)
    assert [r.path for r in rest] == clips[1:] and len(prepared) == len(clips)
    alone = next(classifier.classify_paths([clips[2]], workers=0))
    np.testing.assert_allclose(rest[1].probs, alone.probs, rtol=1e-6)
