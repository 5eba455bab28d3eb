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

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    create_engine,
    event,
    func,
    inspect,
    select,
)
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session

from tagger.library.schema import Base, FsText
from tagger.paths import data_dir
from trainer.runtime.errors import UserError


def _add_prediction_flags(conn: Connection) -> None:
    conn.exec_driver_sql("ALTER TABLE predictions ADD COLUMN audio_fraction FLOAT NOT NULL DEFAULT 1.0")
    conn.exec_driver_sql("ALTER TABLE predictions ADD COLUMN truncated BOOLEAN NOT NULL DEFAULT 0")


def _add_descriptors(conn: Connection) -> None:
    """Version 3: a multi-label model's descriptors and genre threshold, and each prediction's
    descriptor scores (empty for the distributions earlier versions stored)."""
    conn.exec_driver_sql("ALTER TABLE models ADD COLUMN descriptors JSON NOT NULL DEFAULT '[]'")
    conn.exec_driver_sql("ALTER TABLE models ADD COLUMN threshold FLOAT")
    conn.exec_driver_sql("ALTER TABLE predictions ADD COLUMN descriptor_probs JSON NOT NULL DEFAULT '[]'")


SCHEMA_VERSION = 3
#: ``MIGRATIONS[n]`` upgrades a version-``n`` database to version ``n + 1``.
MIGRATIONS: dict[int, Callable[[Connection], None]] = {1: _add_prediction_flags, 2: _add_descriptors}
#: How long a job waits for another program's write to the catalogue before giving up.
BUSY_TIMEOUT_MS = 10_000


class LibraryError(UserError):
    """The catalogue cannot be used as asked; the message is meant for the user."""


# SQLite's primary result codes (``sqlite3.Error.sqlite_errorname``) a user can act on.
_FAULTS = {
    "SQLITE_CANTOPEN": "cannot open the catalogue {path}: its folder is missing or not writable",
    "SQLITE_READONLY": "the catalogue {path} is read-only (check the file's and its folder's permissions)",
    "SQLITE_PERM": "the catalogue {path} is read-only (check the file's and its folder's permissions)",
    "SQLITE_NOTADB": "{path} is not a genre-tagger catalogue (not an SQLite database)",
    "SQLITE_CORRUPT": "the catalogue {path} is damaged; restore a backup or start a new one with --db",
    "SQLITE_FULL": "the disk holding the catalogue {path} is full; free some space and run again",
    "SQLITE_BUSY": "the catalogue {path} is in use by another genre-tagger job; run again when it is done",
    "SQLITE_LOCKED": "the catalogue {path} is in use by another genre-tagger job; run again when it is done",
    "SQLITE_IOERR": "the disk failed while using the catalogue {path}",
}


def catalogue_fault(exc: BaseException, path: Path | str) -> str:
    """One line for the user saying what went wrong with the catalogue at ``path``."""
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    name = getattr(orig, "sqlite_errorname", "") or ""
    for code, text in _FAULTS.items():
        if name == code or name.startswith(code + "_"):
            return text.format(path=path)
    if isinstance(orig, OSError):
        return f"cannot use the catalogue {path}: {orig.strerror or orig}"
    return f"the catalogue {path} cannot be used: {str(orig).splitlines()[0] if str(orig) else type(orig).__name__}"


#: What the catalogue's own faults raise: SQLAlchemy's wrappers, raw ``sqlite3`` errors (backups).
CATALOGUE_FAULTS = (SQLAlchemyError, sqlite3.Error)


def among(column: ColumnElement, values: Iterable[int | str]) -> ColumnElement[bool]:
    """``column IN values`` with the values bound as one JSON parameter, so a selection of any size
    stays under SQLite's cap on bound parameters (32,766 in most builds, 999 in old ones)."""
    if isinstance(column.type, FsText):  # stored escaped: compare with the escaped form
        values = [column.type.process_bind_param(v, None) for v in values]
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


def _casefold(text: str | None) -> str | None:
    return None if text is None else str(text).casefold()


def _configure(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    # SQLite's lower() folds ASCII only: queries compare text as Python's str.casefold does
    dbapi_connection.create_function("casefold", 1, _casefold, deterministic=True)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # FULL: a commit is on disk before it returns, so a journal row always outlives the tag write
    # it announces, even across a power cut (commits are batched, so this costs little)
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")  # the GUI and a CLI job may share the database
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
    """Open (creating if needed) the catalogue at ``path``, default ``default_db_path()``.

    Raises ``LibraryError`` with one line for the user when the file cannot serve as a catalogue.
    """
    path = Path(path) if path is not None else default_db_path()
    if path.is_dir():
        raise LibraryError(f"{path} is a folder; --db names the catalogue file")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LibraryError(catalogue_fault(exc, path)) from None
    engine = create_engine(f"sqlite:///{path}")
    event.listen(engine, "connect", _configure)
    try:
        backup = _prepare_schema(engine, path)
    except CATALOGUE_FAULTS as exc:
        engine.dispose()
        raise LibraryError(catalogue_fault(exc, path)) from None
    except BaseException:
        engine.dispose()
        raise
    return Library(path, engine, backup)
