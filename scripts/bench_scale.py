"""Ray against local at equal concurrency, on an LLM-shaped load, in the same run.

A scripted OpenAI-compatible server on 127.0.0.1 (tests/helpers/fake_openai.py, in a child
process as a real provider would be) answers every model call after a fixed latency (default
200 ms), playing each benchmark's reference solution. The suite runs `--epochs` times:

1. local: `run_suite(max_concurrency=N)` in the process pool `reev run --max-concurrency N`
   picks (`--workers auto`: one process per IO_SLOTS_PER_PROCESS model-waiting slots, up to the cores);
2. Ray: the same N in flight on a local Ray started here (all the cores), as `reev run
   --executor ray` runs an LLM agent: one Ray worker process per CPU, 8 episode slots each,
   the run's worker processes started (and reev imported in them) inside the timed run;
3. scaling: the same N on Ray with 1 and then 2 worker processes (`num_cpus` 1 and 2), on
   the first `--scaling-benchmarks` benchmarks (0: all). They are processes on this one machine, standing in for nodes.

Episodes per second for each, and the ratios (target: Ray within 20% of local).

    python scripts/bench_scale.py [--latency 0.2] [--epochs 2] [--concurrency 16] [--limit 0]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from helpers.fake_openai import serve_solutions  # noqa: E402 (after the sys.path insert above)
from reev.agents import AgentOptions, agent_factory  # noqa: E402 (after the sys.path insert above)
from reev.runner import run_suite  # noqa: E402 (after the sys.path insert above)
from reev.runner.ray_executor import RayOptions  # noqa: E402 (after the sys.path insert above)
from reev.runner.workers import IO_SLOTS_PER_PROCESS, cpu_count  # noqa: E402
from reev.spec import load_many  # noqa: E402 (after the sys.path insert above)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per model call")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=16, help="episodes in flight")
    parser.add_argument("--limit", type=int, default=0, help="benchmarks from the suite (0 = all)")
    parser.add_argument(
        "--scaling-benchmarks", type=int, default=0, help="benchmarks of the 1-vs-2 runs"
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    import ray

    loaded, errors = load_many([ROOT / "benchmarks"])
    assert not errors, errors
    benches = [item.benchmark for item in loaded][: args.limit or None]
    episodes = len(benches) * args.epochs
    n = args.concurrency

    context = multiprocessing.get_context("spawn")
    ready = context.Queue()
    stop = context.Event()
    child = context.Process(target=serve_solutions, args=(args.limit, args.latency, ready, stop))
    child.start()
    figures: dict[str, Any] = {"latency_s": args.latency, "episodes": episodes, "concurrency": n}
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    quiet = {"include_dashboard": False, "logging_level": logging.WARNING, "log_to_driver": False}
    try:
        base_url = ready.get(timeout=60)
        factory = agent_factory("local/scripted", AgentOptions(base_url=base_url))
        with tempfile.TemporaryDirectory() as tmp:

            def run(label: str, subset: int = 0, **how: Any) -> float:
                chosen = benches[: subset or None]
                episodes = len(chosen) * args.epochs
                start = time.perf_counter()
                suite = asyncio.run(
                    run_suite(
                        chosen,
                        factory,
                        epochs=args.epochs,
                        log_dir=Path(tmp) / label,
                        trace_jsonl=False,
                        **how,
                    )
                )
                wall = time.perf_counter() - start
                summary = suite.summary()
                rate = episodes / wall
                print(
                    f"{label:<28} {wall:6.2f} s  {rate:6.2f} episodes/s  "
                    f"{summary['passed']}/{episodes} passed",
                    flush=True,
                )
                assert summary["completed"] == episodes, summary
                figures[label] = {"wall_s": round(wall, 3), "episodes_per_s": round(rate, 3)}
                return rate

            workers = max(1, min(-(-n // IO_SLOTS_PER_PROCESS), cpu_count()))
            local = run(f"local ({workers} processes)", max_concurrency=n, workers=workers)
            io_task = RayOptions(slots=IO_SLOTS_PER_PROCESS)
            ray.init(num_cpus=cpu_count(), **quiet)
            on_ray = run(f"ray ({workers} worker processes)", max_concurrency=n, ray=io_task)
            ray.shutdown()
            scaling = {}
            for processes in (1, 2):
                ray.init(num_cpus=processes, **quiet)
                scaling[processes] = run(
                    f"ray {processes} worker process(es)",
                    args.scaling_benchmarks,
                    max_concurrency=n,
                    ray=io_task,
                )
                ray.shutdown()
    finally:
        stop.set()
        child.join(timeout=10)
    figures["ray_over_local"] = round(on_ray / local, 3)
    figures["two_over_one_worker"] = round(scaling[2] / scaling[1], 3)
    print(
        f"Ray/local at concurrency {n}: {on_ray / local:.2f} (target >= 0.80); "
        f"2 vs 1 Ray worker processes: {scaling[2] / scaling[1]:.2f}x "
        "(processes on one machine)"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
