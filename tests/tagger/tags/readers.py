"""Independent readers for the tag tests: what FFmpeg sees, not what mutagen sees."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path


def ffprobe_genre(path: Path) -> str | None:
    """The genre as FFmpeg reads it (container or stream tags), independent of mutagen."""
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format_tags:stream_tags", "-of", "json",
                          str(path)], capture_output=True, text=True, check=True).stdout
    data = json.loads(out)
    tags = [data.get("format", {}).get("tags", {})] + [s.get("tags", {}) for s in data.get("streams", [])]
    for group in tags:
        for key, value in group.items():
            if key.lower() == "genre":
                return value
    return None


def audio_md5(path: Path) -> str:
    """MD5 of the decoded audio as FFmpeg decodes it, tags excluded."""
    out = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:a", "-f", "md5", "-"],
                         capture_output=True, text=True, check=True).stdout
    return out.strip()
