"""Fork speed, as ratios against the plain embedded chain measured in the same run.

1. The bundled suite (deterministic agent, no tracing) on the plain chain, then on a fork
   replaying a snapshot recorded once from an empty `reev chain serve` (every account the suite
   looks up is recorded as absent): what a snapshot lookup per unknown address costs.
2. tests/fork/fork-001-upstream-programs.yml replayed from its committed snapshot (an upgradeable
   program with a 100 KB ELF, a BPF-loader-2 program and two accounts loaded per episode),
   against 011-sol-transfer-memo on the plain chain (a transaction of the same shape with
   programs LiteSVM already has): what loading programs from a snapshot costs.
3. Recording the suite against that upstream over HTTP on loopback, once (wall time).

    python scripts/bench_fork.py [--seconds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_engine import rate  # noqa: E402 (the same best-of-repeats timer; after the sys.path insert)


def suite_runner(
    paths: list[Path], chain_factory: Callable, log_dir: Path
) -> tuple[Callable[[], None], int]:
    """A function running the deterministic agent over `paths` once (every episode must
    complete), and the number of episodes it runs."""
    from reev.agents import DeterministicAgent
    from reev.runner import run_suite
    from reev.spec import load_many

    loaded, errors = load_many(paths)
    if errors:
        raise SystemExit("\n".join(map(str, errors)))
    benchmarks = [item.benchmark for item in loaded]

    def one_suite() -> None:
        suite = asyncio.run(
            run_suite(benchmarks, DeterministicAgent, log_dir=log_dir, chain_factory=chain_factory)
        )
        bad = [(r.benchmark_id, r.error) for r in suite.results if r.status != "Completed"]
        assert not bad, bad

    return one_suite, len(benchmarks)


def episodes_per_second(
    paths: list[Path], chain_factory: Callable, seconds: float, log_dir: Path
) -> float:
    one_suite, episodes = suite_runner(paths, chain_factory, log_dir)
    one_suite()  # warm-up: imports, program caches, the snapshot's file cache
    return rate(one_suite, seconds) * episodes


def record_suite(snapshot: Path, cwd: Path) -> float:
    """Record the bundled suite's lookups from an empty `reev chain serve`; wall seconds."""
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "reev.cli",
            "chain",
            "serve",
            "--port",
            "0",
            "--ws-port",
            "-1",
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=cwd,
    )
    try:
        assert server.stdout is not None
        url = json.loads(server.stdout.readline())["rpc_url"]
        from reev.chain.fork import AccountSource
        from reev.chain.litesvm import LiteSVMChain

        source = AccountSource(snapshot, url)
        one_suite, _ = suite_runner(
            [ROOT / "benchmarks"], lambda: LiteSVMChain(source), cwd / "record"
        )
        start = time.perf_counter()
        one_suite()
        return time.perf_counter() - start
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement repeat")
    args = parser.parse_args()

    from reev.chain.fork import AccountSource
    from reev.chain.litesvm import LiteSVMChain

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        record_s = record_suite(work / "snapshot", work)
        suite_source = AccountSource(work / "snapshot")
        plain = episodes_per_second([ROOT / "benchmarks"], LiteSVMChain, args.seconds, work)
        forked = episodes_per_second(
            [ROOT / "benchmarks"], lambda: LiteSVMChain(suite_source), args.seconds, work
        )
        example = AccountSource(ROOT / "tests" / "fork" / "snapshot")
        memo = episodes_per_second(
            [ROOT / "benchmarks" / "011-sol-transfer-memo.yml"], LiteSVMChain, args.seconds, work
        )
        programs = episodes_per_second(
            [ROOT / "tests" / "fork" / "fork-001-upstream-programs.yml"],
            lambda: LiteSVMChain(example),
            args.seconds,
            work,
        )
        recorded = len(list((work / "snapshot").glob("*.json")))

    print(f"suite, plain chain:                             {plain:8.1f} episodes/s")
    print(
        f"suite, fork replaying {recorded} absent accounts:       {forked:8.1f} episodes/s   ratio {forked / plain:.3f}"
    )
    print(f"011 (memo + transfer), plain chain:             {memo:8.1f} episodes/s")
    print(
        f"fork-001 (two forked programs), from snapshot:  {programs:8.1f} episodes/s   ratio {programs / memo:.3f}"
    )
    print(
        f"recording the suite from a loopback upstream:   {record_s:8.3f} s (one pass, {recorded} accounts)"
    )


if __name__ == "__main__":
    main()
