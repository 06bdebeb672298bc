"""Serving a `ChainNode` with uvicorn: listening sockets, the in-loop server, the keypair file.

What is served is the caller's: the runner serves an episode's chain to an `--agent-cmd` agent
for a step (`serving`), and `reev chain serve` a benchmark's initial state until interrupted
(`run_forever`; the set-up is the runner's, `reev.runner.chain_serve`). Nothing here knows about
benchmarks or episodes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import uvicorn
from solders.keypair import Keypair

from reev.errors import InfrastructureError
from reev.rpc.app import CallSink, create_app
from reev.rpc.node import ChainNode


def write_keypair(path: Path, keypair: Keypair) -> Path:
    """A Solana CLI keypair file: a JSON array of the 64 secret-key bytes, readable by the
    owner only (`solana-keygen`, web3.js `Keypair.fromSecretKey`, solana-py `Keypair.from_bytes`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(list(bytes(keypair)), handle)
    os.chmod(path, 0o600)
    return path


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket (port 0: any free port). A port in use or an address this host
    does not have is an `InfrastructureError` naming both."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise InfrastructureError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def url_of(scheme: str, sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}:{port}"


def uvicorn_config(app: Any) -> uvicorn.Config:
    return uvicorn.Config(
        app, log_level="warning", lifespan="off", ws_max_size=1024 * 1024, access_log=False
    )


@contextlib.asynccontextmanager
async def serving(
    node: ChainNode,
    *,
    host: str = "127.0.0.1",
    on_call: CallSink | None = None,
    cheat_codes: bool = True,
) -> AsyncIterator[tuple[str, str]]:
    """Serve `node` on a free port of `host` inside the running event loop; yields
    (rpc_url, ws_url) and stops the server on exit."""
    sock = bind(host, 0)
    server = uvicorn.Server(
        uvicorn_config(create_app(node, on_call=on_call, cheat_codes=cheat_codes))
    )
    # Inside the caller's loop the caller owns the signals. Older uvicorn (>=0.29, as declared)
    # installs handlers through this method; newer stubs no longer declare it, hence the ignore.
    server.install_signal_handlers = lambda: None  # type: ignore[attr-defined]
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()  # raises what stopped it
                raise RuntimeError("the RPC server stopped before it started")
            await asyncio.sleep(0.005)
        yield url_of("http", sock), url_of("ws", sock)
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, timeout=10)
        sock.close()


def run_forever(
    node: ChainNode, sockets: list[socket.socket], *, on_call: CallSink | None = None
) -> None:
    """Serve `node` (cheat codes on) on `sockets` until interrupted (`reev chain serve`)."""
    server = uvicorn.Server(uvicorn_config(create_app(node, on_call=on_call)))
    server.run(sockets=sockets)
