"""Shared fixtures: the references recorded from the original package, the shipped bundles, and
the test audio decoded as the app decodes it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.support import REPO_ROOT, gtzan_dir

DATA = Path(__file__).parent / "data"
BUNDLES = {"msd": REPO_ROOT / "resources" / "musicnn-msd", "mtt": REPO_ROOT / "resources" / "musicnn-mtt"}


@pytest.fixture(scope="session")
def references() -> dict[str, np.ndarray]:
    with np.load(DATA / "references.npz") as refs:
        return dict(refs)


@pytest.fixture(scope="session")
def clip_names(references) -> list[str]:
    return [str(c) for c in references["clips"]]


def clip_path(name: str) -> Path:
    """``genres_original/rock.00001`` -> its file in ../shared."""
    kind, song = name.split("/")
    return gtzan_dir() / kind / song.split(".")[0] / f"{song}.wav"


@pytest.fixture(scope="session")
def decoded(clip_names) -> dict[str, np.ndarray]:
    """Every reference clip at 16 kHz, through the tagger's decoder (as the references were made)."""
    from trainer.runtime.audio import decode

    return {name: decode(clip_path(name), 16000).samples for name in clip_names}


@pytest.fixture(scope="session")
def taggers():
    """The shipped bundles, loaded through the bundle loader."""
    from trainer.runtime import bundle

    return {tag: bundle.load(path, device="cpu") for tag, path in BUNDLES.items()}
