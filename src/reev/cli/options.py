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


class Executor(StrEnum):
    """What runs the episodes: this machine (in-process, or worker processes), or Ray tasks on
    a cluster (reev.runner.ray_executor, docs/scale.md)."""

    LOCAL = "local"
    RAY = "ray"


ExecutorOpt = Annotated[
    Executor,
    typer.Option(
        help="local (this process, or --workers processes) or ray (Ray tasks: --ray-address, "
        "else a local Ray started for the run; docs/scale.md)"
    ),
]
RayAddress = Annotated[
    str | None,
    typer.Option(
        "--ray-address",
        help="HOST:PORT of a running Ray cluster (`ray start --head`) for --executor ray",
    ),
]
RaySharedDir = Annotated[
    bool,
    typer.Option(
        "--ray-shared-dir",
        help="With --executor ray: LOG_DIR is the same path on every node (NFS, one host), "
        "so tasks write session files there instead of returning them",
    ),
]
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
