"""The taste profile as a picture: library shares, each playlist's mix, and the trend over snapshots.

Drawn with matplotlib's object API (no pyplot), so it works headless and inside the Qt GUI alike;
matplotlib is imported on first use because it takes a second to load. ``genre_colours`` is the
one palette of the app: a genre has the same colour in every chart that shows it.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from tagger.library.schema import local_time
from tagger.profile.shares import GenreShares, Profile

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

MAX_PLAYLISTS = 12
#: Genres shown one by one, in the chart and in the text beside it; the rest are summed as "other".
TOP_GENRES = 10
OTHER = "other"
#: GTZAN's genres (the shipped model's labels) keep matplotlib's ten most distinct colours.
_FIXED = ("blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock")


def genre_colours(genres: Iterable[str]) -> dict[str, tuple]:
    """genre -> RGBA. A genre's colour depends on its name only, so the track chart and the profile
    agree: GTZAN's ten take ``tab10``; any other genre a colour of ``tab20b``/``tab20c`` chosen by a
    stable hash of its name; "other" is grey."""
    from matplotlib import colormaps

    fixed, extra = colormaps["tab10"], [*colormaps["tab20b"].colors, *colormaps["tab20c"].colors]
    colours = {}
    for genre in genres:
        key = genre.casefold()
        if key == OTHER:
            colours[genre] = (0.6, 0.6, 0.6, 1.0)
        elif key in _FIXED:
            colours[genre] = fixed(_FIXED.index(key))
        else:
            colours[genre] = (*extra[zlib.crc32(key.encode()) % len(extra)], 1.0)
    return colours


def top_shares(scope: GenreShares, top: int = TOP_GENRES) -> dict[str, float]:
    """The ``top`` largest shares, largest first, and the rest summed under "other"."""
    shares = list(scope.shares().items())
    shown = dict(shares[:top])
    rest = sum(share for _, share in shares[top:])
    return shown | ({OTHER: rest} if rest > 0 else {})


def distinct_labels(times: Sequence[datetime]) -> list[str]:
    """Axis labels for snapshot times, as short as they can be while no two are alike: the day and
    minute, with seconds when two fall in one minute, numbered when two fall in one second."""
    local = [local_time(t) for t in times]
    for fmt in ("%Y-%m-%d\n%H:%M", "%Y-%m-%d\n%H:%M:%S"):
        labels = [f"{t:{fmt}}" for t in local]
        if len(set(labels)) == len(labels):
            return labels
    return [f"{label} #{i + 1}" for i, label in enumerate(labels)]


def _library_title(scope: GenreShares, tagged: int | None) -> str:
    """What the library's shares rest on: the user's genres, predictions, and the files' own tags."""
    parts = [f"{scope.confirmed} by genres you accepted", f"{scope.tracks - scope.confirmed} by prediction"]
    if scope.unknown:
        parts.append(f"{scope.unknown} without a genre yet")
    tags = f"; {tagged} of the files have a genre tag" if tagged is not None else ""
    return f"Library: {scope.tracks + scope.unknown} tracks\n{', '.join(parts)}{tags}"


def _library_panel(ax: Axes, scope: GenreShares, colours: dict[str, tuple], unit: str, top: int,
                   tagged: int | None) -> None:
    shares = top_shares(scope, top)
    names = list(shares)[::-1]
    ax.barh(names, [shares[g] * 100 for g in names], color=[colours[g] for g in names])
    ax.set_xlabel(f"% of {unit}")
    ax.set_title(_library_title(scope, tagged), fontsize="medium")
    if not shares:
        ax.text(0.5, 0.5, "no genres yet: classify the library first", ha="center", transform=ax.transAxes)


def _playlist_panel(ax: Axes, playlists: list[GenreShares], colours: dict[str, tuple], unit: str, top: int) -> None:
    for row, scope in enumerate(playlists):
        left = 0.0
        for genre, share in top_shares(scope, top).items():
            ax.barh(row, share * 100, left=left, height=0.6, color=colours[genre])
            left += share * 100
    ax.set_yticks(range(len(playlists)), [f"{p.name} ({p.tracks})" for p in playlists])
    ax.set_ylim(len(playlists) - 0.5, -0.5)
    ax.set_xlim(0, 100)
    ax.set_xlabel(f"% of {unit} in each playlist")
    ax.set_title("Playlists", fontsize="medium")


def _trend_panel(ax: Axes, history: Sequence[Profile], colours: dict[str, tuple], unit: str, top: int) -> None:
    from matplotlib.ticker import FixedLocator, MaxNLocator

    steps = list(range(len(history)))
    for genre in colours:
        ax.plot(steps, [top_shares(p.library, top).get(genre, 0.0) * 100 for p in history], marker="o",
                color=colours[genre])
    labels = distinct_labels([p.taken_at for p in history])
    shown = [int(s) for s in MaxNLocator(nbins=8, integer=True).tick_values(0, len(steps) - 1) if 0 <= s < len(steps)]
    ax.xaxis.set_major_locator(FixedLocator(shown))
    ax.set_xticklabels([labels[s] for s in shown], fontsize="small")
    ax.set_ylabel(f"% of {unit}")
    ax.set_title("Library over snapshots", fontsize="medium")


def panel_heights(profile: Profile, history: Sequence[Profile] = (), top: int = TOP_GENRES) -> list[float]:
    """Inches each panel needs to stay legible (the GUI sizes its canvas from their sum)."""
    playlists = _playlists(profile)
    heights = [1.4 + 0.28 * max(len(top_shares(profile.library, top)), 1)]
    heights += [1.2 + 0.35 * len(playlists)] if playlists else []
    heights += [2.8] if len(history) >= 2 else []
    return heights


def _playlists(profile: Profile) -> list[GenreShares]:
    return [p for p in sorted(profile.playlists, key=lambda p: -p.tracks) if p.tracks][:MAX_PLAYLISTS]


def draw_profile(fig: Figure, profile: Profile, history: Sequence[Profile] = (), top: int = TOP_GENRES,
                 tagged: int | None = None) -> None:
    """Draw ``profile`` on ``fig``: library shares (the ``top`` genres, the rest as "other"), up to
    ``MAX_PLAYLISTS`` playlists (most songs first) as 100% bars and, given two or more snapshots in
    ``history``, each genre's share over them; one legend, outside the data. ``tagged`` is how many
    files carry a genre tag of their own, when known."""
    from matplotlib.patches import Patch

    playlists = _playlists(profile)
    trend = list(history) if len(history) >= 2 else []
    genres = dict.fromkeys(top_shares(profile.library, top))
    for scope in playlists + [p.library for p in trend]:
        genres |= dict.fromkeys(top_shares(scope, top))
    colours = genre_colours(genres)
    unit = "songs" if profile.weighting == "count" else "listening time"
    heights = panel_heights(profile, history, top)
    fig.clear()
    fig.set_layout_engine("constrained")
    axes = fig.subplots(len(heights), 1, squeeze=False, gridspec_kw={"height_ratios": heights})[:, 0]
    _library_panel(axes[0], profile.library, colours, unit, top, tagged)
    if playlists:
        _playlist_panel(axes[1], playlists, colours, unit, top)
    if trend:
        _trend_panel(axes[-1], trend, colours, unit, top)
    if len(axes) > 1:
        handles = [Patch(color=colours[g], label=g) for g in genres]
        fig.legend(handles=handles, loc="outside right upper", fontsize="small", title="genre")


def draw_chart(profile: Profile, path: Path | str, history: Sequence[Profile] = (), top: int = TOP_GENRES,
               tagged: int | None = None) -> Path:
    """Write an image of ``profile`` to ``path`` (PNG, SVG, PDF: matplotlib goes by the suffix);
    the panels of ``draw_profile``."""
    from matplotlib.figure import Figure

    path = Path(path)
    fig = Figure(figsize=(9, sum(panel_heights(profile, history, top)) + 0.5))
    draw_profile(fig, profile, history, top, tagged)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path
