"""The taste profile as a picture: library shares, each playlist's mix, and the trend over snapshots.

Drawn with matplotlib's object API (no pyplot), so it works headless and inside the Qt GUI alike;
matplotlib is imported on first use because it takes a second to load.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from tagger.library.models import local_time
from tagger.profile.shares import GenreShares, Profile

if TYPE_CHECKING:
    from matplotlib.axes import Axes

MAX_PLAYLISTS = 12


def _palette(genres: set[str]) -> dict[str, tuple]:
    from matplotlib import colormaps

    cmap = colormaps["tab20"]
    return {g: cmap(i % cmap.N) for i, g in enumerate(sorted(genres))}


def _library_panel(ax: Axes, scope: GenreShares, colours: dict[str, tuple], unit: str) -> None:
    shares = scope.shares()
    names = list(shares)[::-1]
    ax.barh(names, [shares[g] * 100 for g in names], color=[colours[g] for g in names])
    ax.set_xlabel(f"% of {unit}")
    ax.set_title(f"Library: {scope.tracks} tracks with a genre, {scope.unknown} without")
    if not shares:
        ax.text(0.5, 0.5, "no genres yet: classify the library first", ha="center", transform=ax.transAxes)


def _playlist_panel(ax: Axes, playlists: list[GenreShares], colours: dict[str, tuple], unit: str) -> None:
    for row, scope in enumerate(playlists):
        left = 0.0
        for genre, share in scope.shares().items():
            ax.barh(row, share * 100, left=left, height=0.6, color=colours[genre])
            left += share * 100
    ax.set_yticks(range(len(playlists)), [f"{p.name} ({p.tracks})" for p in playlists])
    ax.set_ylim(len(playlists) - 0.5, -0.5)
    ax.set_xlim(0, 100)
    ax.set_xlabel(f"% of {unit} in each playlist")
    ax.set_title("Playlists")


def _trend_panel(ax: Axes, history: Sequence[Profile], colours: dict[str, tuple], unit: str) -> None:
    steps = range(len(history))
    for genre in colours:
        ax.plot(steps, [p.library.shares().get(genre, 0.0) * 100 for p in history], marker="o",
                color=colours[genre], label=genre)
    ax.set_xticks(steps, [f"{local_time(p.taken_at):%Y-%m-%d\n%H:%M}" for p in history], fontsize="small")
    ax.set_ylabel(f"% of {unit}")
    ax.set_title("Library over snapshots")


def draw_chart(profile: Profile, path: Path | str, history: Sequence[Profile] = ()) -> Path:
    """Write an image of ``profile`` to ``path`` (PNG, SVG, PDF: matplotlib goes by the suffix).

    Panels: library shares; up to ``MAX_PLAYLISTS`` playlists (most songs first) as 100% bars;
    and, given two or more snapshots in ``history``, each genre's share over them.
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    path = Path(path)
    playlists = [p for p in sorted(profile.playlists, key=lambda p: -p.tracks) if p.tracks][:MAX_PLAYLISTS]
    trend = list(history) if len(history) >= 2 else []
    genres = set(profile.library.weights)
    for scope in playlists + [p.library for p in trend]:
        genres |= set(scope.weights)
    colours = _palette(genres)
    unit = "songs" if profile.weighting == "count" else "listening time"

    heights = [1.2 + 0.3 * max(len(profile.library.weights), 1)]
    heights += [1.2 + 0.4 * len(playlists)] if playlists else []
    heights += [3.0] if trend else []
    fig = Figure(figsize=(9, sum(heights) + 0.5), layout="constrained")
    axes = fig.subplots(len(heights), 1, squeeze=False, gridspec_kw={"height_ratios": heights})[:, 0]
    _library_panel(axes[0], profile.library, colours, unit)
    if playlists:
        _playlist_panel(axes[1], playlists, colours, unit)
    if trend:
        _trend_panel(axes[-1], trend, colours, unit)
    if len(axes) > 1:
        handles = [Patch(color=colours[g], label=g) for g in sorted(genres)]
        fig.legend(handles=handles, loc="outside right upper", fontsize="small", title="genre")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path
