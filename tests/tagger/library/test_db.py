"""The catalogue file: WAL mode, default location, schema version, backup before migrating, and
selections of any size."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import OperationalError

import tagger.library.db as db
from tagger.library import (
    SCHEMA_VERSION,
    LibraryError,
    Track,
    classify_library,
    confirm_genres,
    default_db_path,
    open_library,
    track_ids_for,
    undo,
    write_library,
)
from tagger.library.listing import rows
from tagger.library.queries import TrackIds
from tagger.library.review import accept_predictions
from tagger.library.schema import BundleRecord
from tests.tagger.library.helpers import LABELS, FakeClassifier, genre_of


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


def test_a_version_1_catalogue_gains_the_prediction_flags(tmp_path):
    path = tmp_path / "lib.db"
    open_library(path).close()
    with sqlite3.connect(path) as conn:  # the version-1 layout: no audio_fraction, no truncated
        conn.execute("ALTER TABLE predictions DROP COLUMN audio_fraction")
        conn.execute("ALTER TABLE predictions DROP COLUMN truncated")
        _drop_version_3_columns(conn)
        conn.execute("PRAGMA user_version=1")
    conn.close()
    with open_library(path) as lib, lib.engine.connect() as conn:
        columns = {row[1]: row[4] for row in conn.exec_driver_sql("PRAGMA table_info(predictions)")}
        assert (columns["audio_fraction"], columns["truncated"]) == ("1.0", "0")
    assert lib.backup is not None and lib.backup.name.startswith("lib.db.v1-")


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


def test_selections_beyond_sqlites_bound_parameter_cap(tmp_path):
    """Every query over a selection binds it as one parameter: 1,500 ids pass a build capped at
    999 bound parameters, where ``IN (?, ?, …)`` fails."""
    paths = [f"/music/{LABELS[i % 3]}-{i:04d}.flac" for i in range(1500)]
    with open_library(tmp_path / "lib.db") as lib:
        with lib.session() as session:
            session.add_all(Track(path=p, size=1, mtime_ns=1) for p in paths)
            session.commit()
        event.listen(lib.engine, "connect",
                     lambda conn, _: conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999))
        lib.engine.dispose()  # new connections carry the cap
        ids = track_ids_for(lib, [*paths, "/music/unknown.flac"])
        assert ids.pop("/music/unknown.flac") is None and list(ids) == paths and None not in ids.values()
        with lib.session() as session, pytest.raises(OperationalError, match="too many SQL variables"):
            session.execute(select(Track).where(Track.id.in_(list(ids.values()))))

        assert classify_library(lib, FakeClassifier(), track_ids=ids.values()).classified == 1500
        assert len(rows(lib, list(ids.values()))) == 1500
        assert len(accept_predictions(lib, TrackIds(ids.values()))) == 1500
        with lib.session() as session:
            confirmed = dict(session.execute(select(Track.path, Track.confirmed_genres)).all())
        assert confirmed == {p: [genre_of(p.rsplit("/", 1)[1])] for p in paths}
        confirm_genres(lib, ids.values(), None)
        with lib.session() as session:
            assert session.scalar(select(func.count()).where(Track.confirmed_genres.is_not(None))) == 0
        # the files do not exist: a dry run finds all 1,500 selected tracks and reports each unreadable
        assert len(write_library(lib, dry_run=True, track_ids=ids.values()).failed) == 1500
        assert undo(lib, track_ids=ids.values()).changes == []  # nothing written, nothing to revert


def _drop_version_3_columns(conn: sqlite3.Connection) -> None:
    conn.execute("ALTER TABLE models DROP COLUMN descriptors")
    conn.execute("ALTER TABLE models DROP COLUMN threshold")
    conn.execute("ALTER TABLE predictions DROP COLUMN descriptor_probs")


def test_a_version_2_catalogue_gains_descriptors_and_keeps_its_predictions(tmp_path):
    path = tmp_path / "lib.db"
    open_library(path).close()
    with sqlite3.connect(path) as conn:  # the version-2 layout, with a model that predicted a track
        _drop_version_3_columns(conn)
        conn.execute("INSERT INTO models (bundle_id, labels, active, added_at, last_used_at) "
                     "VALUES ('m', '[\"rock\", \"jazz\"]', 1, '2026-01-01', '2026-01-01')")
        conn.execute("PRAGMA user_version=2")
    conn.close()
    with open_library(path) as lib, lib.session() as session:
        model = session.scalar(select(BundleRecord))
        assert (model.labels, model.descriptors, model.threshold) == (["rock", "jazz"], [], None)
    assert lib.backup is not None and lib.backup.name.startswith("lib.db.v2-")
