"""Reading model bundles: the one contract between the trainer and the tagger, from the reading side.

A bundle is a folder (or a zip of one) holding ``bundle.json`` and weights in formats that cannot
run code when read: safetensors, XGBoost UBJSON/JSON, skops (with a type allow-list). Loading
refuses any other file kind, so a bundle from the internet cannot execute anything; nothing here
ever unpickles. ``read_manifest`` checks every field the tagger relies on and gives a typed
``Manifest``; ``load`` builds the manifest's model family (``trainer.runtime.models``) and feature
pipeline, with every setting checked against the family's own defaults, and reads the weights.
Writing bundles is the trainer's (``trainer.bundle.export``).
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
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import SafetensorError

from trainer.runtime.audio.windows import WindowSpec
from trainer.runtime.errors import MethodUnavailable, UserError
from trainer.runtime.features import FeaturePipeline, pipeline_class
from trainer.runtime.features import make as make_pipeline
from trainer.runtime.models import UnknownFamily, family
from trainer.runtime.models.base import Model, replace_config

FORMAT_VERSION = 2
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
UPGRADE_HINT = "re-export it with `genre-trainer upgrade-bundle PATH`"


class BundleError(UserError):
    """A bundle that cannot or must not be loaded; the message says why."""


@dataclass(frozen=True, kw_only=True)
class Manifest:
    """``bundle.json``, checked: what a bundle is (method, model family, settings, weights), what
    it reads (sample rate, windows, feature pipeline) and what it was measured to do. Fields are
    in the order ``bundle.json`` lists them."""

    format_version: int = FORMAT_VERSION
    id: str
    method: str
    family: str
    seed_report: str = ""
    config: dict[str, Any]
    labels: tuple[str, ...]
    sample_rate: int
    window: WindowSpec
    pipeline: dict[str, Any]
    pretrained: bool | None = None
    metrics: dict[str, Any] = dataclasses.field(default_factory=dict)
    training_data: str = ""
    created_at: str = ""
    trainer_version: str = ""
    weights: tuple[str, ...]
    weights_sha256: str = ""
    notes: str = ""
    vocabulary: dict[str, Any] | None = None

    @classmethod
    def from_json(cls, meta: Any) -> Manifest:
        """The manifest of a parsed ``bundle.json``; ``BundleError`` says what is wrong with it."""
        _check_manifest(meta)
        known = {f.name for f in dataclasses.fields(cls)}
        fields = {k: v for k, v in meta.items() if k in known}
        return cls(**{**fields, "labels": tuple(meta["labels"]), "weights": tuple(meta["weights"]),
                      "window": WindowSpec(**meta["window"]), "metrics": meta.get("metrics") or {}})

    def to_json(self) -> dict[str, Any]:
        """The manifest as ``bundle.json`` holds it."""
        meta = jsonable(self)
        if self.vocabulary is None:
            del meta["vocabulary"]
        return meta


@dataclass
class LoadedBundle:
    """A bundle ready to classify: its manifest, its model with weights, and its feature pipeline."""

    path: Path
    manifest: Manifest
    model: Model
    pipeline: FeaturePipeline

    @property
    def id(self) -> str:
        return self.manifest.id

    @property
    def labels(self) -> list[str]:
        return list(self.manifest.labels)

    @property
    def sample_rate(self) -> int:
        return self.manifest.sample_rate

    def predict_proba(self, windows: np.ndarray) -> np.ndarray:
        """Window probabilities from raw windows, through the bundle's own pipeline."""
        return self.model.predict_proba(self.pipeline(windows))


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


def jsonable(value: Any) -> Any:
    """``value`` as JSON holds it: dataclasses as objects, tuples as lists, numpy scalars as numbers."""
    if dataclasses.is_dataclass(value):
        return jsonable({f.name: getattr(value, f.name) for f in dataclasses.fields(value)})
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _check_files(folder: Path, manifest: Manifest) -> None:
    for path in folder.rglob("*"):
        if path.is_file() and path.suffix.lower() not in SAFE_SUFFIXES:
            raise BundleError(f"bundle holds {path.name}, a file kind that could run code; refusing to load it")
    digest = hashlib.sha256()
    for name in sorted(manifest.weights):
        target = (folder / name).resolve()
        if folder.resolve() not in target.parents or not target.is_file():
            raise BundleError(f"bundle names a weights file it does not hold: {name}")
        digest.update(target.read_bytes())
    if manifest.weights_sha256 and digest.hexdigest() != manifest.weights_sha256:
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


def _check_window(window: Any) -> None:
    """Every field of ``WindowSpec``, each of the kind it expects."""
    names = [f.name for f in dataclasses.fields(WindowSpec)]
    if not isinstance(window, dict) or set(window) != set(names):
        raise BundleError(f"{MANIFEST}: window must be an object with exactly {', '.join(names)}")
    for key in ("length_s", "hop_s"):
        _number(window[key], f"window.{key}", high=24 * 3600)
    _number(window["min_tail_s"], "window.min_tail_s", low=-1e-9, high=24 * 3600)
    if window["max_windows"] is not None:
        _number(window["max_windows"], "window.max_windows", integer=True, high=1e6)
    try:
        WindowSpec(**window)
    except ValueError as exc:
        raise BundleError(f"{MANIFEST}: window: {exc}") from None


def _check_manifest(meta: Any) -> None:
    """Every field the loader and the tagger read, with the type they expect; a tampered or
    damaged manifest fails here with one sentence instead of deep inside a model."""
    if not isinstance(meta, dict):
        raise BundleError(f"{MANIFEST} must hold a JSON object")
    if meta.get("format_version") == 1:
        raise BundleError(f"bundle format 1 is out of date: {UPGRADE_HINT}")
    if meta.get("format_version") != FORMAT_VERSION:
        raise BundleError(f"bundle format {meta.get('format_version')!r} is not supported (expected {FORMAT_VERSION})")
    missing = [k for k in ("id", "method", "family", "config", "labels", "sample_rate", "window", "pipeline",
                           "weights") if k not in meta]
    if missing:
        raise BundleError(f"{MANIFEST} lacks {', '.join(missing)}")
    for key in ("id", "method", "family"):
        if not isinstance(meta[key], str) or not meta[key]:
            raise BundleError(f"{MANIFEST}: {key} must be a non-empty string")
    labels = meta["labels"]
    if (not isinstance(labels, list) or len(labels) < 2 or len(set(map(str, labels))) != len(labels)
            or not all(isinstance(x, str) and x.strip() for x in labels)):
        raise BundleError(f"{MANIFEST}: labels must be a list of at least two distinct, non-empty names")
    _number(meta["sample_rate"], "sample_rate", integer=True, low=999, high=384000)
    _check_window(meta["window"])
    pipeline = meta["pipeline"]
    if not isinstance(pipeline, dict) or not isinstance(pipeline.get("name"), str) \
            or not isinstance(pipeline.get("params", {}), dict):
        raise BundleError(f"{MANIFEST}: pipeline must be an object with a name and a params object")
    if not isinstance(meta["config"], dict):
        raise BundleError(f"{MANIFEST}: config must be an object")
    if not isinstance(meta["weights"], list) or not all(isinstance(w, str) for w in meta["weights"]):
        raise BundleError(f"{MANIFEST}: weights must be a list of file names")
    for key in ("weights_sha256", "seed_report", "training_data", "created_at", "trainer_version", "notes"):
        if not isinstance(meta.get(key, ""), str):
            raise BundleError(f"{MANIFEST}: {key} must be a string")
    if not isinstance(meta.get("metrics") or {}, dict):
        raise BundleError(f"{MANIFEST}: metrics must be an object")
    if meta.get("pretrained") not in (None, True, False):
        raise BundleError(f"{MANIFEST}: pretrained must be true, false or null")
    if meta.get("vocabulary") is not None:
        check_vocabulary(meta["vocabulary"], labels)


def check_vocabulary(vocabulary: Any, labels: list[str]) -> None:
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


def _parse(raw: bytes, where: str) -> Any:
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BundleError(f"{where} is not valid JSON: {exc}") from None
    except RecursionError:  # nesting deep enough to exhaust the parser's stack
        raise BundleError(f"{where} nests too deeply to be a manifest") from None


def read_json(path: Path | str) -> Any:
    """The parsed ``bundle.json`` of a bundle folder or zip, not yet checked (see ``read_manifest``)."""
    path = Path(path)
    if not path.exists():
        raise BundleError(f"model bundle not found: {path}")
    if path.is_file() and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.infolist() if m.filename.rsplit("/", 1)[-1] == MANIFEST]
            if len(members) != 1:
                raise BundleError(f"{path.name} must hold exactly one {MANIFEST}")
            if members[0].file_size > MAX_MANIFEST_BYTES:
                raise BundleError(f"{path.name}: {MANIFEST} is {members[0].file_size:,} bytes; a manifest is a few "
                                  "kilobytes")
            return _parse(archive.read(members[0]), f"{path.name}: {MANIFEST}")
    manifest = path / MANIFEST
    if not manifest.is_file():
        raise BundleError(f"{path} is not a model bundle (no {MANIFEST})")
    if manifest.stat().st_size > MAX_MANIFEST_BYTES:
        raise BundleError(f"{manifest} is {manifest.stat().st_size:,} bytes; a manifest is a few kilobytes")
    return _parse(manifest.read_bytes(), str(manifest))


def read_manifest(path: Path | str) -> Manifest:
    """The checked manifest of a bundle folder or zip (nothing else is read or unpacked)."""
    return Manifest.from_json(read_json(path))


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
    try:
        signature = inspect.signature(pipeline_class(name))
    except KeyError:
        raise BundleError(f"{MANIFEST} names the feature pipeline {name!r}, which this version does not have") from None
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


def flat_settings(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A config as dotted names (``train.lr``), lists as tuples, as the config dataclasses hold them."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict):
            flat.update(flat_settings(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = tuple(value) if isinstance(value, list) else value
    return flat


def _create_model(manifest: Manifest, device: str) -> Model:
    """The manifest's model family with its settings, each checked against the family's own
    defaults (name and kind), so a tampered setting fails here instead of inside the model.
    Every ``device`` setting becomes ``device``."""
    try:
        found = family(manifest.family)
    except UnknownFamily:
        raise BundleError(f"bundle holds a model of the family {manifest.family!r}, which this version does not "
                          "have") from None
    defaults = flat_settings(jsonable(found.config()))
    settings = flat_settings(manifest.config)
    for key, value in settings.items():
        if key not in defaults:
            raise BundleError(f"bundle was made with a setting this version does not know: {key}")
        if not _same_kind(defaults[key], value):
            raise BundleError(f"{MANIFEST}: setting {key}={value!r} is not of the kind {defaults[key]!r} is")
    settings.update({key: device for key in settings if key == "device" or key.endswith(".device")})
    try:
        return found.model(replace_config(found.config(), settings), list(manifest.labels))
    except (KeyError, TypeError, ValueError, MethodUnavailable) as exc:
        raise BundleError(f"{MANIFEST}: the model refuses its settings or labels: {exc}") from None


def load(path: Path | str, device: str = "cpu") -> LoadedBundle:
    """Load a bundle folder or zip exported by the trainer; raises ``BundleError`` if unsafe or broken."""
    path = Path(path)
    if not path.exists():
        raise BundleError(f"model bundle not found: {path}")
    folder = _unzip(path) if path.is_file() and zipfile.is_zipfile(path) else path
    manifest = read_manifest(folder)
    _check_files(folder, manifest)
    model = _create_model(manifest, device)
    pipeline = _build_pipeline(manifest.pipeline)
    if pipeline.sample_rate != manifest.sample_rate:
        raise BundleError(f"{MANIFEST} says {manifest.sample_rate} Hz but its pipeline reads "
                          f"{pipeline.sample_rate} Hz; the model would be fed the wrong rate")
    try:
        model.load_weights(folder)
    except BundleError:
        raise
    except (OSError, RuntimeError, ValueError, KeyError, TypeError, SafetensorError) as exc:
        raise BundleError(f"the weights in {folder.name} are damaged or do not fit {MANIFEST}: "
                          f"{str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__}") from None
    return LoadedBundle(path, manifest, model, pipeline)
