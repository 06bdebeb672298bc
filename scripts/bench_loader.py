"""Benchmark loading and placeholder resolution at the sizes users reach (issues 16 and 18).

Prints, in one run:
- placeholder resolution at 3k/6k/12k/24k accounts and the growth factor per doubling (about 2
  when resolution is linear; it was about 2.6 with the quadratic lists, 5.3 s at 6k);
- the time to read one bundled benchmark file with libyaml (`CSafeLoader` events) and with the
  pure-Python `SafeLoader`, both through the bounded composer, plus PyYAML's own unbounded
  pure-Python loader (what reev used before), and the ratios;
- the time for the alias bomb to be refused.

Times are medians of `--repeat` runs on this machine; compare the ratios, not the seconds.

    python scripts/bench_loader.py [--repeat 3] [--sizes 3000 6000 12000 24000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from helpers.yaml_bombs import alias_bomb
from reev.spec import (
    BenchmarkError,
    bounded_yaml,
    parse_benchmark,
    resolve_placeholders,
)

ROOT = Path(__file__).resolve().parent.parent
USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
TOKEN_PROGRAM = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"
SYSTEM = "11111111111111111111111111111111"


def many_accounts(accounts: int) -> str:
    """A benchmark with `accounts` placeholder accounts: half wallets, half their USDC token
    accounts, one balance assertion per token account."""
    pairs = accounts // 2
    out = [
        "id: bench-loader-scale",
        "prompt: send 1 USDC from W0_USDC_ATA to W1_WALLET",
        "initial_state:",
        f'  - pubkey: USER_WALLET_PUBKEY\n    owner: "{SYSTEM}"\n    lamports: 1000000000',
    ]
    for i in range(pairs):
        out.append(f'  - pubkey: W{i}_WALLET\n    owner: "{SYSTEM}"\n    lamports: 1000000000')
        out.append(
            f"  - pubkey: W{i}_USDC_ATA\n    owner: {TOKEN_PROGRAM}\n    lamports: 2039280\n"
            f'    data:\n      mint: {USDC}\n      owner: W{i}_WALLET\n      amount: "5"'
        )
    out.append("ground_truth:\n  final_state_assertions:")
    for i in range(pairs):
        out.append(
            f"    - type: TokenAccountBalance\n      pubkey: W{i}_USDC_ATA\n      expected: 5"
        )
    return "\n".join(out) + "\n"


def median_time(action: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_resolution(sizes: list[int], repeat: int) -> None:
    print("placeholder resolution (resolve_placeholders, one seed)")
    previous: float | None = None
    for size in sizes:
        benchmark = parse_benchmark(many_accounts(size), f"<{size} accounts>").benchmark
        seconds = median_time(partial(resolve_placeholders, benchmark, 0), repeat)
        growth = f"  x{seconds / previous:.2f} per doubling" if previous else ""
        print(f"  {size:>6,} accounts: {seconds:7.3f} s{growth}")
        previous = seconds


def bench_files(repeat: int) -> None:
    files = sorted((ROOT / "benchmarks").glob("*.yml"))
    sources = [f.read_text(encoding="utf-8") for f in files]

    def pyyaml_unbounded() -> None:
        for source in sources:
            loader = yaml.SafeLoader(source)
            try:
                loader.construct_document(loader.get_single_node())
            finally:
                loader.dispose()

    def bounded(fast: bool) -> Callable[[], None]:
        def run() -> None:
            for source in sources:
                bounded_yaml.load(source, fast=fast)

        return run

    def full_parse() -> None:
        for source in sources:
            parse_benchmark(source, "<bench>")

    per_file = {
        name: median_time(action, repeat) / len(sources) * 1000
        for name, action in [
            ("SafeLoader (PyYAML, unbounded; before)", pyyaml_unbounded),
            ("SafeLoader events, bounded composer", bounded(False)),
            ("CSafeLoader events, bounded composer", bounded(True)),
            ("parse_benchmark (YAML + line map + pydantic)", full_parse),
        ]
    }
    fast_available = bounded_yaml.FAST_LOADER is not None
    print(f"loading the {len(sources)} bundled files (ms per file; libyaml: {fast_available})")
    for name, ms in per_file.items():
        print(f"  {name:<46} {ms:7.2f} ms")
    before = per_file["SafeLoader (PyYAML, unbounded; before)"]
    pure = per_file["SafeLoader events, bounded composer"]
    fast = per_file["CSafeLoader events, bounded composer"]
    print(f"  ratio SafeLoader / CSafeLoader (bounded): {pure / fast:.2f}")
    print(f"  ratio before / CSafeLoader (bounded):     {before / fast:.2f}")


def bench_bomb() -> None:
    bomb = alias_bomb()
    start = time.perf_counter()
    try:
        parse_benchmark(bomb, "bomb.yml")
    except BenchmarkError as exc:
        seconds = time.perf_counter() - start
        first = str(exc).splitlines()[0]
        print(
            f"alias bomb ({len(bomb.encode())} bytes) refused in {seconds * 1000:.2f} ms: {first}"
        )
        return
    print("alias bomb ACCEPTED (the budget does not hold)")
    sys.exit(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="+", default=[3000, 6000, 12000, 24000])
    args = parser.parse_args()
    bench_bomb()
    bench_files(args.repeat)
    bench_resolution(args.sizes, args.repeat)


if __name__ == "__main__":
    main()
