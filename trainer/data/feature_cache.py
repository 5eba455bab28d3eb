"""A disk cache of computed features, keyed by the source file's content and how it was processed.

A key is the SHA-256 of: the file's content hash, the pipeline's name and parameters, the caller's
context (window spec, augmentation variant, ...) and ``FORMAT``. Renaming or moving a file keeps
its entries; changing a byte or a parameter misses. Arrays are stored as ``.npy`` and read back
with ``allow_pickle=False``, so a cache folder can never make the trainer run code.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import platformdirs

from trainer.runtime.digest import file_digest
from trainer.runtime.features import FeaturePipeline

# Bump when a pipeline's code changes what it computes for the same parameters.
FORMAT = 1


def default_cache_dir() -> Path:
    """The user's cache folder for features (e.g. ``~/.cache/genre-tagger/features`` on Linux)."""
    return platformdirs.user_cache_path("genre-tagger") / "features"


class FeatureCache:
    """Features on disk under ``root`` (default: ``default_cache_dir()``)."""

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root) if root is not None else default_cache_dir()
        self._digests: dict[tuple[str, int, int], str] = {}

    def _digest(self, path: Path) -> str:
        """Content hash, remembered per (path, size, mtime) so variants of one file hash it once."""
        stat = path.stat()
        memo = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
        if memo not in self._digests:
            self._digests[memo] = file_digest(path)
        return self._digests[memo]

    def key(self, source: Path | str, pipeline: FeaturePipeline, context: dict[str, Any] | None = None) -> str:
        """The cache key of ``pipeline`` applied to ``source`` under ``context`` (JSON-able)."""
        blob = json.dumps({"file": self._digest(Path(source)), "pipeline": pipeline.describe(),
                           "context": context or {}, "format": FORMAT}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.npy"

    def load(self, key: str) -> np.ndarray | None:
        """The stored array, or None when missing or unreadable (a damaged entry is removed)."""
        path = self._path(key)
        try:
            return np.load(path, allow_pickle=False)
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            path.unlink(missing_ok=True)
            return None

    def save(self, key: str, array: np.ndarray) -> None:
        """Store ``array`` atomically (write a temporary file, then rename over the entry)."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                np.save(handle, np.asarray(array), allow_pickle=False)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get_or_compute(self, source: Path | str, pipeline: FeaturePipeline, compute: Callable[[], np.ndarray],
                       context: dict[str, Any] | None = None) -> np.ndarray:
        """The cached features of ``source``, computing and storing them with ``compute`` on a miss."""
        key = self.key(source, pipeline, context)
        found = self.load(key)
        if found is not None:
            return found
        array = compute()
        self.save(key, array)
        return array
