"""Model bundles: the one contract between the trainer and the tagger.

A bundle is a folder (or a zip of one) holding ``bundle.json`` and weights in formats that cannot
run code when read: safetensors, XGBoost UBJSON/JSON, skops (with a type allow-list). Loading
refuses any other file kind, so a bundle from the internet cannot execute anything; nothing here
ever unpickles.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from trainer import __version__
from trainer.features import FeaturePipeline
from trainer.features import make as make_pipeline
from trainer.methods import create as create_method
from trainer.methods.base import Method

FORMAT_VERSION = 1
MANIFEST = "bundle.json"
# File kinds a bundle may hold: data-only formats, plus its model card and figures.
SAFE_SUFFIXES = frozenset({".json", ".safetensors", ".ubj", ".skops", ".md", ".png", ".txt"})
# skops refuses any type not listed as trusted; these prefixes cover scikit-learn's estimators
# and numpy's scalar and array types, and nothing that can call arbitrary code.
_SKOPS_TRUSTED_PREFIXES = ("sklearn.", "numpy.")


class BundleError(Exception):
    """A bundle that cannot or must not be loaded; the message says why."""


def load_skops(path: Path):
    """Load a scikit-learn model from a skops file, refusing every type outside the allow-list."""
    import skops.io

    untrusted = skops.io.get_untrusted_types(file=path)
    refused = [t for t in untrusted if not t.startswith(_SKOPS_TRUSTED_PREFIXES)]
    if refused:
        raise BundleError(f"{path.name} asks for types that are not allowed: {', '.join(refused)}")
    return skops.io.load(path, trusted=untrusted)


@dataclass
class LoadedBundle:
    """A bundle ready to classify: its manifest, its method with weights, and its feature pipeline."""

    path: Path
    meta: dict[str, Any]
    method: Method
    pipeline: FeaturePipeline

    @property
    def id(self) -> str:
        return self.meta["id"]

    @property
    def labels(self) -> list[str]:
        return list(self.meta["labels"])

    @property
    def sample_rate(self) -> int:
        return int(self.meta["sample_rate"])

    def predict_proba(self, windows: np.ndarray) -> np.ndarray:
        """Window probabilities from raw windows, through the bundle's own pipeline."""
        return self.method.predict_proba(self.pipeline(windows))


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return _jsonable(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def export(
    folder: Path,
    method: Method,
    pipeline: FeaturePipeline,
    *,
    metrics: dict[str, Any],
    training_data: str,
    window: dict[str, Any] | None = None,
    notes: str = "",
) -> Path:
    """Write ``method`` as a bundle into ``folder`` (created; must be empty if it exists)."""
    folder = Path(folder)
    if folder.exists() and any(folder.iterdir()):
        raise BundleError(f"{folder} is not empty; choose a new folder for the bundle")
    folder.mkdir(parents=True, exist_ok=True)
    weights = method.save(folder)
    digest = hashlib.sha256()
    for name in sorted(weights):
        (folder / name).chmod(0o644)  # safetensors writes owner-only files; a bundle is meant to be shared
        digest.update((folder / name).read_bytes())
    created = datetime.now(timezone.utc)
    meta = {
        "format_version": FORMAT_VERSION,
        "id": f"{method.name}-{created:%Y%m%d-%H%M%S}-{digest.hexdigest()[:8]}",
        "method": method.name,
        "seed_report": method.spec.seed,
        "config": _jsonable(method.config_dict()),
        "labels": list(method.labels),
        "sample_rate": pipeline.sample_rate,
        "window": window or {"length_s": 30.0, "hop_s": 30.0},
        "pipeline": pipeline.describe(),
        "pretrained": method.pretrained,
        "metrics": _jsonable(metrics),
        "training_data": training_data,
        "created_at": created.isoformat(timespec="seconds"),
        "trainer_version": __version__,
        "weights": sorted(weights),
        "weights_sha256": digest.hexdigest(),
        "notes": notes,
    }
    (folder / MANIFEST).write_text(json.dumps(meta, indent=2) + "\n")
    return folder


def _check_files(folder: Path, meta: dict[str, Any]) -> None:
    for path in folder.rglob("*"):
        if path.is_file() and path.suffix.lower() not in SAFE_SUFFIXES:
            raise BundleError(f"bundle holds {path.name}, a file kind that could run code; refusing to load it")
    digest = hashlib.sha256()
    for name in sorted(meta.get("weights", [])):
        target = (folder / name).resolve()
        if folder.resolve() not in target.parents or not target.is_file():
            raise BundleError(f"bundle names a weights file it does not hold: {name}")
        digest.update(target.read_bytes())
    if meta.get("weights_sha256") and digest.hexdigest() != meta["weights_sha256"]:
        raise BundleError("weights do not match the checksum in bundle.json (changed or damaged)")


def _unzip(path: Path) -> Path:
    target = Path(tempfile.mkdtemp(prefix="genre-bundle-"))
    with zipfile.ZipFile(path) as archive:
        for member in archive.infolist():
            destination = (target / member.filename).resolve()
            if target.resolve() not in destination.parents and destination != target.resolve():
                shutil.rmtree(target)
                raise BundleError(f"zip entry {member.filename!r} points outside the bundle")
        archive.extractall(target)
    manifests = list(target.rglob(MANIFEST))
    if len(manifests) != 1:
        raise BundleError(f"{path.name} must hold exactly one {MANIFEST}")
    return manifests[0].parent


def read_manifest(path: Path) -> dict[str, Any]:
    """``bundle.json`` of a bundle folder, validated for the fields the tagger relies on."""
    manifest = Path(path) / MANIFEST
    if not manifest.is_file():
        raise BundleError(f"{path} is not a model bundle (no {MANIFEST})")
    try:
        meta = json.loads(manifest.read_text())
    except json.JSONDecodeError as exc:
        raise BundleError(f"{manifest} is not valid JSON: {exc}") from None
    if meta.get("format_version") != FORMAT_VERSION:
        raise BundleError(f"bundle format {meta.get('format_version')!r} is not supported (expected {FORMAT_VERSION})")
    missing = [k for k in ("id", "method", "config", "labels", "sample_rate", "pipeline", "weights") if k not in meta]
    if missing:
        raise BundleError(f"{MANIFEST} lacks {', '.join(missing)}")
    return meta


def _config_overrides(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict):
            flat.update(_config_overrides(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = tuple(value) if isinstance(value, list) else value
    return flat


def load(path: Path | str, device: str = "cpu") -> LoadedBundle:
    """Load a bundle folder or zip exported by ``export``; raises ``BundleError`` if unsafe or broken."""
    path = Path(path)
    if not path.exists():
        raise BundleError(f"model bundle not found: {path}")
    folder = _unzip(path) if path.is_file() and zipfile.is_zipfile(path) else path
    meta = read_manifest(folder)
    _check_files(folder, meta)
    overrides = _config_overrides(meta["config"])
    for key in ("train.device", "device"):   # torch methods keep it in their training config or at the top
        if key in overrides:
            overrides[key] = device
    try:
        method = create_method(meta["method"], meta["labels"], **overrides)
    except KeyError as exc:
        raise BundleError(f"bundle was made by a method or setting this version does not know: {exc}") from None
    method.load_weights(folder)
    pipeline = make_pipeline(meta["pipeline"]["name"], **meta["pipeline"].get("params", {}))
    return LoadedBundle(path, meta, method, pipeline)
