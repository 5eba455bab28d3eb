"""Taste-profile snapshots, so the profile can say how the library's taste moved over time."""

from __future__ import annotations

from sqlalchemy import select

from tagger.library import Library, ProfileSnapshot
from tagger.profile.shares import GenreShares, Profile, Weighting


def _comparable(profile: Profile) -> dict:
    data = profile.to_dict()
    del data["taken_at"]
    return data


def history(lib: Library, weighting: Weighting) -> list[Profile]:
    """Saved snapshots of one weighting, oldest first."""
    with lib.session() as session:
        rows = session.scalars(select(ProfileSnapshot).where(ProfileSnapshot.weighting == weighting)
                               .order_by(ProfileSnapshot.taken_at, ProfileSnapshot.id))
        return [Profile.from_dict(row.data) for row in rows]


def save_snapshot(lib: Library, profile: Profile) -> bool:
    """Store ``profile`` unless it equals the latest snapshot of its weighting; True if stored."""
    past = history(lib, profile.weighting)
    if past and _comparable(past[-1]) == _comparable(profile):
        return False
    with lib.session() as session:
        session.add(ProfileSnapshot(taken_at=profile.taken_at, weighting=profile.weighting, data=profile.to_dict()))
        session.commit()
    return True


def changes(before: GenreShares, after: GenreShares) -> dict[str, float]:
    """Share difference per genre (after minus before, in fractions), largest moves first."""
    old, new = before.shares(), after.shares()
    delta = {g: new.get(g, 0.0) - old.get(g, 0.0) for g in set(old) | set(new)}
    return dict(sorted(((g, d) for g, d in delta.items() if abs(d) > 1e-9), key=lambda kv: (-abs(kv[1]), kv[0])))
