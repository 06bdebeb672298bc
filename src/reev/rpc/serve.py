"""Serving a benchmark's chain: initial state, user keypair file, uvicorn on loopback.

`reev chain serve BENCHMARK.yml` and the `--agent-cmd` runner both start here: the benchmark's
placeholders are resolved for an episode seed, its initial state is built on a fresh
`LiteSVMChain` exactly as an episode builds it, and the chain is served over JSON-RPC.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from solders.keypair import Keypair

from reev.chain.fork import AccountSource
from reev.chain.litesvm import LiteSVMChain
from reev.rpc.app import CallSink, create_app
from reev.rpc.node import ChainNode
from reev.setup import build_initial_state
from reev.spec.models import Benchmark
from reev.spec.placeholders import KeyMap, resolve_placeholders


@dataclass
class ServedBenchmark:
    benchmark: Benchmark
    seed: int  # the episode seed: every address derives from it
    keys: KeyMap
    node: ChainNode

    @property
    def wallet(self) -> str:
        return str(self.keys.user.pubkey())

    def prompt(self) -> str:
        return self.keys.substitute(self.benchmark.prompt)

    def context(self) -> dict[str, Any]:
        """What an external agent is told besides the prompt (REEV_CONTEXT): its wallet, the
        named addresses and their current balances. Never the solution or the assertions."""
        from reev.runner.episode import observe

        with self.node.lock:
            observation = observe(self.node.chain, self.keys)
        return observation.model_dump(mode="json", exclude={"last_transaction"})


def prepare(
    benchmark: Benchmark, seed: int, source: AccountSource | None = None
) -> ServedBenchmark:
    """A fresh chain holding the benchmark's initial state for `seed` (the episode seed), a
    fork when `source` is given. surfnet_resetNetwork rebuilds it the same way."""
    keys = resolve_placeholders(benchmark, seed)

    def build() -> LiteSVMChain:
        chain = LiteSVMChain(source)
        build_initial_state(chain, benchmark, keys)
        return chain

    return ServedBenchmark(benchmark=benchmark, seed=seed, keys=keys, node=ChainNode(factory=build))


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
    """A listening TCP socket (port 0: any free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _url(scheme: str, sock: socket.socket) -> str:
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
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]  # older uvicorn
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()  # raises what stopped it
                raise RuntimeError("the RPC server stopped before it started")
            await asyncio.sleep(0.005)
        yield _url("http", sock), _url("ws", sock)
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, timeout=10)
        sock.close()


def serve_benchmark(
    benchmark: Benchmark | None,
    *,
    seed: int,
    run_seed: int,
    host: str = "127.0.0.1",
    port: int = 8899,
    ws_port: int | None = None,
    keypair_path: Path | None = None,
    as_json: bool = False,
    log_calls: bool = False,
    source: AccountSource | None = None,
) -> None:
    """`reev chain serve`: build, print how to connect, serve until interrupted. Without a
    benchmark the chain is empty (what `--chain rpc` runs need: episodes set up their own).
    With `source` the chain is a fork (--fork-url / --snapshot)."""
    served = prepare(benchmark, seed, source) if benchmark is not None else None
    node = served.node if served is not None else ChainNode(factory=lambda: LiteSVMChain(source))
    sock = bind(host, port)
    sockets = [sock]
    actual_port = sock.getsockname()[1]
    extra = actual_port + 1 if ws_port is None and port != 0 else ws_port
    ws_sock = None
    if extra is not None and extra >= 0:
        try:
            ws_sock = bind(host, extra)
            sockets.append(ws_sock)
        except OSError as exc:
            if ws_port is not None:  # asked for explicitly: an error
                raise
            print(
                f"note: port {extra} is busy ({exc.strerror}); WebSocket only on {actual_port}",
                file=sys.stderr,
            )
    info: dict[str, Any] = {
        "benchmark_id": benchmark.id if benchmark is not None else None,
        "seed": run_seed,
        "episode_seed": seed,
        "rpc_url": _url("http", sock),
        "ws_url": _url("ws", sock),
        "ws_url_port_plus_one": _url("ws", ws_sock) if ws_sock is not None else None,
        "fork": source.describe() if source is not None else None,
    }
    also = (
        f"  (also {info['ws_url_port_plus_one']}, where web3.js looks by default)"
        if ws_sock
        else ""
    )
    if served is not None and benchmark is not None:
        path = keypair_path or Path("logs") / "chain" / f"{benchmark.id}-seed{run_seed}-user.json"
        write_keypair(path, served.keys.user)
        info.update(
            wallet=served.wallet,
            keypair=str(path),
            prompt=served.prompt(),
            addresses=served.keys.visible_map(),
        )
        lines = [
            f"reev chain · {benchmark.id} · seed {run_seed} (episode seed {seed})",
            f"RPC        {info['rpc_url']}",
            f"WebSocket  {info['ws_url']}{also}",
            f"Wallet     {served.wallet}",
            f"Keypair    {path}",
            f"Prompt     {info['prompt']}",
            "Named addresses:",
            *[f"  {name:<28} {address}" for name, address in info["addresses"].items()],
            "Ctrl-C stops the chain.",
        ]
    else:
        lines = [
            "reev chain · empty",
            f"RPC        {info['rpc_url']}",
            f"WebSocket  {info['ws_url']}{also}",
            "Ctrl-C stops the chain.",
        ]
    if source is not None:
        fork = info["fork"]
        where = (
            f"{fork['upstream']} → {fork['snapshot']}"
            if fork["upstream"]
            else f"{fork['snapshot']} (offline)"
        )
        lines.insert(3, f"Fork       {fork['mode']}: {where}")
    print(json.dumps(info) if as_json else "\n".join(lines), flush=True)
    on_call = None
    if log_calls:

        def on_call(call: dict[str, Any]) -> None:
            outcome = (
                "ok" if call["ok"] else f"error {call['error']['code']}: {call['error']['message']}"
            )
            print(
                f"{call['transport']} {call['method']} {outcome} {call['duration_ms']} ms",
                file=sys.stderr,
                flush=True,
            )

    server = uvicorn.Server(uvicorn_config(create_app(node, on_call=on_call)))
    server.run(sockets=sockets)
