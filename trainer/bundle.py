"""Writing model bundles: ``export`` a trained method, ``upgrade`` a bundle of an older format.

What a bundle may hold and how it is read and checked is ``trainer.runtime.bundle``; a bundle is
written here through the same ``Manifest``, so the two sides cannot disagree on its fields.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from trainer import __version__
from trainer.methods import UnknownMethod, create
from trainer.methods.base import Method
from trainer.runtime.audio.windows import WindowSpec
from trainer.runtime.bundle import (
    FORMAT_VERSION,
    MANIFEST,
    BundleError,
    Manifest,
    check_vocabulary,
    flat_settings,
    jsonable,
    read_json,
)
from trainer.runtime.errors import MethodUnavailable
from trainer.runtime.features import FeaturePipeline


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
    ``window``: how its training audio was cut (``WindowSpec`` fields; default: 30-s windows).
    ``vocabulary``: a multi-label model's genres and descriptors (see ``check_vocabulary``)."""
    folder = Path(folder)
    if vocabulary is not None:
        check_vocabulary(vocabulary, list(method.labels))
    if folder.exists() and any(folder.iterdir()):
        raise BundleError(f"{folder} is not empty; choose a new folder for the bundle")
    folder.mkdir(parents=True, exist_ok=True)
    weights = method.save(folder)
    digest = hashlib.sha256()
    for name in sorted(weights):
        (folder / name).chmod(0o644)  # safetensors writes owner-only files; a bundle is meant to be shared
        digest.update((folder / name).read_bytes())
    created = datetime.now(timezone.utc)
    manifest = Manifest(
        id=f"{method.name}-{created:%Y%m%d-%H%M%S}-{digest.hexdigest()[:8]}",
        method=method.name,
        family=method.family,
        labels=tuple(method.labels),
        sample_rate=pipeline.sample_rate,
        window=WindowSpec(**(window or {})),
        pipeline=pipeline.describe(),
        config=jsonable(method.config_dict()),
        weights=tuple(sorted(weights)),
        weights_sha256=digest.hexdigest(),
        metrics=jsonable(metrics),
        vocabulary=vocabulary,
        seed_report=method.spec.seed,
        pretrained=method.pretrained,
        training_data=training_data,
        created_at=created.isoformat(timespec="seconds"),
        trainer_version=__version__,
        notes=notes,
    )
    (folder / MANIFEST).write_text(json.dumps(manifest.to_json(), indent=2) + "\n")
    return folder


def upgrade(folder: Path | str) -> Manifest:
    """Rewrite a format-1 bundle folder's manifest as format 2: the model family its method
    belongs to (from the trainer's registry) and the full window specification (the tail rules
    format 1 left to the tagger's defaults). Weights are untouched, so their checksum holds."""
    folder = Path(folder)
    if not folder.is_dir():
        raise BundleError(f"{folder} is not a bundle folder (unzip a zipped bundle first)")
    meta = read_json(folder)
    if not isinstance(meta, dict) or meta.get("format_version") != 1:
        version = meta.get("format_version") if isinstance(meta, dict) else None
        raise BundleError(f"{folder / MANIFEST} is format {version!r}; only format 1 is upgraded to {FORMAT_VERSION}")
    settings = flat_settings(meta.get("config") or {})
    try:
        model = create(str(meta.get("method")), list(meta.get("labels") or []),
                       **{k: v for k, v in settings.items() if not k.endswith("allow_random_init")},
                       **({"allow_random_init": True} if "allow_random_init" in settings else {}))
    except UnknownMethod:
        raise BundleError(f"bundle was made by the method {meta.get('method')!r}, which this version does not "
                          "know") from None
    except (KeyError, TypeError, ValueError, MethodUnavailable) as exc:
        raise BundleError(f"{MANIFEST}: the method refuses its settings or labels: {exc}") from None
    window = {**WindowSpec().to_dict(), **(meta.get("window") or {})}
    manifest = Manifest.from_json({**meta, "format_version": FORMAT_VERSION, "family": model.family,
                                   "window": window})
    (folder / MANIFEST).write_text(json.dumps(manifest.to_json(), indent=2) + "\n")
    return manifest
