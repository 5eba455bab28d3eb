"""The converted bundles load through the bundle loader like any model and classify real audio
through the tagger's command line, with the original package's numbers."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tagger.cli import main
from tagger.genres import Vocabulary
from tests.trainer.musicnn.conftest import BUNDLES, clip_path
from trainer.runtime.errors import MethodUnavailable


@pytest.mark.parametrize("tag, first", [("msd", ["rock", "pop", "alternative", "indie", "electronic"]),
                                        ("mtt", ["guitar", "classical", "slow", "techno", "strings"])])
def test_bundles_load_with_the_package_tags(tag, first, taggers):
    loaded = taggers[tag]
    assert loaded.manifest.method == f"musicnn-{tag}"
    assert loaded.labels[:5] == first and len(loaded.labels) == 50
    assert loaded.sample_rate == 16000
    assert loaded.manifest.pipeline == {"name": "musicnn-mel", "params": {"sample_rate": 16000, "patches": 4}}
    assert loaded.model.pretrained
    assert (BUNDLES[tag] / "MODEL_CARD.md").read_text().count("ISC") >= 1


def test_converted_taggers_are_not_retrained(taggers):
    from trainer.methods import create

    with pytest.raises(MethodUnavailable, match="own 50 tags"):
        create("musicnn-msd", ["blues", "rock"])


def test_embeddings_are_reachable_per_patch(taggers, decoded):
    from trainer.runtime.features.musicnn import MusicnnMel

    patches = MusicnnMel()(decoded["genres_original/jazz.00001"][None, : 16000 * 9])
    method = taggers["msd"].model
    assert method.embed(patches, "penultimate").shape == (1, 3, 200)
    assert method.embed(patches, "max_pool").shape == (1, 3, 753)
    assert method.embed(patches, "mean_pool").shape == (1, 3, 753)


def test_cli_classifies_an_excerpt_as_the_original_does(references, capsys):
    """A 2-3 s excerpt: the tagger pads it to a window, the pipeline repeat-pads its one patch; its genres
    and descriptors are the original's tags under the bundle's vocabulary."""
    name = "excerpts/hiphop.00001"
    code = main(["classify", str(clip_path(name)), "--model", str(BUNDLES["msd"]), "--json", "--top", "5",
                 "--workers", "0", "--device", "cpu"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["failures"] == []
    meta = json.loads((BUNDLES["msd"] / "bundle.json").read_text())
    vocabulary = Vocabulary.of(meta["labels"], meta["vocabulary"])
    genres, descriptors = vocabulary.split(references[f"msd/{name}/probs"][0])
    top, heard = out["tracks"][0]["top"], out["tracks"][0]["descriptors"]
    assert [t["genre"] for t in top] == [vocabulary.genres[i] for i in np.argsort(-genres)[:5]]
    assert all(abs(t["p"] - genres[vocabulary.genres.index(t["genre"])]) < 1e-3 for t in top)
    assert [d["descriptor"] for d in heard] == [vocabulary.descriptors[i] for i in np.argsort(-descriptors)[:5]]
    assert all(abs(d["p"] - descriptors[vocabulary.descriptors.index(d["descriptor"])]) < 1e-3 for d in heard)


def test_cli_classifies_a_real_clip(capsys):
    code = main(["classify", str(clip_path("genres_original/rock.00003")), "--model", str(BUNDLES["msd"]),
                 "--json", "--workers", "0", "--device", "cpu"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    track = out["tracks"][0]
    assert track["windows"] == 1 and not track["padded"]
    assert out["features"] == {"name": "musicnn-mel", "params": {"sample_rate": 16000, "patches": 4}}
    assert 0 < track["confidence"] <= 1


@pytest.mark.parametrize("flag, judged", [([], [0, 3, 6, 9]), (["--patches", "10"], list(range(10))),
                                          (["--patches", "2"], [0, 9]), (["--patches", "0"], [0, 3, 6, 9])])
def test_a_window_is_judged_on_the_patches_the_policy_names(flag, judged, taggers, decoded, capsys):
    """The shipped policy judges 4 of a 30-s window's ten patches, first to last; ``--patches N``
    judges N (0: the model's own). The genres printed are the mean of those patches' tags."""
    from trainer.runtime.features.musicnn import MusicnnMel

    name = "genres_original/jazz.00002"
    code = main(["classify", str(clip_path(name)), "--model", str(BUNDLES["msd"]), "--json", "--top", "3",
                 "--workers", "0", "--device", "cpu", *flag])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    every = taggers["msd"].model.window_outputs(MusicnnMel()(decoded[name][None, : 30 * 16000]))["probs"][0]
    vocabulary = Vocabulary.of(taggers["msd"].labels, taggers["msd"].manifest.vocabulary)
    want = vocabulary.split(every[judged].mean(axis=0)[None])[0][0]
    for row in out["tracks"][0]["top"]:
        assert abs(row["p"] - want[vocabulary.genres.index(row["genre"])]) < 1e-4
