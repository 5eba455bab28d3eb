"""The models the user can choose from: the shipped bundles and every bundle trained from the
settings, described from their manifests (nothing is loaded until a job classifies)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tagger.genres import NamedOutputs, Vocabulary
from tagger.library import Library, use_model
from trainer.runtime.bundle import MANIFEST, BundleError, Manifest, read_manifest
from trainer.runtime.resources import DEFAULT_BUNDLE, SHIPPED_BUNDLES

#: The split every figure is compared on: the fault-filtered GTZAN split (no artist on both sides),
#: the one the shipped model's figure comes from.
REFERENCE_SPLIT = "filtered"
#: A GTZAN CSV column that tells which batch of files a clip came from, not how it sounds.
LEAKY_COLUMN = "length"
UNRECORDED = "unrecorded"


@dataclass(frozen=True)
class TestFigure:
    """A model's test accuracy with its basis: the split, how many test songs, what it learnt from."""

    accuracy: float
    n_test: int | None
    split: str
    trained_on: str

    def short(self) -> str:
        songs = f" on {self.n_test} test songs" if self.n_test else ""
        return f"{self.accuracy:.1%}{songs}, {self.split} split"


def _split_name(split: Any) -> str:
    if isinstance(split, dict):
        return str(split.get("name") or UNRECORDED)
    text = str(split or UNRECORDED)
    return REFERENCE_SPLIT if text.startswith("fault-filtered") else text


@dataclass(frozen=True)
class BundleInfo(NamedOutputs):
    """A bundle's manifest, as the settings show it. ``bundle_id`` and ``labels`` are what the
    catalogue records about a model (``use_model`` takes this in place of a loaded classifier)."""

    path: Path
    manifest: Manifest

    @property
    def bundle_id(self) -> str:
        return self.manifest.id

    @property
    def vocabulary(self) -> Vocabulary:
        return Vocabulary.of(list(self.manifest.labels), self.manifest.vocabulary)

    @property
    def shipped(self) -> bool:
        """The default model (the catalogue records it without a path)."""
        return self.path.resolve() == DEFAULT_BUNDLE.resolve()

    @property
    def bundled(self) -> bool:
        """One of the models shipped with the app."""
        return any(self.path.resolve() == p.resolve() for p in SHIPPED_BUNDLES.values())

    @property
    def window_length_s(self) -> float:
        return self.manifest.window.length_s

    def figure(self) -> TestFigure | None:
        """The test figure from the manifest's metrics: a trained bundle's own ``accuracy`` and
        ``split``, or the shipped bundle's held-out ``filtered_test`` run."""
        metrics = self.manifest.metrics
        trained_on = self.manifest.training_data or "not recorded"
        for found in (metrics, metrics.get("filtered_test")):
            if isinstance(found, dict) and isinstance(found.get("accuracy"), (int, float)):
                n_test = found.get("n_test")
                return TestFigure(float(found["accuracy"]), int(n_test) if isinstance(n_test, int) else None,
                                  _split_name(found.get("split")), trained_on)
        return None

    @property
    def uses_leaky_column(self) -> bool:
        """True for a GTZAN-CSV model that kept the ``length`` column the shipped model leaves out."""
        config = self.manifest.config
        return (self.manifest.pipeline["name"] == "gtzan-csv" and "drop_columns" in config
                and LEAKY_COLUMN not in (config.get("drop_columns") or ()))

    def comparability(self) -> str | None:
        """Why this model's figure cannot be set beside the others, or None when it can."""
        figure = self.figure()
        if figure is None:
            return "no test figure recorded"
        problems = []
        if figure.split == UNRECORDED:
            problems.append("the split it was measured on is not recorded")
        elif figure.split != REFERENCE_SPLIT:
            problems.append(f"measured on the {figure.split} split, where songs of one artist can be on both "
                            f"sides, not on the {REFERENCE_SPLIT} split the other figures use")
        if self.uses_leaky_column:
            problems.append(f"trained with the clips' '{LEAKY_COLUMN}' column, which tells GTZAN's batches apart "
                            "but does not exist in your music")
        return "; ".join(problems) or None

    def title(self) -> str:
        figure = self.figure()
        score = f": {figure.short()}" if figure else ": no test figure"
        note = " (not comparable)" if figure and self.comparability() else ""
        created = self.manifest.created_at[:10]
        kind = "Shipped model: " if self.shipped else "Shipped: " if self.bundled else ""
        if self.threshold is not None:  # a multi-label tagger: no accuracy over a closed set of genres
            return f"{kind}{self.manifest.method}: {len(self.labels)} genres, multi-label ({created})"
        return f"{kind}{self.manifest.method}{score}{note} ({created})"

    def description(self) -> str:
        figure = self.figure()
        lines = [f"Method: {self.manifest.method}; input: {self.manifest.pipeline['name']}",
                 f"Genres ({len(self.labels)}): {', '.join(self.labels)}",
                 *([f"Also shown, never written ({len(self.descriptors)}): {', '.join(self.descriptors)}",
                    f"A track's genres: those scoring {self.threshold:.0%} or more"] if self.threshold is not None else []),
                 f"Trained on: {self.manifest.training_data or 'not recorded'}"]
        if figure is not None:
            lines.append(f"Test accuracy {figure.short()}")
        problem = self.comparability()
        if problem:
            lines.append(f"Not comparable: {problem}.")
        if self.manifest.pretrained is False:
            lines.append("Built without pretrained weights.")
        lines.append(f"Folder: {self.path}")
        return "\n".join(lines)


def bundle_info(path: Path | str) -> BundleInfo:
    """Read the manifest of a bundle folder or zip; raises ``BundleError`` when it is not one."""
    return BundleInfo(Path(path), read_manifest(path))


def trained_bundles(models_dir: Path) -> list[BundleInfo]:
    """Bundles trained from the settings (``<models_dir>/<run>/bundle``), newest first."""
    found = []
    for manifest in sorted(models_dir.glob(f"*/bundle/{MANIFEST}"), reverse=True):
        try:
            found.append(bundle_info(manifest.parent))
        except BundleError:
            continue  # a damaged run folder is not offered
    return found


def activate(lib: Library, info: BundleInfo) -> None:
    """Make ``info`` the catalogue's active model, as classifying with it would."""
    with lib.session() as session:
        use_model(session, info, None if info.shipped else str(info.path.resolve()))
        session.commit()
