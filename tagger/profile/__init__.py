"""The taste profile: genre shares of the library and its playlists, snapshots over time, a chart."""

from tagger.profile.chart import draw_chart
from tagger.profile.report import render_text, to_json
from tagger.profile.shares import (
    WEIGHTINGS,
    GenreShares,
    Profile,
    Weighting,
    compute_profile,
)
from tagger.profile.snapshots import changes, history, save_snapshot

__all__ = [
    "WEIGHTINGS",
    "GenreShares",
    "Profile",
    "Weighting",
    "changes",
    "compute_profile",
    "draw_chart",
    "history",
    "render_text",
    "save_snapshot",
    "to_json",
]
