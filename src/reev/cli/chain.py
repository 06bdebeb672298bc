"""`reev chain serve`: a benchmark's initial state over Solana's JSON-RPC and WebSocket."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reev.cli.common import (
    EXIT_INVALID,
    account_source,
    err_console,
    load,
    require_fork_source,
)
from reev.cli.options import ForkUrl, Snapshot

app = typer.Typer(
    help="The embedded chain over Solana's JSON-RPC (docs/rpc.md).", no_args_is_help=True
)


@app.command("serve")
def serve(
    benchmark: Annotated[
        Path | None,
        typer.Argument(
            help="One benchmark file: its initial state is served (none: an empty chain)"
        ),
    ] = None,
    port: Annotated[int, typer.Option(help="HTTP and WebSocket port (0: any free port)")] = 8899,
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    seed: Annotated[
        int, typer.Option(help="Run seed: the addresses `reev run --seed N` gives epoch 0")
    ] = 0,
    ws_port: Annotated[
        int | None,
        typer.Option(help="Also serve on this port (default PORT+1, as web3.js expects; -1: no)"),
    ] = None,
    keypair: Annotated[
        Path | None,
        typer.Option(
            help="Where to write the user keypair (default logs/chain/<id>-seed<N>-user.json)"
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the connection details as one JSON line")
    ] = False,
    log_calls: Annotated[bool, typer.Option(help="Print every RPC call on stderr")] = False,
    fork_url: ForkUrl = None,
    snapshot: Snapshot = None,
) -> None:
    """Serve a benchmark's initial state over JSON-RPC + WebSocket for agents in any language."""
    from reev.runner.chain_serve import serve_benchmark
    from reev.runner.suite import episode_seed

    bench = None
    if benchmark is not None:
        loaded = load([benchmark], strict=False)
        if len(loaded) != 1:
            err_console.print(
                f"{benchmark}: serve one benchmark file, not {len(loaded)}", style="red"
            )
            raise typer.Exit(EXIT_INVALID)
        bench = loaded[0].benchmark
    source = account_source(fork_url, snapshot)
    if benchmark is not None:
        require_fork_source(loaded, source)
    serve_benchmark(
        bench,
        seed=episode_seed(seed, bench.id, 0) if bench else 0,
        run_seed=seed,
        host=host,
        port=port,
        ws_port=ws_port,
        keypair_path=keypair,
        as_json=as_json,
        log_calls=log_calls,
        source=source,
    )
