"""Opening the catalogue: SQLite in WAL mode, a schema version, migrations with a backup first.

The schema version lives in SQLite's ``PRAGMA user_version``. A database older than the app is
copied (SQLite's online backup) to ``<name>.v<old>-<timestamp>.bak`` beside it, then migrated one
step at a time by ``MIGRATIONS``; a database newer than the app is refused rather than damaged.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path

from sqlalchemy import ColumnElement, Connection, Engine, create_engine, event, func, inspect, select
from sqlalchemy.orm import Session

from tagger.library.models import Base
from tagger.paths import data_dir

SCHEMA_VERSION = 1
#: ``MIGRATIONS[n]`` upgrades a version-``n`` database to version ``n + 1``.
MIGRATIONS: dict[int, Callable[[Connection], None]] = {}


class LibraryError(Exception):
    """The catalogue cannot be used as asked; the message is meant for the user."""


def among(column: ColumnElement, values: Iterable[int | str]) -> ColumnElement[bool]:
    """``column IN values`` with the values bound as one JSON parameter, so a selection of any size
    stays under SQLite's cap on bound parameters (32,766 in most builds, 999 in old ones)."""
    each = func.json_each(json.dumps(list(values))).table_valued("value")
    return column.in_(select(each.c.value))


def default_db_path() -> Path:
    """``library.db`` in the user's data directory (e.g. ``~/.local/share/genre-tagger``)."""
    return data_dir() / "library.db"


class Library:
    """An open catalogue. Jobs open their own short sessions so a kill loses little."""

    def __init__(self, path: Path, engine: Engine, backup: Path | None) -> None:
        self.path = path
        self.engine = engine
        self.backup = backup  # the copy made before a migration at open, if any

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _configure(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # FULL: a commit is on disk before it returns, so a journal row always outlives the tag write
    # it announces, even across a power cut (commits are batched, so this costs little)
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")  # the GUI and a CLI job may share the database
    cursor.close()


def _backup(path: Path, version: int) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.v{version}-{stamp}.bak")
    source, copy = sqlite3.connect(path), sqlite3.connect(target)
    try:
        source.backup(copy)
    finally:
        copy.close()
        source.close()
    return target


def _prepare_schema(engine: Engine, path: Path) -> Path | None:
    """Create, check or migrate the schema; return the backup made before migrating, if any."""
    with engine.connect() as conn:
        version = conn.exec_driver_sql("PRAGMA user_version").scalar_one()
        has_tables = bool(inspect(conn).get_table_names())
    if version == 0 and has_tables:
        raise LibraryError(f"{path} is not a genre-tagger library")
    if version > SCHEMA_VERSION:
        raise LibraryError(
            f"{path} was written by a newer genre-tagger (schema {version}, this one reads {SCHEMA_VERSION})"
        )
    if version == 0:
        with engine.begin() as conn:
            Base.metadata.create_all(conn)
            conn.exec_driver_sql(f"PRAGMA user_version={SCHEMA_VERSION}")
        return None
    if version == SCHEMA_VERSION:
        return None
    backup = _backup(path, version)
    for step in range(version, SCHEMA_VERSION):
        with engine.begin() as conn:
            MIGRATIONS[step](conn)
            conn.exec_driver_sql(f"PRAGMA user_version={step + 1}")
    return backup


def open_library(path: Path | str | None = None) -> Library:
    """Open (creating if needed) the catalogue at ``path``, default ``default_db_path()``."""
    path = Path(path) if path is not None else default_db_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(f"sqlite:///{path}")
    event.listen(engine, "connect", _configure)
    try:
        backup = _prepare_schema(engine, path)
    except BaseException:
        engine.dispose()
        raise
    return Library(path, engine, backup)
