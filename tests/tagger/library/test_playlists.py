"""Reading M3U playlists as players write them."""

from __future__ import annotations

import os

from tagger.library import read_m3u


def test_extended_m3u8_with_relative_absolute_url_and_windows_entries(tmp_path):
    playlist = tmp_path / "lists" / "road trip.m3u8"
    playlist.parent.mkdir()
    playlist.write_text("\ufeff#EXTM3U\n#EXTINF:215,Ärtist – Song\n../music/a.flac\n\n# a comment\n"
                        "/abs/b.mp3\nfile:///abs/with%20space.ogg\nhttps://example.org/live\n"
                        "..\\music\\sub\\c.m4a\n", encoding="utf-8")
    items = read_m3u(playlist)
    assert [i.title for i in items] == ["Ärtist – Song", None, None, None, None]
    assert [i.path for i in items] == [
        os.path.normpath(tmp_path / "music" / "a.flac"), "/abs/b.mp3", "/abs/with space.ogg", None,
        os.path.normpath(tmp_path / "music" / "sub" / "c.m4a"),
    ]


def test_plain_m3u_in_windows_1252(tmp_path):
    playlist = tmp_path / "old.m3u"
    playlist.write_bytes("Café.mp3\r\n".encode("cp1252"))
    assert [i.path for i in read_m3u(playlist)] == [str(tmp_path / "Café.mp3")]
