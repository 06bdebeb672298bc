"""LLM-agent throughput: concurrent episodes against sequential ones, in the same run.

A scripted OpenAI-compatible server on 127.0.0.1 (tests/helpers/fake_openai.py) answers every model
call after a fixed latency (default 200 ms), playing each benchmark's reference solution. The
suite runs `--epochs` times each benchmark, first with one episode at a time, then with
`--max-concurrency`; the ratio of wall times is the speed-up concurrency buys.

    python scripts/bench_agents.py [--latency 0.2] [--epochs 3] [--max-concurrency 4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from helpers.fake_openai import FakeOpenAI, SolutionPlayer  # noqa: E402 (after the sys.path insert above)
from reev.agents import AgentOptions, agent_factory  # noqa: E402 (after the sys.path insert above)
from reev.runner import run_suite  # noqa: E402 (after the sys.path insert above)
from reev.spec import load_many  # noqa: E402 (after the sys.path insert above)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per model call")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--max-concurrency", type=int, default=4)
    parser.add_argument("--limit", type=int, default=8, help="benchmarks from the suite (0 = all)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    loaded, errors = load_many([ROOT / "benchmarks"])
    assert not errors, errors
    benches = [item.benchmark for item in loaded]
    if args.limit:
        benches = benches[: args.limit]
    player = SolutionPlayer(benches)

    def slow(body):
        reply = player(body)
        reply.delay_s = args.latency
        return reply

    timings = {}
    with FakeOpenAI(slow) as server, tempfile.TemporaryDirectory() as tmp:
        factory = agent_factory("local/scripted", AgentOptions(base_url=server.base_url))
        for label, concurrency in (("sequential", 1), ("concurrent", args.max_concurrency)):
            start = time.perf_counter()
            suite = asyncio.run(
                run_suite(
                    benches,
                    factory,
                    epochs=args.epochs,
                    max_concurrency=concurrency,
                    log_dir=Path(tmp),
                )
            )
            timings[label] = time.perf_counter() - start
            passed = suite.summary()["passed"]
            print(
                f"{label:>10} (max-concurrency {concurrency}): {timings[label]:6.2f} s, {passed}/{len(suite.results)} passed"
            )
        calls = len(server.requests) // 2
    speedup = timings["sequential"] / timings["concurrent"]
    print(
        f"episodes: {len(benches) * args.epochs} per mode, about {calls} model calls each at {args.latency * 1000:.0f} ms"
    )
    print(f"speed-up with --max-concurrency {args.max_concurrency}: {speedup:.2f}x")
    if args.json:
        args.json.write_text(json.dumps({**timings, "speedup": speedup}, indent=2) + "\n")


if __name__ == "__main__":
    main()
