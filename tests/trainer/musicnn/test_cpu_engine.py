"""The numpy CPU engine against the torch port on real music: every output of the network (feature
maps included), for both shipped taggers; the references of the original package hold both engines
in ``test_equivalence``."""

from __future__ import annotations

import numpy as np
import pytest

from trainer.runtime.features.musicnn import MusicnnMel
from trainer.runtime.models.musicnn_cpu import OUTPUTS, MusicnnCpu


@pytest.fixture(scope="module")
def patches(decoded) -> np.ndarray:
    """Four 3-s patches of a real jazz and a real rock clip."""
    mel = MusicnnMel()(np.stack([decoded["genres_original/jazz.00001"][: 16000 * 6],
                                 decoded["genres_original/rock.00001"][: 16000 * 6]]))
    return mel.reshape(-1, *mel.shape[2:])


@pytest.mark.parametrize("tag", ["msd", "mtt"])
def test_every_output_matches_the_torch_port(tag, taggers, patches):
    method = taggers[tag].model
    method.engine = "torch"
    try:
        want = method.patch_outputs(patches, OUTPUTS)
    finally:
        method.engine = "auto"
    got = method.cpu_engine(patches, OUTPUTS)
    for key in OUTPUTS:
        assert got[key].shape == want[key].shape, key
        scale = np.abs(want[key]).max()
        assert np.abs(got[key] - want[key]).max() < 1e-4 * scale, key   # measured: at most 1.3e-5


def test_the_tagger_runs_the_cpu_engine_on_the_cpu(taggers, patches):
    method = taggers["msd"].model
    assert method.device == "cpu"
    np.testing.assert_array_equal(method.patch_outputs(patches)["probs"], method.cpu_engine(patches)["probs"])


def test_no_patches_give_empty_outputs(taggers):
    out = taggers["msd"].model.cpu_engine(np.zeros((0, 187, 96), np.float32), ("probs", "penultimate"))
    assert out["probs"].shape == (0, 50) and out["penultimate"].shape == (0, 200)


def test_an_unknown_output_is_named():
    engine = MusicnnCpu.__new__(MusicnnCpu)
    with pytest.raises(KeyError, match="no output"):
        engine(np.zeros((1, 187, 96), np.float32), ("softmax",))


def test_patches_on_several_threads_give_the_one_thread_result(taggers, patches):
    weights = taggers["msd"].model.weights
    alone, side_by_side = MusicnnCpu(weights, threads=1), MusicnnCpu(weights, threads=3)
    many = np.concatenate([patches] * 3)      # 12 patches: three chunks of four
    np.testing.assert_array_equal(side_by_side(many, ("penultimate",))["penultimate"],
                                  alone(many, ("penultimate",))["penultimate"])


def test_tagging_on_the_cpu_never_imports_torch(tmp_path):
    """The default tagger on a CPU: numpy mel, numpy network; torch (seconds to import) stays out."""
    import subprocess
    import sys

    from tests.trainer.musicnn.conftest import REPO_ROOT, clip_path

    probe = ("import sys\n"
             "from tagger.cli import main\n"
             f"code = main(['classify', '--device', 'cpu', '--workers', '0', {str(clip_path('genres_original/rock.00000'))!r}])\n"
             "print(code, 'torch' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    lines = done.stdout.strip().splitlines()
    assert lines[-1] == "0 False", done.stdout + done.stderr
    assert "Rock" in lines[0]
