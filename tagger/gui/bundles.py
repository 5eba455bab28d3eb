"""The models the user can choose from: the shipped bundle and every bundle trained from the
settings, described from their manifests (nothing is loaded until a job classifies)."""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tagger.library import Library, use_model
from tagger.paths import DEFAULT_BUNDLE
from trainer.bundle import MANIFEST, BundleError, read_manifest


@dataclass(frozen=True)
class BundleInfo:
    """A bundle's manifest, as the settings show it. ``bundle_id`` and ``labels`` are what the
    catalogue records about a model (``use_model`` takes this in place of a loaded classifier)."""

    path: Path
    meta: dict[str, Any]

    @property
    def bundle_id(self) -> str:
        return self.meta["id"]

    @property
    def labels(self) -> list[str]:
        return list(self.meta["labels"])

    @property
    def shipped(self) -> bool:
        return self.path.resolve() == DEFAULT_BUNDLE.resolve()

    @property
    def window_length_s(self) -> float:
        return float(self.meta.get("window", {}).get("length_s", 30.0))

    def title(self) -> str:
        accuracy = self.meta.get("metrics", {}).get("accuracy")
        score = f", {accuracy:.0%} test accuracy" if isinstance(accuracy, (int, float)) else ""
        created = str(self.meta.get("created_at", ""))[:10]
        return f"{'Shipped model: ' if self.shipped else ''}{self.meta['method']}{score} ({created})"

    def description(self) -> str:
        metrics = self.meta.get("metrics", {})
        split = metrics.get("split", {})
        lines = [f"Method: {self.meta['method']}; input: {self.meta['pipeline']['name']}",
                 f"Genres ({len(self.labels)}): {', '.join(self.labels)}",
                 f"Trained on: {self.meta.get('training_data') or 'not recorded'}"]
        if "accuracy" in metrics:
            lines.append(f"Test accuracy {metrics['accuracy']:.1%} over {metrics.get('n_test', '?')} songs"
                         + (f" (split {split.get('name')})" if isinstance(split, dict) and split.get("name") else ""))
        if self.meta.get("pretrained") is False:
            lines.append("Built without pretrained weights.")
        lines.append(f"Folder: {self.path}")
        return "\n".join(lines)


def bundle_info(path: Path | str) -> BundleInfo:
    """Read the manifest of a bundle folder or zip; raises ``BundleError`` when it is not one."""
    path = Path(path)
    if not path.exists():
        raise BundleError(f"model bundle not found: {path}")
    if path.is_file() and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n.rsplit("/", 1)[-1] == MANIFEST]
            if len(names) != 1:
                raise BundleError(f"{path.name} must hold exactly one {MANIFEST}")
            try:
                return BundleInfo(path, json.loads(archive.read(names[0])))
            except json.JSONDecodeError as exc:
                raise BundleError(f"{path.name}: {MANIFEST} is not valid JSON: {exc}") from None
    return BundleInfo(path, read_manifest(path))


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
