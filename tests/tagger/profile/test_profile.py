"""Taste profile: shares by count and duration, confirmed genres first, playlists, snapshots, chart."""

from __future__ import annotations

import json

import pytest

from tagger.library import confirm_genres, open_library, scan, track_ids_for
from tagger.profile import (
    changes,
    compute_profile,
    draw_chart,
    history,
    render_text,
    save_snapshot,
    to_json,
)
from tests.tagger.library.helpers import classified, library_template, music  # noqa: F401  (fixtures)


@pytest.fixture
def lib(classified):
    return classified


def test_library_shares_by_song_count(lib):
    profile = compute_profile(lib)
    # by file name: blues for wav, opus, aiff; jazz for flac, mp3; rock for ogg, m4a
    assert profile.library.weights == {"blues": 3, "jazz": 2, "rock": 2}
    assert profile.library.top(1) == [("blues", pytest.approx(3 / 7))]
    assert (profile.library.tracks, profile.library.unknown, profile.model) == (7, 0, "fake-model-1")


def test_playlist_shares_count_its_songs_and_what_is_not_in_the_library(lib):
    (mix,) = compute_profile(lib).playlists
    assert (mix.name, mix.weights, mix.tracks, mix.unknown) == ("mix", {"blues": 1, "jazz": 1}, 2, 2)


def test_confirmed_genres_come_before_predictions(lib, music):
    ids = track_ids_for(lib, [music / "albums" / "rock-ogg.ogg", music / "albums" / "rock-m4a.m4a"]).values()
    confirm_genres(lib, ids, ["JAZZ", "Soul"])  # spelled differently from the model's "jazz"
    library = compute_profile(lib).library
    assert library.weights == {"blues": 3, "jazz": 3, "Soul": 1}
    assert library.confirmed == 2
    confirm_genres(lib, ids, None)  # forgotten: the predictions count again
    assert compute_profile(lib).library.weights == {"blues": 3, "jazz": 2, "rock": 2}


def test_duration_weighting_sums_durations(lib):
    by_time = compute_profile(lib, "duration").library
    assert by_time.total == pytest.approx(7.0, abs=0.2)  # seven one-second clips
    assert by_time.shares()["blues"] == pytest.approx(3 / 7, abs=0.02)


def test_snapshots_are_kept_when_something_changed_and_compared(lib, music):
    first = compute_profile(lib)
    assert save_snapshot(lib, first) is True
    assert save_snapshot(lib, compute_profile(lib)) is False  # the same profile is not stored twice
    confirm_genres(lib, track_ids_for(lib, [music / "albums" / "rock-ogg.ogg"]).values(), ["jazz"])
    second = compute_profile(lib)
    assert save_snapshot(lib, second) is True
    assert [p.library.weights for p in history(lib, "count")] == [first.library.weights, second.library.weights]
    assert changes(first.library, second.library) == {"jazz": pytest.approx(1 / 7), "rock": pytest.approx(-1 / 7)}
    text = render_text(second, first)
    assert "Library: 7 tracks (1 by your confirmed genres)" in text
    assert "+14.3 pts" in text and "mix: 2 tracks" in text and "2 more without a genre" in text
    data = json.loads(json.dumps(to_json(second, first)))
    assert data["library"]["changes"]["jazz"] == pytest.approx(1 / 7)
    assert data["playlists"][0]["shares"] == {"blues": 0.5, "jazz": 0.5}


def test_chart_is_written_with_and_without_history(lib, tmp_path):
    profile = compute_profile(lib)
    save_snapshot(lib, profile)
    png = draw_chart(profile, tmp_path / "charts" / "profile.png", history(lib, "count"))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = draw_chart(profile, tmp_path / "trend.svg", [profile, compute_profile(lib)])
    assert "<svg" in svg.read_text()[:500]


def test_an_unclassified_library_still_profiles_and_draws(tmp_path, music):
    with open_library(tmp_path / "new.db") as lib:
        scan(lib, [music])
        profile = compute_profile(lib)
        assert (profile.library.tracks, profile.library.unknown, profile.model) == (0, 7, None)
        assert draw_chart(profile, tmp_path / "empty.png").stat().st_size > 0
