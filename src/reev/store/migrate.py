"""Schema migrations through Alembic, callable from code (`reev db upgrade`, `reev serve`)."""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config

from reev.store.engine import database_url


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option(
        "script_location", str(resources.files("reev.store").joinpath("migrations"))
    )
    config.set_main_option("sqlalchemy.url", database_url(url))
    return config


def upgrade(url: str | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def current(url: str | None = None) -> None:
    command.current(alembic_config(url))
