"""The catalogue file: WAL mode, default location, schema version, backup before migrating."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import text

import tagger.library.db as db
from tagger.library import SCHEMA_VERSION, LibraryError, Track, default_db_path, open_library


def test_new_catalogue_uses_wal_and_records_its_schema_version(tmp_path):
    with open_library(tmp_path / "lib.db") as lib, lib.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA user_version")).scalar() == SCHEMA_VERSION
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    assert lib.backup is None


def test_default_location_is_the_users_data_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_db_path() == tmp_path / "data" / "genre-tagger" / "library.db"
    with open_library() as lib:
        assert lib.path == default_db_path() and lib.path.is_file()


def test_older_catalogue_is_backed_up_then_migrated(tmp_path, monkeypatch):
    path = tmp_path / "lib.db"
    with open_library(path) as lib, lib.session() as session:
        session.add(Track(path="/music/a.flac", size=1, mtime_ns=1))
        session.commit()

    def add_rating(conn):
        conn.exec_driver_sql("ALTER TABLE tracks ADD COLUMN rating INTEGER DEFAULT 3")

    monkeypatch.setattr(db, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    monkeypatch.setattr(db, "MIGRATIONS", {SCHEMA_VERSION: add_rating})
    with open_library(path) as lib, lib.engine.connect() as conn:
        assert conn.execute(text("PRAGMA user_version")).scalar() == SCHEMA_VERSION + 1
        assert conn.execute(text("SELECT path, rating FROM tracks")).one() == ("/music/a.flac", 3)
    backup = lib.backup
    assert backup is not None and backup.name.startswith(f"lib.db.v{SCHEMA_VERSION}-")
    with sqlite3.connect(backup) as old:
        assert old.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert old.execute("SELECT path FROM tracks").fetchall() == [("/music/a.flac",)]
        assert "rating" not in [row[1] for row in old.execute("PRAGMA table_info(tracks)")]
    old.close()


def test_catalogue_from_a_newer_version_is_refused(tmp_path):
    path = tmp_path / "lib.db"
    open_library(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(LibraryError, match="newer"):
        open_library(path)


def test_some_other_sqlite_file_is_refused(tmp_path):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
    conn.close()
    with pytest.raises(LibraryError, match="not a genre-tagger library"):
        open_library(path)
