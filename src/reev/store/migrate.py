"""Schema migrations through Alembic, callable from code (`reev db upgrade`, `reev serve`).

Migrating is a start-up step of the command that owns the database, never a side effect of
building an app: `reev serve` upgrades before it creates the API, and the API only checks at
start-up that the schema is current (`require_current`).
"""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from reev.errors import InfrastructureError
from reev.store.engine import database_errors, database_url, make_engine


class SchemaOutOfDate(InfrastructureError):
    """The database is not at the newest migration; the message says what to run."""


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option(
        "script_location", str(resources.files("reev.store").joinpath("migrations"))
    )
    config.set_main_option("sqlalchemy.url", database_url(url))
    return config


def upgrade(url: str | None = None, revision: str = "head") -> None:
    with database_errors(url):
        command.upgrade(alembic_config(url), revision)


def current(url: str | None = None) -> None:
    command.current(alembic_config(url))


def require_current(url: str | None = None) -> None:
    """Raise `SchemaOutOfDate` unless the database is at the newest migration."""
    heads = set(ScriptDirectory.from_config(alembic_config(url)).get_heads())
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            at = set(MigrationContext.configure(connection).get_current_heads())
    finally:
        engine.dispose()
    if at != heads:
        where = ", ".join(sorted(at)) or "no schema"
        raise SchemaOutOfDate(
            f"the database is at {where}, not {', '.join(sorted(heads))}: "
            "run `reev db upgrade` (reev serve does it at start-up)"
        )
