"""The shipped torch bundles against the original package's graph (float32 log), recorded by
``scripts/convert_musicnn.py --references`` on 30 real GTZAN clips and 20 excerpts (2-3 s, so
repeat-padded to one patch): per-patch tag probabilities within 1e-3 absolute, ``max_pool`` and
``penultimate`` within 1e-3 relative, the same top-5 tags on every clip.

"Relative" is to the scale of each patch's vector: every element within 1e-3 of the reference's
largest magnitude. Measured: at most 1.1e-5 absolute, 7e-6 of the scale; elementwise ratios are no
measure here, since a few activations sit near zero, where float32 rounding in a different order
(the same happens feeding both the identical mel) is a large fraction of nothing.

Both engines are held to the references: the torch network, and the numpy engine
(``trainer.runtime.models.musicnn_cpu``) that runs in its place on the CPU."""

from __future__ import annotations

import numpy as np
import pytest

from trainer.runtime.features.musicnn import HOP, N_FFT, PATCH_FRAMES, MusicnnMel

PROB_ATOL = 1e-3
FEATURE_RTOL = 1e-3


def first_patches(samples: np.ndarray, count: int) -> np.ndarray:
    """The samples the first ``count`` patches are computed from, and no more (keeps the test short)."""
    return samples[: (count * PATCH_FRAMES - 1) * HOP + N_FFT // 2]


def relative_error(got: np.ndarray, want: np.ndarray) -> float:
    """The largest difference over the largest reference magnitude, per patch."""
    return float((np.abs(got - want).max(axis=-1) / np.abs(want).max(axis=-1)).max())


@pytest.fixture(scope="module", params=["auto", "torch"])
def port_outputs(request, taggers, decoded, references):
    """Per tagger and clip: the port's probabilities, max_pool and penultimate of the referenced
    patches, by the CPU engine (``auto`` on the CPU) and by the torch network itself."""
    pipeline = MusicnnMel()
    outputs = {}
    for loaded in taggers.values():
        loaded.model.engine = request.param
    try:
        for name, samples in decoded.items():
            count = len(references[f"msd/{name}/probs"])
            patches = pipeline(first_patches(samples, count)[None])
            assert patches.shape[1] == count, name
            for tag, loaded in taggers.items():
                outputs[tag, name] = loaded.model.window_outputs(patches, ("probs", "max_pool", "penultimate"))
    finally:
        for loaded in taggers.values():
            loaded.model.engine = "auto"
    return outputs


def test_references_cover_every_clip(clip_names, references):
    assert sum(n.startswith("genres_original/") for n in clip_names) == 30
    assert sum(n.startswith("excerpts/") for n in clip_names) == 20
    assert all(len(references[f"{tag}/{n}/probs"]) == (3 if n.startswith("genres") else 1)
               for n in clip_names for tag in ("msd", "mtt"))


@pytest.mark.parametrize("tag", ["msd", "mtt"])
def test_tag_probabilities_match_the_original(tag, port_outputs, clip_names, references):
    worst = max(np.abs(port_outputs[tag, n]["probs"][0] - references[f"{tag}/{n}/probs"]).max() for n in clip_names)
    assert worst < PROB_ATOL


@pytest.mark.parametrize("tag", ["msd", "mtt"])
@pytest.mark.parametrize("key", ["max_pool", "penultimate"])
def test_embeddings_match_the_original(tag, key, port_outputs, clip_names, references):
    worst = max(relative_error(port_outputs[tag, n][key][0, :1], references[f"{tag}/{n}/{key}"]) for n in clip_names)
    assert worst < FEATURE_RTOL


@pytest.mark.parametrize("tag", ["msd", "mtt"])
def test_top_five_tags_agree_on_every_clip(tag, port_outputs, clip_names, references, taggers):
    labels = taggers[tag].labels
    for name in clip_names:
        got = np.argsort(-port_outputs[tag, name]["probs"][0].mean(axis=0))[:5]
        want = np.argsort(-references[f"{tag}/{name}/probs"].mean(axis=0))[:5]
        assert [labels[i] for i in got] == [labels[i] for i in want], name
