"""LLM-agent throughput: concurrent episodes against sequential ones, in the same run.

A scripted OpenAI-compatible server on 127.0.0.1 (tests/helpers/fake_openai.py) answers every model
call after a fixed latency (default 200 ms), playing each benchmark's reference solution. The
suite runs `--epochs` times each benchmark, first with one episode at a time, then with
each `--max-concurrency`; the ratio of wall times is the speed-up concurrency buys.

Efficiency is the speed-up over the ideal one: with N slots the run cannot end before the
longest episode, nor before the sequential total divided by N, so the ideal wall time is the
larger of the two (from the sequential run's own episode durations) and efficiency is
ideal / measured. The scripted server runs in a child process, as a real provider would, so
its CPU does not count against the runner's.

`--workers 1 auto` measures each concurrency in one process and with the worker processes
`reev run --workers auto` would use for it (IO_SLOTS_PER_PROCESS slots each, up to the cores).
The first worker pool of a process starts (and warms, reev.runner.warm) the forkserver every
later pool forks from; it runs before the measurements, and its time is printed apart.

Each concurrent measurement runs `--repeat` times (default 3), in rounds that take every
setting once, so that the host's drift falls on all settings alike; the summary gives each
setting's median efficiency with the lowest and highest. On a shared machine one run can
land in another tenant's burst: a single figure says little, a median of rounds more.

    python scripts/bench_agents.py [--latency 0.2] [--epochs 1] [--limit 0]
        [--max-concurrency 4 16 32] [--workers 1 auto] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from reev.agents import AgentOptions, agent_factory  # noqa: E402 (after the sys.path insert above)
from reev.runner import run_suite  # noqa: E402 (after the sys.path insert above)
from reev.runner.workers import IO_SLOTS_PER_PROCESS, cpu_count  # noqa: E402
from reev.spec import load_many  # noqa: E402 (after the sys.path insert above)


def _workers(setting: str, concurrency: int) -> int:
    """Processes for one measurement: a number, or what `reev run --workers auto` picks for an
    LLM agent (reev.cli.run._worker_count)."""
    if setting != "auto":
        return int(setting)
    return max(1, min(-(-concurrency // IO_SLOTS_PER_PROCESS), cpu_count()))


def _processes(workers: int) -> str:
    return f"{workers} worker{'s' * (workers > 1)}"


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per model call")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--max-concurrency", type=int, nargs="+", default=[4, 16, 32])
    parser.add_argument("--limit", type=int, default=0, help="benchmarks from the suite (0 = all)")
    parser.add_argument(
        "--workers",
        nargs="+",
        default=["1"],
        help="processes for each concurrency: numbers, or auto (as `reev run --workers auto`)",
    )
    parser.add_argument(
        "--repeat", type=_positive, default=3, help="runs of each concurrent setting (median)"
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    loaded, errors = load_many([ROOT / "benchmarks"])
    assert not errors, errors
    benches = [item.benchmark for item in loaded][: args.limit or None]

    # Imported here, not at the top: worker processes re-import this module as their main
    # module, and the scripted provider (FastAPI) is no part of a runner's start-up.
    from helpers.fake_openai import serve_solutions

    context = multiprocessing.get_context("spawn")
    ready = context.Queue()
    stop = context.Event()
    child = context.Process(target=serve_solutions, args=(args.limit, args.latency, ready, stop))
    child.start()
    figures: dict[str, object] = {"latency_s": args.latency, "episodes": len(benches) * args.epochs}
    try:
        base_url = ready.get(timeout=60)
        factory = agent_factory("local/scripted", AgentOptions(base_url=base_url))
        with tempfile.TemporaryDirectory() as tmp:

            def run(concurrency: int, workers: int = 1):
                cpu, start = time.process_time(), time.perf_counter()
                suite = asyncio.run(
                    run_suite(
                        benches,
                        factory,
                        epochs=args.epochs,
                        max_concurrency=concurrency,
                        log_dir=Path(tmp),
                        workers=workers,
                    )
                )
                return time.perf_counter() - start, time.process_time() - cpu, suite

            # One untimed episode first: this process's one-time costs (imports, the default
            # markets) would otherwise inflate the sequential run's first episode, and with it
            # the ideal wall time every efficiency is measured against.
            asyncio.run(run_suite(benches[:1], factory, log_dir=Path(tmp)))
            pooled = max(_workers(s, n) for s in args.workers for n in args.max_concurrency)
            if pooled > 1:
                # Likewise the worker processes' forkserver: started, and warmed for model-waiting
                # workers (reev.runner.warm), once per process, by the first pool. Timed here
                # and reported apart: a `reev run` with workers pays it once, at its start.
                start = time.perf_counter()
                asyncio.run(
                    run_suite(benches[:4], factory, max_concurrency=4, log_dir=Path(tmp), workers=2)
                )
                figures["first_pool_s"] = first_pool = time.perf_counter() - start
                print(
                    f"first worker pool (the forkserver's start, once per process; "
                    f"4 episodes on 2 workers): {first_pool:.2f} s"
                )
            sequential, cpu, suite = run(1)
            durations = [r.duration_ms / 1000 for r in suite.results]
            calls = sum(r.usage.model_calls for r in suite.results)
            passed = suite.summary()["passed"]
            per_call = cpu / calls * 1000
            print(
                f"sequential: {sequential:6.2f} s, {passed}/{len(suite.results)} passed, "
                f"{calls} model calls at {args.latency * 1000:.0f} ms, "
                f"runner CPU {per_call:.1f} ms per call"
            )
            figures["sequential_s"] = sequential
            figures["sequential_cpu_ms_per_call"] = per_call
            settings = [(n, setting) for n in args.max_concurrency for setting in args.workers]
            runs: dict[tuple[int, str], list[dict[str, float]]] = {key: [] for key in settings}
            for round_ in range(1, args.repeat + 1):
                for n, setting in settings:
                    workers = _workers(setting, n)
                    wall, cpu, suite = run(n, workers)
                    ideal = max(sum(durations) / n, max(durations))
                    speedup, efficiency = sequential / wall, ideal / wall
                    where = f"{_processes(workers)} ({setting})"
                    # This process's CPU: the whole runner's with one process; with workers,
                    # only the parent's share (the workers' is theirs).
                    per_call = cpu / calls * 1000
                    print(
                        f"[{round_}/{args.repeat}] --max-concurrency {n:>3}, {where:<14}: "
                        f"{wall:6.2f} s, speed-up {speedup:5.2f}x (ideal {sequential / ideal:5.2f}x), "
                        f"efficiency {efficiency:.2f}, CPU here {per_call:.1f} ms per call"
                    )
                    runs[(n, setting)].append(
                        {
                            "workers": workers,
                            "wall_s": wall,
                            "speedup": speedup,
                            "ideal_speedup": sequential / ideal,
                            "efficiency": efficiency,
                            "cpu_ms_per_call_here": per_call,
                        }
                    )
            print(f"medians of {args.repeat} (lowest–highest):")
            for n, setting in settings:
                measured = runs[(n, setting)]
                efficiencies = sorted(r["efficiency"] for r in measured)
                middle = statistics.median(efficiencies)
                speedup = statistics.median(r["speedup"] for r in measured)
                print(
                    f"--max-concurrency {n:>3}, {_processes(measured[0]['workers'])} ({setting}): "
                    f"efficiency {middle:.2f} "
                    f"({efficiencies[0]:.2f}–{efficiencies[-1]:.2f}), speed-up {speedup:5.2f}x"
                )
                key = f"concurrency_{n}" + ("" if setting == "1" else f"_workers_{setting}")
                figures[key] = {
                    "workers": measured[0]["workers"],
                    "efficiency": middle,
                    "efficiency_min": efficiencies[0],
                    "efficiency_max": efficiencies[-1],
                    "speedup": speedup,
                    "runs": measured,
                }
    finally:
        stop.set()
        child.join(timeout=10)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
