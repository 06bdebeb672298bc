"""REST API speed: POST-run-to-Completed latency and status-endpoint throughput.

Starts `reev serve` on a free 127.0.0.1 port with a temporary SQLite database (or `--db URL`),
then measures
  1. latency: POST /benchmarks/001-sol-transfer/run with the deterministic agent, one run at a
     time, until the status endpoint says Completed (the SSE stream tells when to look) — median
     and p95 over N runs. This includes the subprocess (`reev run --execution-id …`), the
     episode and every database write;
  2. throughput: GET /benchmarks/{id}/status/{execution_id} from an asyncio httpx client with K
     requests in flight, bounded by a request count and a time limit, loopback only.

  3. burst (`--burst N`, issue 16): N deterministic runs submitted as fast as 8 clients can
     (requests of up to 10 epochs) against a server with `--max-queued`; a 429 is retried after
     its Retry-After. Counts lost (accepted, never terminal), duplicated (an id twice, or more
     rows than accepted) and 5xx answers; samples the Queued count against the cap; the
     server's resident memory after the first 100 executions ended and after all N.

Targets (issue 4): median under 1.5 s; status endpoint at least 500 requests/s. Issue 16: the
burst loses, duplicates and 5xx nothing, the queue never exceeds its cap, and memory after N
executions is within 10% of after 100. The client runs on the same cores as the server, so the
throughput figure is a lower bound.

    python scripts/bench_api.py [--runs 10] [--concurrency 32] [--requests 5000] [--seconds 10]
                                [--burst 1000] [--max-queued 200]
                                [--db URL] [--json out.json] [--strict]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import httpx  # noqa: E402 (after the sys.path insert above)

from helpers.api_server import ApiServer, copy_benchmarks, sqlite_url, sse_events, status_of  # noqa: E402 (after the sys.path insert above)

BENCHMARK = "001-sol-transfer"
LATENCY_TARGET_S = 1.5
STATUS_TARGET_RPS = 500.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def run_latency(server: ApiServer, runs: int) -> tuple[list[float], str]:
    """Seconds from POST to a status that says Completed, one run at a time."""
    latencies: list[float] = []
    execution_id = ""
    with server.client() as client:
        for _ in range(runs):
            started = time.perf_counter()
            response = client.post(f"/benchmarks/{BENCHMARK}/run", json={"agent": "deterministic"})
            response.raise_for_status()
            execution_id = response.json()["execution_id"]
            sse_events(client, execution_id, until=lambda e: bool(e.get("final")))
            final = status_of(client, BENCHMARK, execution_id)
            latencies.append(time.perf_counter() - started)
            if final["status"] != "Completed" or final["score"] != 1.0:
                raise SystemExit(
                    f"run {execution_id} ended {final['status']} with score {final['score']}"
                )
    return latencies, execution_id


async def status_throughput(
    server: ApiServer, execution_id: str, concurrency: int, requests: int, seconds: float
) -> tuple[float, int, int]:
    """Requests per second with `concurrency` in flight; stops after `requests` or `seconds`."""
    url = f"/benchmarks/{BENCHMARK}/status/{execution_id}"
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    done = errors = 0
    deadline = time.perf_counter() + seconds
    async with httpx.AsyncClient(base_url=server.api, limits=limits, timeout=10) as client:
        for _ in range(min(concurrency, 50)):  # warm the connections and the server
            await client.get(url)

        async def worker() -> None:
            nonlocal done, errors
            while done + errors < requests and time.perf_counter() < deadline:
                response = await client.get(url)
                if response.status_code == 200 and response.json()["status"] == "Completed":
                    done += 1
                else:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return done / elapsed, done, errors


# ---------------------------------------------------------------------------- burst (issue 16)

BURST_CLIENTS = 8
BURST_EPOCHS = 10  # executions per request, at most
MEMORY_TOLERANCE = 0.10


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def burst(server: ApiServer, total: int, max_queued: int) -> dict[str, object]:
    """Submit `total` runs, wait for all of them, and count what went wrong (see the module
    docstring); also the server's RSS after 100 executions ended and after all of them."""
    assert server.process is not None
    pid = server.process.pid
    accepted: list[str] = []
    answers: dict[int, int] = {}
    queued_peak = 0
    remaining = total
    async with httpx.AsyncClient(base_url=server.api, timeout=60) as client:
        finished_before = (await client.get("/executions", params={"limit": 1})).json()["total"]

        async def submitter() -> None:
            nonlocal remaining
            while remaining > 0:
                epochs = min(BURST_EPOCHS, remaining)
                remaining -= epochs
                while True:
                    response = await client.post(
                        f"/benchmarks/{BENCHMARK}/run",
                        json={"agent": "deterministic", "epochs": epochs},
                    )
                    answers[response.status_code] = answers.get(response.status_code, 0) + 1
                    if response.status_code == 202:
                        accepted.extend(response.json()["execution_ids"])
                        break
                    if response.status_code != 429:  # counted in `answers`, not retried
                        break
                    await asyncio.sleep(min(2.0, float(response.headers.get("retry-after", 1))))

        async def terminal_count() -> int:
            counts = (await client.get("/health")).json()["executions"]
            return sum(v for k, v in counts.items() if k not in ("Queued", "Running"))

        async def monitor(stop: asyncio.Event) -> None:
            nonlocal queued_peak
            while not stop.is_set():
                counts = (await client.get("/health")).json()["executions"]
                queued_peak = max(queued_peak, counts.get("Queued", 0))
                await asyncio.sleep(0.2)

        stop = asyncio.Event()
        watcher = asyncio.create_task(monitor(stop))
        started = time.perf_counter()
        submitters = asyncio.gather(*(submitter() for _ in range(BURST_CLIENTS)))
        rss_after_100 = 0
        while True:
            done = await terminal_count() - finished_before
            if not rss_after_100 and done >= min(100, total):
                rss_after_100 = rss_kib(pid)
            if submitters.done() and done >= len(accepted):
                break
            await asyncio.sleep(0.5)
        await submitters
        elapsed = time.perf_counter() - started
        stop.set()
        await watcher
        rss_after_all = rss_kib(pid)
        statuses: dict[str, int] = {}
        for execution_id in accepted:
            row = (await client.get(f"/executions/{execution_id}")).json()
            statuses[row["status"]] = statuses.get(row["status"], 0) + 1
        rows = (await client.get("/executions", params={"limit": 1})).json()["total"]
    lost = len(accepted) - sum(n for s, n in statuses.items() if s not in ("Queued", "Running"))
    return {
        "requested": total,
        "accepted": len(accepted),
        "lost": lost,
        "duplicated": (len(accepted) - len(set(accepted)))
        + (rows - finished_before - len(accepted)),
        "server_errors": sum(n for code, n in answers.items() if code >= 500),
        "answers": answers,
        "statuses": statuses,
        "queued_peak": queued_peak,
        "max_queued": max_queued,
        "seconds": elapsed,
        "rss_kib_after_100": rss_after_100,
        "rss_kib_after_all": rss_after_all,
    }


def report_burst(figures: dict[str, object]) -> bool:
    after_100 = int(figures["rss_kib_after_100"])  # type: ignore[call-overload]  # an int in the dict
    after_all = int(figures["rss_kib_after_all"])  # type: ignore[call-overload]  # an int in the dict
    growth = (after_all - after_100) / after_100 if after_100 else 0.0
    ok = (
        figures["lost"] == 0
        and figures["duplicated"] == 0
        and figures["server_errors"] == 0
        and figures["accepted"] == figures["requested"]
        and int(figures["queued_peak"]) <= int(figures["max_queued"])  # type: ignore[call-overload]  # ints in the dict
        and growth <= MEMORY_TOLERANCE
    )
    print(
        f"burst of {figures['requested']} runs in {float(figures['seconds']):.0f} s "  # type: ignore[arg-type]  # a float in the dict
        f"({BURST_CLIENTS} clients, ≤ {BURST_EPOCHS} epochs a request):"
    )
    print(
        f"  accepted {figures['accepted']} · lost {figures['lost']} · duplicated "
        f"{figures['duplicated']} · 5xx {figures['server_errors']} · answers {figures['answers']}"
    )
    print(f"  final statuses {figures['statuses']}")
    print(
        f"  Queued peak {figures['queued_peak']} (cap {figures['max_queued']}) · server RSS "
        f"{after_100 / 1024:.0f} MiB after 100, {after_all / 1024:.0f} MiB after all "
        f"({growth:+.1%}; target within {MEMORY_TOLERANCE:.0%})   {'OK' if ok else 'MISSED'}"
    )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=10, help="runs for the latency figures")
    parser.add_argument("--concurrency", type=int, default=32, help="status requests in flight")
    parser.add_argument("--requests", type=int, default=5000, help="status requests, at most")
    parser.add_argument("--seconds", type=float, default=10.0, help="time limit of the status load")
    parser.add_argument("--burst", type=int, default=0, help="runs of the burst (0: no burst)")
    parser.add_argument("--max-queued", type=int, default=200, help="the burst server's queue cap")
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="reev-bench-api-") as tmp:
        workdir = Path(tmp)
        benchmarks = copy_benchmarks(workdir / "benchmarks", [BENCHMARK])
        server = ApiServer(
            workdir / "server",
            db_url=args.db or sqlite_url(workdir / "reev.db"),
            benchmarks=benchmarks,
        )
        with server:
            run_latency(server, 1)  # warm-up: imports in the page cache, the first connection
            latencies, execution_id = run_latency(server, args.runs)
            assert server.process is not None
            cpu_before = cpu_seconds(server.process.pid)
            rps, done, errors = asyncio.run(
                status_throughput(
                    server, execution_id, args.concurrency, args.requests, args.seconds
                )
            )
            server_ms = (
                (cpu_seconds(server.process.pid) - cpu_before) * 1000 / max(1, done + errors)
            )
        burst_figures: dict[str, object] | None = None
        if args.burst:
            burst_server = ApiServer(
                workdir / "burst",
                db_url=sqlite_url(workdir / "burst.db") if not args.db else args.db,
                benchmarks=benchmarks,
                args=["--max-queued", str(args.max_queued)],
            )
            with burst_server:
                burst_figures = asyncio.run(burst(burst_server, args.burst, args.max_queued))

    median, p95 = statistics.median(latencies), percentile(latencies, 0.95)
    latency_ok, rps_ok = median < LATENCY_TARGET_S, rps >= STATUS_TARGET_RPS and errors == 0
    print(f"POST run → Completed, deterministic {BENCHMARK}, {len(latencies)} runs one at a time:")
    print(
        f"  median {median:.3f} s · p95 {p95:.3f} s · min {min(latencies):.3f} s · max {max(latencies):.3f} s"
        f"   target: median < {LATENCY_TARGET_S} s  {'OK' if latency_ok else 'MISSED'}"
    )
    print(
        f"GET status, {args.concurrency} in flight: {rps:.0f} requests/s ({done} ok, {errors} errors)"
        f"   target: ≥ {STATUS_TARGET_RPS:.0f} requests/s  {'OK' if rps_ok else 'MISSED'}"
    )
    print(
        f"  server CPU per status request {server_ms:.2f} ms (≈ {1000 / server_ms:.0f} requests/s per free core;"
        f" the client shares the machine)"
        if server_ms
        else ""
    )
    burst_ok = report_burst(burst_figures) if burst_figures is not None else True
    load = os.getloadavg()
    print(
        f"machine: {os.cpu_count()} cores, load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}"
        " (other work on the machine slows both figures)"
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "latency_s": {"median": median, "p95": p95, "runs": latencies},
                    "status_rps": rps,
                    "status_requests": done,
                    "status_errors": errors,
                    "server_cpu_ms_per_status_request": server_ms,
                    "load_average": os.getloadavg(),
                    "burst": burst_figures,
                    "targets": {
                        "latency_median_s": LATENCY_TARGET_S,
                        "status_rps": STATUS_TARGET_RPS,
                    },
                },
                indent=2,
            )
            + "\n"
        )
    return 0 if (latency_ok and rps_ok and burst_ok) or not args.strict else 1


if __name__ == "__main__":
    raise SystemExit(main())
