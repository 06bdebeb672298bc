"""Engine speed, as ratios against a baseline measured in the same run.

Baseline: the minimal episode — a fresh LiteSVM, one funded wallet, one signed SOL transfer.
Measured: the deterministic agent over the bundled suite (full episodes: placeholders, state
setup, tools, scoring, session files) with and without the JSONL trace exporter, on the
runner's reused VMs (reev.chain.vm_pool) and, for comparison, on a fresh VM per episode, and the whole
`reev run benchmarks/` command including interpreter start: once over the suite, and over the
suite `--cli-epochs` times (default 20) with `--max-concurrency` at the cores, so that
`--workers auto` runs a worker process per core, as episodes per second against the minimal
episode's rate. Machines here are shared and noisy, so each figure is the best of a few repeats
and the ratio is what to read.

    python scripts/bench_engine.py [--seconds 2] [--cli-epochs 20] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from solders.account import Account
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import Transaction

from reev.constants import SYSTEM_PROGRAM

ROOT = Path(__file__).resolve().parent.parent


def minimal_episode(payer: Keypair, recipient: Pubkey) -> None:
    svm = LiteSVM()
    svm.set_account(
        payer.pubkey(),
        Account(lamports=10**9, data=b"", owner=SYSTEM_PROGRAM, executable=False, rent_epoch=0),
    )
    blockhash = svm.latest_blockhash()
    ix = transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=recipient, lamports=10**8))
    tx = Transaction(
        [payer], Message.new_with_blockhash([ix], payer.pubkey(), blockhash), blockhash
    )
    result = svm.send_transaction(tx)
    assert svm.get_balance(recipient) == 10**8, result


def rate(fn, seconds: float, repeats: int = 3) -> float:
    """Best-of-`repeats` calls per second of `fn`, each repeat running about `seconds`."""
    best = 0.0
    for _ in range(repeats):
        count, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds:
            fn()
            count += 1
        best = max(best, count / elapsed)
    return best


def suite_rate(
    seconds: float, log_dir: Path, *, traced: bool, fresh_vms: bool = False
) -> tuple[float, int]:
    """Deterministic episodes per second over the bundled suite, with or without the JSONL
    trace exporter (session files are written in both cases), on reused VMs (the runner's
    default) or on a fresh VM per episode."""
    from reev.agents import DeterministicAgent
    from reev.chain.litesvm import LiteSVMChain, pooled_chain
    from reev.runner import run_suite
    from reev.spec import load_many
    from reev.telemetry.tracing import NOOP_TRACER, Tracing

    loaded, errors = load_many([ROOT / "benchmarks"])
    if errors:
        raise SystemExit("\n".join(map(str, errors)))
    benchmarks = [item.benchmark for item in loaded]

    def one_suite() -> None:
        tracing = Tracing(log_dir / "sessions", otlp=False) if traced else None
        suite = asyncio.run(
            run_suite(
                benchmarks,
                DeterministicAgent,
                log_dir=log_dir,
                tracer=tracing.tracer if tracing else NOOP_TRACER,
                chain_factory=LiteSVMChain if fresh_vms else pooled_chain,
            )
        )
        if tracing:
            tracing.shutdown()
        bad = [r for r in suite.results if r.status != "Completed"]
        assert not bad, bad

    suites_per_second = rate(one_suite, seconds)
    return suites_per_second * len(benchmarks), len(benchmarks)


def cli_wall_time(log_dir: Path, repeats: int = 3) -> float:
    reev = Path(sys.executable).parent / "reev"
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(
            [str(reev), "run", str(ROOT / "benchmarks"), "--log-dir", str(log_dir)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        best = min(best, time.perf_counter() - start)
    return best


def cli_rate(log_dir: Path, epochs: int, episodes_per_epoch: int) -> tuple[float, int]:
    """Episodes per second of the whole CLI over the suite `epochs` times, at a concurrency of
    the cores (`--workers auto` then runs a worker per core); with the workers it chose."""
    from reev.runner.workers import cpu_count

    cores = cpu_count()
    reev = Path(sys.executable).parent / "reev"
    start = time.perf_counter()
    subprocess.run(
        [
            str(reev),
            "run",
            str(ROOT / "benchmarks"),
            "--epochs",
            str(epochs),
            "--max-concurrency",
            str(cores),
            "--log-dir",
            str(log_dir),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return epochs * episodes_per_epoch / (time.perf_counter() - start), cores


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement repeat")
    parser.add_argument("--cli-epochs", type=int, default=20, help="epochs of the long CLI run")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args()

    payer, recipient = Keypair(), Keypair().pubkey()
    with tempfile.TemporaryDirectory() as tmp:
        minimal = rate(lambda: minimal_episode(payer, recipient), args.seconds)
        untraced, n = suite_rate(args.seconds, Path(tmp), traced=False)
        suite, _ = suite_rate(args.seconds, Path(tmp), traced=True)
        fresh, _ = suite_rate(args.seconds, Path(tmp), traced=True, fresh_vms=True)
        wall = cli_wall_time(Path(tmp))
        cli, cores = cli_rate(Path(tmp) / "long", args.cli_epochs, n)

    overhead = 1 - suite / untraced
    figures = {
        "minimal_episodes_per_s": round(minimal, 1),
        "suite_episodes_per_s": round(suite, 1),
        "suite_episodes_per_s_without_tracing": round(untraced, 1),
        "tracing_overhead": round(overhead, 3),
        "suite_benchmarks": n,
        "ratio_suite_to_minimal": round(suite / minimal, 3),
        "suite_episodes_per_s_fresh_vms": round(fresh, 1),
        "ratio_suite_fresh_vms_to_minimal": round(fresh / minimal, 3),
        "cli_suite_wall_s": round(wall, 3),
        "cli_epochs": args.cli_epochs,
        "cli_max_concurrency": cores,
        "cli_episodes_per_s": round(cli, 1),
        "ratio_cli_to_minimal": round(cli / minimal, 3),
        "targets": {
            "ratio_suite_to_minimal": ">= 0.8",
            "ratio_cli_to_minimal": ">= 0.6",
            "cli_suite_wall_s": "< 3",
            "tracing_overhead": "< 0.25",
        },
    }
    print(f"minimal episode (fresh LiteSVM + 1 transfer): {minimal:8.1f} episodes/s")
    print(f"deterministic suite ({n} benchmarks), traced: {suite:8.1f} episodes/s")
    print(f"deterministic suite, no trace exporter:      {untraced:8.1f} episodes/s")
    print(
        f"tracing overhead (JSONL exporter):            {overhead * 100:7.1f} %   (target < 25 %)"
    )
    print(f"ratio suite / minimal:                        {suite / minimal:8.3f}   (target >= 0.8)")
    print(
        f"suite on a fresh VM per episode, traced:      {fresh:8.1f} episodes/s, "
        f"ratio to minimal {fresh / minimal:.3f}"
    )
    print(f"`reev run benchmarks/` wall time:             {wall:8.3f} s  (target < 3 s)")
    print(
        f"`reev run` x{args.cli_epochs}, --max-concurrency {cores}:        {cli:8.1f} episodes/s, "
        f"ratio to minimal {cli / minimal:.3f} (target >= 0.6)"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
