"""The taste profile as text and as JSON, for the terminal and for other programs."""

from __future__ import annotations

from typing import Any

from tagger.library.schema import local_time
from tagger.profile.shares import GenreShares, Profile
from tagger.profile.snapshots import changes


def _scope_lines(scope: GenreShares, top: int, before: GenreShares | None) -> list[str]:
    head = f"{scope.name}: {scope.tracks} track{'' if scope.tracks == 1 else 's'}"
    if scope.confirmed:
        head += f" ({scope.confirmed} by your confirmed genres)"
    if scope.unknown:
        head += f"; {scope.unknown} more without a genre (not classified yet, unreadable or not catalogued)"
    lines = [head]
    moved = changes(before, scope) if before is not None else {}
    for genre, share in scope.top(top):
        delta = f"  ({moved[genre] * 100:+.1f} pts)" if genre in moved else ""
        lines.append(f"  {genre:<16} {share * 100:5.1f}%{delta}")
    return lines


def render_text(profile: Profile, previous: Profile | None = None, top: int = 5) -> str:
    """Library and playlist shares; with ``previous``, each share's change since that snapshot."""
    basis = "song count" if profile.weighting == "count" else "duration"
    lines = [f"Taste profile by {basis}; predictions from model {profile.model or '(none)'}"]
    if previous is not None:
        lines.append(f"changes since the snapshot of {local_time(previous.taken_at):%Y-%m-%d %H:%M}")
    lines += _scope_lines(profile.library, top, previous.library if previous else None)
    before = {p.name: p for p in previous.playlists} if previous else {}
    for scope in profile.playlists:
        lines += _scope_lines(scope, top, before.get(scope.name))
    return "\n".join(lines)


def to_json(profile: Profile, previous: Profile | None = None) -> dict[str, Any]:
    """``Profile.to_dict`` with each scope's shares, and the changes since ``previous`` if given."""
    def scope(s: GenreShares, b: GenreShares | None) -> dict[str, Any]:
        out: dict[str, Any] = {"name": s.name, "tracks": s.tracks, "confirmed": s.confirmed,
                               "unknown": s.unknown, "weights": s.weights, "shares": s.shares()}
        if b is not None:
            out["changes"] = changes(b, s)
        return out

    before = {p.name: p for p in previous.playlists} if previous else {}
    return {
        "weighting": profile.weighting,
        "model": profile.model,
        "taken_at": profile.taken_at.isoformat(timespec="seconds"),
        "previous_snapshot": previous.taken_at.isoformat(timespec="seconds") if previous else None,
        "library": scope(profile.library, previous.library if previous else None),
        "playlists": [scope(p, before.get(p.name)) for p in profile.playlists],
    }
