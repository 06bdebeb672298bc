"""The results database: models, engine, migrations and repository functions."""

from reev.store.engine import DEFAULT_DATABASE_URL, database_url, make_engine, session_factory
from reev.store.migrate import SchemaOutOfDate, require_current, upgrade

__all__ = [
    "DEFAULT_DATABASE_URL",
    "SchemaOutOfDate",
    "database_url",
    "make_engine",
    "require_current",
    "session_factory",
    "upgrade",
]
