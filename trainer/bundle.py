"""Model bundles: the one contract between the trainer and the tagger.

A bundle is a folder (or a zip of one) holding ``bundle.json`` and weights in formats that cannot
run code when read: safetensors, XGBoost UBJSON/JSON, skops (with a type allow-list). Loading
refuses any other file kind, so a bundle from the internet cannot execute anything; nothing here
ever unpickles.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
import math
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import SafetensorError

from trainer import __version__
from trainer.methods import UnknownMethod
from trainer.methods import create as create_method
from trainer.methods import get as method_spec
from trainer.methods.base import Method
from trainer.methods.pretrained import MethodUnavailable
from trainer.runtime.errors import UserError
from trainer.runtime.features import FeaturePipeline, pipeline_class
from trainer.runtime.features import available as features_available
from trainer.runtime.features import make as make_pipeline

FORMAT_VERSION = 1
MANIFEST = "bundle.json"
# Far above any real manifest (labels, settings, metrics), far below what could exhaust memory.
MAX_MANIFEST_BYTES = 4 << 20
# The largest weights a method holds (wav2vec2-large, about 1.3 GB) with room to spare; a zip that
# claims more is refused before anything is written to disk.
MAX_UNZIPPED_BYTES = 4 << 30
# File kinds a bundle may hold: data-only formats, plus its model card and figures.
SAFE_SUFFIXES = frozenset({".json", ".safetensors", ".ubj", ".skops", ".md", ".png", ".txt"})
# skops trusts scikit-learn's estimators and numpy's arrays by itself; beyond those, exactly the
# types that the shipped skops methods (random forests, k-NN) store are allowed. A prefix such as
# "numpy." would also admit functions (numpy.testing's ``runstring`` executes a string), so only
# whole names are listed.
SKOPS_TRUSTED_TYPES = frozenset({
    "sklearn.tree._tree.Tree",
    "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.neighbors._ball_tree.BallTree",
    "sklearn.metrics._dist_metrics.EuclideanDistance64",
})


class BundleError(UserError):
    """A bundle that cannot or must not be loaded; the message says why."""


def load_skops(path: Path, n_labels: int):
    """A scikit-learn classifier from a skops file, refusing every type outside the allow-list
    and any model whose classes do not index the bundle's ``n_labels`` labels."""
    import skops.io

    try:
        untrusted = skops.io.get_untrusted_types(file=path)
    except Exception as exc:  # skops raises bare TypeError/KeyError/BadZipFile on damaged files
        raise BundleError(f"{path.name} is not a readable skops file ({exc})") from None
    refused = sorted(set(untrusted) - SKOPS_TRUSTED_TYPES)
    if refused:
        raise BundleError(f"{path.name} asks for types that are not allowed: {', '.join(refused)}")
    model = skops.io.load(path, trusted=untrusted)
    classes = np.asarray(getattr(model, "classes_", []))
    if classes.dtype.kind not in "iu" or not len(classes) or classes.min() < 0 or classes.max() >= n_labels:
        raise BundleError(f"{path.name} predicts classes {classes.tolist()[:12]}, which do not fit the "
                          f"{n_labels} labels of {MANIFEST}")
    return model


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
    vocabulary: dict[str, Any] | None = None,
) -> Path:
    """Write ``method`` as a bundle into ``folder`` (created; must be empty if it exists).
    ``vocabulary``: a multi-label model's genres and descriptors (see ``_check_vocabulary``)."""
    folder = Path(folder)
    if vocabulary is not None:
        _check_vocabulary(vocabulary, list(method.labels))
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
    if vocabulary is not None:
        meta["vocabulary"] = vocabulary
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
    """The bundle inside a zip, unpacked into a temporary folder, after checking that no entry
    leaves that folder and that it does not unpack to more than ``MAX_UNZIPPED_BYTES``."""
    with zipfile.ZipFile(path) as archive:
        unpacked = sum(member.file_size for member in archive.infolist())
        if unpacked > MAX_UNZIPPED_BYTES:
            raise BundleError(f"{path.name} would unpack to {unpacked / 2**30:.1f} GiB; a bundle is at most "
                              f"{MAX_UNZIPPED_BYTES / 2**30:.0f} GiB")
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


def _number(value: Any, what: str, *, integer: bool = False, low: float = 0.0, high: float = float("inf")) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or (integer and value != int(value)) or not low < value <= high:
        kind = "a whole number" if integer else "a number"
        raise BundleError(f"{MANIFEST}: {what} must be {kind} in ({low:g}, {high:g}], not {value!r}")


def _check_manifest(meta: Any) -> None:
    """Every field the loader and the tagger read, with the type they expect; a tampered or
    damaged manifest fails here with one sentence instead of deep inside a model."""
    if not isinstance(meta, dict):
        raise BundleError(f"{MANIFEST} must hold a JSON object")
    if meta.get("format_version") != FORMAT_VERSION:
        raise BundleError(f"bundle format {meta.get('format_version')!r} is not supported (expected {FORMAT_VERSION})")
    missing = [k for k in ("id", "method", "config", "labels", "sample_rate", "pipeline", "weights") if k not in meta]
    if missing:
        raise BundleError(f"{MANIFEST} lacks {', '.join(missing)}")
    for key in ("id", "method"):
        if not isinstance(meta[key], str) or not meta[key]:
            raise BundleError(f"{MANIFEST}: {key} must be a non-empty string")
    labels = meta["labels"]
    if (not isinstance(labels, list) or len(labels) < 2 or len(set(map(str, labels))) != len(labels)
            or not all(isinstance(x, str) and x.strip() for x in labels)):
        raise BundleError(f"{MANIFEST}: labels must be a list of at least two distinct, non-empty names")
    _number(meta["sample_rate"], "sample_rate", integer=True, low=999, high=384000)
    window = meta.setdefault("window", {"length_s": 30.0, "hop_s": 30.0})
    if not isinstance(window, dict):
        raise BundleError(f"{MANIFEST}: window must be an object with length_s and hop_s")
    for key in ("length_s", "hop_s"):
        _number(window.get(key), f"window.{key}", high=24 * 3600)
    pipeline = meta["pipeline"]
    if not isinstance(pipeline, dict) or not isinstance(pipeline.get("name"), str) \
            or not isinstance(pipeline.get("params", {}), dict):
        raise BundleError(f"{MANIFEST}: pipeline must be an object with a name and a params object")
    if not isinstance(meta["config"], dict):
        raise BundleError(f"{MANIFEST}: config must be an object")
    if not isinstance(meta["weights"], list) or not all(isinstance(w, str) for w in meta["weights"]):
        raise BundleError(f"{MANIFEST}: weights must be a list of file names")
    if "vocabulary" in meta:
        _check_vocabulary(meta["vocabulary"], labels)


def _check_vocabulary(vocabulary: Any, labels: list[str]) -> None:
    """A multi-label model's ``vocabulary``: every label is either a genre or a descriptor, each
    with a non-empty display name, plus the genre threshold (see ``tagger.genres``)."""
    what = f"{MANIFEST}: vocabulary"
    if not isinstance(vocabulary, dict) or set(vocabulary) != {"threshold", "genres", "descriptors"}:
        raise BundleError(f"{what} must be an object with exactly threshold, genres and descriptors")
    _number(vocabulary["threshold"], "vocabulary.threshold", high=1.0)
    for key in ("genres", "descriptors"):
        names = vocabulary[key]
        if not isinstance(names, dict) or not all(isinstance(v, str) and v.strip() for v in names.values()):
            raise BundleError(f"{what}.{key} must map labels to non-empty display names")
    genres, descriptors = set(vocabulary["genres"]), set(vocabulary["descriptors"])
    if not genres:
        raise BundleError(f"{what}.genres must name at least one genre")
    if genres & descriptors:
        raise BundleError(f"{what}: {sorted(genres & descriptors)[0]!r} is both a genre and a descriptor")
    if genres | descriptors != set(labels):
        stray = sorted((genres | descriptors) ^ set(labels))[0]
        raise BundleError(f"{what} must name every label once as a genre or a descriptor, and only labels "
                          f"(see {stray!r})")


def read_manifest(path: Path) -> dict[str, Any]:
    """``bundle.json`` of a bundle folder, validated for the fields the tagger relies on."""
    manifest = Path(path) / MANIFEST
    if not manifest.is_file():
        raise BundleError(f"{path} is not a model bundle (no {MANIFEST})")
    if manifest.stat().st_size > MAX_MANIFEST_BYTES:
        raise BundleError(f"{manifest} is {manifest.stat().st_size:,} bytes; a manifest is a few kilobytes")
    try:
        meta = json.loads(manifest.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BundleError(f"{manifest} is not valid JSON: {exc}") from None
    except RecursionError:  # nesting deep enough to exhaust the parser's stack
        raise BundleError(f"{manifest} nests too deeply to be a manifest") from None
    _check_manifest(meta)
    return meta


def _same_kind(default: Any, value: Any) -> bool:
    """Whether ``value`` read from JSON can stand where ``default`` stands (int for float is fine)."""
    if default is None or value is None:
        return True
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, (int, float)):
        return isinstance(value, (int, float)) and (isinstance(default, float) or value == int(value))
    if isinstance(default, (tuple, list)):
        return isinstance(value, (tuple, list))
    return isinstance(value, type(default))


def _build_pipeline(description: dict[str, Any]) -> FeaturePipeline:
    """The pipeline a manifest names, with every parameter checked against the pipeline's own
    keyword defaults, so junk values fail here rather than midway through a batch."""
    name, params = description["name"], description.get("params", {})
    if name not in features_available():
        raise BundleError(f"{MANIFEST} names the feature pipeline {name!r}, which this version does not have")
    signature = inspect.signature(pipeline_class(name))
    for key, value in params.items():
        parameter = signature.parameters.get(key)
        if parameter is None or parameter.kind is not parameter.KEYWORD_ONLY and parameter.kind is not parameter.POSITIONAL_OR_KEYWORD:
            raise BundleError(f"{MANIFEST}: pipeline {name!r} has no parameter {key!r}")
        if parameter.default is not parameter.empty and not _same_kind(parameter.default, value):
            raise BundleError(f"{MANIFEST}: pipeline parameter {key}={value!r} is not of the kind {parameter.default!r} is")
    try:
        return make_pipeline(name, **params)
    except (TypeError, ValueError) as exc:
        raise BundleError(f"{MANIFEST}: pipeline {name!r} refuses its parameters: {exc}") from None


def _config_overrides(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict):
            flat.update(_config_overrides(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = tuple(value) if isinstance(value, list) else value
    return flat


def _create_method(meta: dict[str, Any], device: str) -> Method:
    """The manifest's method with its settings, each checked against the method's own defaults
    (name and kind), so a tampered setting fails here instead of inside the model."""
    overrides = _config_overrides(meta["config"])
    for key in ("train.device", "device"):  # torch methods keep it in their training config or at the top
        if key in overrides:
            overrides[key] = device
    try:
        spec = method_spec(meta["method"])
        defaults = _config_overrides(_jsonable(spec.config))
    except UnknownMethod:
        raise BundleError(f"bundle was made by the method {meta['method']!r}, which this version does not know") from None
    for key, value in overrides.items():
        if key not in defaults:
            raise BundleError(f"bundle was made with a setting this version does not know: {key}")
        if not _same_kind(defaults[key], value):
            raise BundleError(f"{MANIFEST}: setting {key}={value!r} is not of the kind {defaults[key]!r} is")
    try:
        return create_method(meta["method"], meta["labels"], **overrides)
    except (KeyError, TypeError, ValueError, MethodUnavailable) as exc:
        raise BundleError(f"{MANIFEST}: the method refuses its settings or labels: {exc}") from None


def load(path: Path | str, device: str = "cpu") -> LoadedBundle:
    """Load a bundle folder or zip exported by ``export``; raises ``BundleError`` if unsafe or broken."""
    path = Path(path)
    if not path.exists():
        raise BundleError(f"model bundle not found: {path}")
    folder = _unzip(path) if path.is_file() and zipfile.is_zipfile(path) else path
    meta = read_manifest(folder)
    _check_files(folder, meta)
    method = _create_method(meta, device)
    pipeline = _build_pipeline(meta["pipeline"])
    if pipeline.sample_rate != meta["sample_rate"]:
        raise BundleError(f"{MANIFEST} says {meta['sample_rate']} Hz but its pipeline reads "
                          f"{pipeline.sample_rate} Hz; the model would be fed the wrong rate")
    try:
        method.load_weights(folder)
    except BundleError:
        raise
    except (OSError, RuntimeError, ValueError, KeyError, TypeError, SafetensorError) as exc:
        raise BundleError(f"the weights in {folder.name} are damaged or do not fit {MANIFEST}: "
                          f"{str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__}") from None
    return LoadedBundle(path, meta, method, pipeline)
