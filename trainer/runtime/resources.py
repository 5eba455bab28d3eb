"""The model bundles shipped in ``resources/``, found relative to the installed package."""

from __future__ import annotations

from pathlib import Path

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
#: The models shipped with the app, in the order the settings offer them: the MusiCNN tagger
#: trained on the Million Song Dataset's Last.fm tags (29 genres, multi-label), a head on its
#: embeddings for GTZAN's 10 genres, and xgboost on GTZAN's hand-made features.
SHIPPED_BUNDLES = {name: RESOURCES / name for name in ("musicnn-msd", "gtzan10-musicnn", "gtzan10-xgboost")}
#: The model the app uses until the user picks another; the README's "The shipped model" says why.
DEFAULT_BUNDLE = SHIPPED_BUNDLES["musicnn-msd"]
