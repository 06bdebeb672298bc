"""Engines: SQLite by default (WAL, busy timeout, foreign keys), PostgreSQL by URL.

WAL lets the dashboard read while the manager writes; the busy timeout makes a writer wait for
the lock instead of failing ("database is locked" was a real failure of the original reev).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import ArgumentError, InterfaceError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

from reev.errors import InfrastructureError, InputError

DEFAULT_DATABASE_URL = "sqlite:///db/reev.db"
SQLITE_BUSY_TIMEOUT_MS = 10_000


def database_url(url: str | None = None) -> str:
    return url or os.environ.get("REEV_DATABASE_URL") or DEFAULT_DATABASE_URL


def display_url(url: str | None = None) -> str:
    """The database URL as reev prints it: the password masked (`***`), the rest as given."""
    url = database_url(url)
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


@contextlib.contextmanager
def database_errors(url: str | None = None) -> Iterator[None]:
    """Turn SQLAlchemy's failures into reev's kinds, naming the database (without its
    password): a URL it cannot parse or a driver it lacks is bad input (`InputError`), a
    database it cannot open or reach is an `InfrastructureError`."""
    where = display_url(url)
    try:
        yield
    except (ArgumentError, NoSuchModuleError) as exc:
        raise InputError(f"--db {where}: not a usable database URL ({exc})") from exc
    except (OperationalError, InterfaceError) as exc:  # not the SQL's fault: the database's
        cause = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
        raise InfrastructureError(f"database {where}: {cause}") from exc


def make_engine(url: str | None = None) -> Engine:
    with database_errors(url):
        return _make_engine(database_url(url))


def _make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})

        @event.listens_for(engine, "connect")
        def _pragmas(connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
