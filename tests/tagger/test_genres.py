"""The MSD tagger as a genre tagger: genre tags mapped to display names, the other tags kept as
descriptors that are shown but never written, genres picked above a threshold."""

import json
import shutil

import numpy as np
import pytest

from tagger.engine import Classifier
from tagger.genres import Vocabulary, pick
from tagger.tags import read_tags
from tests.tagger.library.helpers import library_template, music  # noqa: F401  (fixtures)
from trainer.runtime.bundle import BundleError, Manifest, read_manifest
from trainer.runtime.resources import RESOURCES

MSD = RESOURCES / "musicnn-msd"


@pytest.fixture(scope="module")
def manifest() -> Manifest:
    return read_manifest(MSD)


@pytest.fixture(scope="module")
def vocabulary(manifest) -> Vocabulary:
    return Vocabulary.of(list(manifest.labels), manifest.vocabulary)


def test_genre_tags_get_canonical_names_and_the_rest_are_descriptors(vocabulary):
    for name in ("Hip-Hop", "R&B", "Progressive Rock", "Alternative Rock", "Electronic", "Rock", "Jazz"):
        assert name in vocabulary.genres
    for name in ("80s", "mellow", "female vocals", "male vocals", "guitar", "instrumental"):
        assert name in vocabulary.descriptors
    assert not set(vocabulary.genres) & set(vocabulary.descriptors)
    assert len(vocabulary.genres) + len(vocabulary.descriptors) == 50 - 2  # two pairs of tags share a name


def test_the_magnatagatune_tagger_names_its_genres_and_pools_its_synonyms():
    """MTT's 50 tags hold 14 genre tags (classical twice, as "classical" and "classic") and voice and
    instrument tags under several spellings; each name scores as its most probable tag."""
    manifest = read_manifest(RESOURCES / "musicnn-mtt")
    vocabulary = Vocabulary.of(list(manifest.labels), manifest.vocabulary)
    assert {"Classical", "Techno", "Metal", "Country", "Opera", "Indian", "New Age"} <= set(vocabulary.genres)
    assert {"Instrumental", "Female Voice", "Male Voice", "Piano", "Harpsichord"} <= set(vocabulary.descriptors)
    assert not set(vocabulary.genres) & set(vocabulary.descriptors)
    labels = list(manifest.labels)
    probs = np.zeros((1, len(labels)))
    probs[0, labels.index("classic")], probs[0, labels.index("classical")] = 0.3, 0.8
    probs[0, labels.index("no vocal")], probs[0, labels.index("no voice")] = 0.4, 0.6
    genres, descriptors = vocabulary.split(probs)
    assert genres[0, vocabulary.genres.index("Classical")] == 0.8
    assert descriptors[0, vocabulary.descriptors.index("Instrumental")] == 0.6
    assert pick(list(zip(vocabulary.genres, genres[0].tolist())), vocabulary.threshold) == ["Classical"]


def test_tags_naming_one_genre_score_as_the_most_probable(manifest, vocabulary):
    labels = list(manifest.labels)
    probs = np.zeros((2, len(labels)))
    probs[0, labels.index("electronic")], probs[0, labels.index("electronica")] = 0.2, 0.7
    probs[1, labels.index("electronic")], probs[1, labels.index("electronica")] = 0.4, 0.1
    probs[:, labels.index("rnb")] = 0.3
    probs[0, labels.index("female vocalist")], probs[0, labels.index("female vocalists")] = 0.6, 0.5
    genres, descriptors = vocabulary.split(probs)
    assert genres.shape == (2, len(vocabulary.genres)) and descriptors.shape == (2, len(vocabulary.descriptors))
    assert genres[:, vocabulary.genres.index("Electronic")].tolist() == [0.7, 0.4]
    assert genres[:, vocabulary.genres.index("R&B")].tolist() == [0.3, 0.3]
    assert descriptors[:, vocabulary.descriptors.index("female vocals")].tolist() == [0.6, 0.0]
    assert genres.sum() == pytest.approx(0.7 + 0.4 + 0.6)


def test_a_bundle_without_vocabulary_is_a_distribution_over_its_labels():
    vocabulary = Vocabulary.of(["blues", "jazz"], None)
    probs = np.array([[0.3, 0.7]])
    genres, descriptors = vocabulary.split(probs)
    assert vocabulary.threshold is None and descriptors.shape == (1, 0)
    assert genres.tolist() == probs.tolist()


RANKED = [("Rock", 0.61), ("Hard Rock", 0.32), ("Metal", 0.30), ("Pop", 0.05)]


@pytest.mark.parametrize(("threshold", "max_genres", "want"), [
    (0.2, 2, ["Rock", "Hard Rock"]),
    (0.2, 3, ["Rock", "Hard Rock", "Metal"]),
    (0.31, 5, ["Rock", "Hard Rock"]),
    (0.7, 2, []),  # nothing sure enough: no genre rather than a guess
    (None, 2, ["Rock"]),  # a distribution names its top genre
])
def test_genres_above_the_threshold_at_most_max_genres(threshold, max_genres, want):
    assert pick(RANKED, threshold, max_genres) == want


def test_max_genres_below_one_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        pick(RANKED, 0.2, 0)


@pytest.mark.parametrize(("change", "message"), [
    (lambda v: v["genres"].update({"80s": "80s"}), "both a genre and a descriptor"),
    (lambda v: v["descriptors"].pop("80s"), "every label once"),
    (lambda v: v["genres"].update({"polka": "Polka"}), "every label once"),
    (lambda v: v.update(threshold=1.5), "threshold"),
    (lambda v: v.pop("threshold"), "exactly threshold, genres and descriptors"),
    (lambda v: v["genres"].update({"rock": ""}), "non-empty display names"),
])
def test_the_manifest_check_refuses_a_broken_vocabulary(tmp_path, change, message):
    folder = tmp_path / "b"
    folder.mkdir()
    meta = json.loads((MSD / "bundle.json").read_text())
    change(meta["vocabulary"])
    (folder / "bundle.json").write_text(json.dumps(meta))
    with pytest.raises(BundleError, match=message):
        read_manifest(folder)


@pytest.fixture(scope="module")
def msd() -> Classifier:
    return Classifier.load(MSD, device="cpu")


def test_descriptors_are_stored_and_shown_but_never_written_or_accepted(tmp_path, music, msd, vocabulary):  # noqa: F811
    """With a policy that writes every genre at any score, a file gets exactly the genres, never a
    descriptor; accepting takes the top genre; the descriptors' scores are kept for display."""
    from tagger.library import (
        WritePolicy,
        classify_library,
        open_library,
        scan,
        write_library,
    )
    from tagger.library.listing import track_detail
    from tagger.library.queries import TrackIds
    from tagger.library.review import accept_predictions
    from tagger.library.schema import Prediction, Track

    with open_library(tmp_path / "lib.db") as lib:
        scan(lib, [music])
        assert classify_library(lib, msd, workers=0).classified > 0
        rep = write_library(lib, WritePolicy(mode="replace", min_confidence=0.0, max_genres=100))
        assert rep.changes
        for change in rep.changes:
            assert sorted(read_tags(change.path).genres) == sorted(vocabulary.genres)
        with lib.session() as session:
            track_id, path = session.query(Track.id, Track.path).filter(Track.path == rep.changes[0].path).one()
            prediction = session.query(Prediction).filter(Prediction.track_id == track_id).one()
            assert len(prediction.descriptor_probs) == len(vocabulary.descriptors)
            top = prediction.ranked()[0][0]
        detail = track_detail(lib, track_id)
        assert [d for d, _ in detail.descriptors] and {d for d, _ in detail.descriptors} == set(vocabulary.descriptors)
        assert detail.threshold == vocabulary.threshold and detail.labels == vocabulary.genres
        assert len(accept_predictions(lib, TrackIds([track_id]))) == 1
        with lib.session() as session:
            assert session.get(Track, track_id).confirmed_genres == [top]
        assert top in vocabulary.genres


def test_cli_json_has_genres_and_descriptors_apart(msd, vocabulary, capsys, tmp_path):
    from tagger.cli import main
    from tests.support import gtzan_dir

    clip = gtzan_dir() / "genres_original" / "rock" / "rock.00003.wav"
    shutil.copy(clip, tmp_path / clip.name)
    code = main(["classify", str(tmp_path), "--model", str(MSD), "--json", "--workers", "0", "--device", "cpu",
                 "--max-genres", "1", "--top", "4"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["threshold"] == vocabulary.threshold
    [track] = out["tracks"]
    genres = [t["genre"] for t in track["top"]]
    assert set(genres) <= set(vocabulary.genres) and len(genres) == 4
    assert {d["descriptor"] for d in track["descriptors"]} <= set(vocabulary.descriptors)
    assert len(track["descriptors"]) == 4
    want = [t["genre"] for t in track["top"] if t["p"] >= vocabulary.threshold][:1]
    assert track["genres"] == want


def test_max_genres_below_one_is_a_clear_cli_error(capsys, tmp_path):
    from tagger.cli import main

    assert main(["classify", str(tmp_path), "--model", str(MSD), "--max-genres", "0"]) == 2
    assert "--max-genres must be at least 1" in capsys.readouterr().err
