"""`reev db`: the results database's schema."""

from __future__ import annotations

import typer

from reev.cli.common import console
from reev.cli.options import DatabaseUrl

app = typer.Typer(help="The results database.", no_args_is_help=True)


@app.command("upgrade")
def upgrade(db: DatabaseUrl = None) -> None:
    """Create or migrate the database schema to the latest version (Alembic)."""
    from reev.store import database_url
    from reev.store import upgrade as migrate

    migrate(db)
    console.print(f"database at {database_url(db)} is up to date")
