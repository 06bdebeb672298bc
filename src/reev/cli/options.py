"""Option types shared by the commands, and the closed choices as enums Typer shows and checks
(`--profile [verified|reev]`), so no command compares option strings by hand."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer


class Profile(StrEnum):
    """Scoring profiles (reev.scoring.PROFILES; a test keeps the two in step)."""

    VERIFIED = "verified"
    REEV = "reev"


class ChainKind(StrEnum):
    """Where episodes run: the embedded LiteSVM, or a remote JSON-RPC chain (a validator,
    surfpool or `reev chain serve`)."""

    LITESVM = "litesvm"
    RPC = "rpc"


PathsArg = Annotated[list[Path], typer.Argument(help="Benchmark files or folders")]
ForkUrl = Annotated[
    str | None,
    typer.Option(
        "--fork-url",
        help="Upstream RPC: accounts the embedded chain lacks are fetched from it and recorded "
        "in --snapshot",
    ),
]
Snapshot = Annotated[
    Path | None,
    typer.Option(
        "--snapshot",
        help="Snapshot directory: recorded with --fork-url, replayed offline without it",
    ),
]
DatabaseUrl = Annotated[str | None, typer.Option(envvar="REEV_DATABASE_URL", help="Database URL")]
# `reev run` and `reev retry`: store the run and its episodes in the database.
Record = Annotated[bool, typer.Option(help="Store the results in the database (see --db)")]
RecordDb = Annotated[
    str | None, typer.Option(envvar="REEV_DATABASE_URL", help="Database URL for --record")
]
Tags = Annotated[
    str | None, typer.Option(help="Only benchmarks with all these tags (comma-separated)")
]
CacheDir = Annotated[
    Path | None,
    typer.Option(
        envvar="REEV_CACHE_DIR",
        help="Response cache directory (default LOG_DIR/cache); setting it turns --cache on",
    ),
]
CacheMaxMb = Annotated[
    int, typer.Option(min=1, help="Response cache size limit in MB: the oldest entries go")
]
CacheMaxAge = Annotated[
    float | None,
    typer.Option(min=0.001, help="Response cache entries older than this many hours are ignored"),
]
