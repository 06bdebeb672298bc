"""`reev chain serve`: a benchmark's initial state on a fresh chain, served over JSON-RPC.

The benchmark's placeholders are resolved for an episode seed and its initial state is built on a
fresh `LiteSVMChain` exactly as an episode builds it; `reev.rpc.serve` then serves the node.
The set-up lives here, on the runner's side, so that rpc/ knows nothing of benchmarks.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reev.chain.fork import AccountSource
from reev.chain.litesvm import LiteSVMChain
from reev.errors import InfrastructureError
from reev.rpc.node import ChainNode
from reev.rpc.serve import bind, run_forever, url_of, write_keypair
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


def _print_call(call: dict[str, Any]) -> None:
    """`--log-calls`: one line per RPC call on stderr."""
    outcome = "ok" if call["ok"] else f"error {call['error']['code']}: {call['error']['message']}"
    print(
        f"{call['transport']} {call['method']} {outcome} {call['duration_ms']} ms",
        file=sys.stderr,
        flush=True,
    )


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
        except InfrastructureError as exc:
            if ws_port is not None:  # asked for explicitly: an error
                raise
            print(
                f"note: {exc}; WebSocket only on {actual_port}",
                file=sys.stderr,
            )
    info: dict[str, Any] = {
        "benchmark_id": benchmark.id if benchmark is not None else None,
        "seed": run_seed,
        "episode_seed": seed,
        "rpc_url": url_of("http", sock),
        "ws_url": url_of("ws", sock),
        "ws_url_port_plus_one": url_of("ws", ws_sock) if ws_sock is not None else None,
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
    run_forever(node, sockets, on_call=_print_call if log_calls else None)
