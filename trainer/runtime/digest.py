"""Content hashes of files: what caches key on, so a changed file never reuses stale results."""

from __future__ import annotations

import hashlib
from pathlib import Path


def file_digest(path: Path | str) -> str:
    """SHA-256 hex digest of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
