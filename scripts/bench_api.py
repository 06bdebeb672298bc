"""REST API speed: POST-run-to-Completed latency and status-endpoint throughput.

Starts `reev serve` on a free 127.0.0.1 port with a temporary SQLite database (or `--db URL`),
then measures
  1. latency: POST /benchmarks/001-sol-transfer/run with the deterministic agent, one run at a
     time, until the status endpoint says Completed (the SSE stream tells when to look) — median
     and p95 over N runs. This includes the subprocess (`reev run --execution-id …`), the
     episode and every database write;
  2. throughput: GET /benchmarks/{id}/status/{execution_id} with K requests in flight, one
     keep-alive HTTP/1.1 connection each (a minimal asyncio client: httpx cost more CPU per
     request than the server, on the same cores), bounded by a request count and a time limit,
     loopback only.

  3. burst (`--burst N`, issue 16): N deterministic runs submitted as fast as 8 clients can
     (requests of up to 10 epochs) against a server with `--max-queued`; a 429 is retried after
     its Retry-After. Counts lost (accepted, never terminal), duplicated (an id twice, or more
     rows than accepted) and 5xx answers; samples the Queued count against the cap; the
     server's resident memory after the first 100 executions ended and after all N.

Targets (issue 4): median under 1.5 s; status endpoint at least 500 requests/s. Issue 16: the
burst loses, duplicates and 5xx nothing, the queue never exceeds its cap, and memory after N
executions is within 10% of after 100. The client runs on the same cores as the server, so the
throughput figure is a lower bound.

With `--scale` (issue 18; `--scale-only` skips the two figures above) it also seeds SQLite
databases through reev's store (tests/helpers/seeded_db.py) with 1k, 10k and 100k executions
and, against `reev serve --dashboard` on each, reports
  3. `/agent-performance`: the first request after start-up (the server computes it at
     start-up, in the background: this one may wait for that), the median of the next five
     (kept while no execution changes, `reev.store.cache`), the first after an execution is
     written through the store (only the cells it touched are read again), and the server's
     memory increase for the first request (targets < 200 ms for the median and after a
     write, < 50 MB, at 100k); the medians and the dashboard loads are measured once the
     server's start-up work has settled (its CPU idle for half a second);
  4. the dashboard's matrix in headless Chromium: time until every cell shows, and server CPU
     per page load (targets < 1.5 s, < 0.3 s at 100k); loads after the first take NiceGUI's
     assets from the browser cache, as a returning visitor's do (`--no-browser-cache`: not);
  5. growth 10k → 100k of every endpoint read (target ≤ 1.5×);
  6. the old Python aggregation (tests/helpers/old_aggregation.py) against the new queries,
     in this process on the same database: the before/after of the same run.

    python scripts/bench_api.py [--runs 10] [--concurrency 32] [--requests 5000] [--seconds 10]
                                [--burst 1000] [--max-queued 200]
                                [--db URL] [--json out.json] [--strict]
                                [--scale | --scale-only] [--scale-sizes 1000,10000,100000]
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
from typing import Any

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


class KeepAliveConnection:
    """One HTTP/1.1 keep-alive connection that sends GETs and reads `Content-Length` bodies: the
    load generator of the status figure. httpx spends about 3 ms of CPU per request, more than
    the server, and it runs on the same two cores, so with it the figure measured the client;
    this costs a tenth of that. The server is the same `reev serve`; only the client changed."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str):
        self.reader, self.writer, self.host = reader, writer, host

    @classmethod
    async def open(cls, url: str) -> KeepAliveConnection:
        parts = httpx.URL(url)
        reader, writer = await asyncio.open_connection(parts.host, parts.port)
        return cls(reader, writer, f"{parts.host}:{parts.port}")

    async def get(self, path: str) -> tuple[int, bytes]:
        self.writer.write(
            f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\nAccept: application/json\r\n\r\n".encode()
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, _, header_block = head.partition(b"\r\n")
        length = 0
        for line in header_block.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
            elif name.strip().lower() == b"transfer-encoding":
                raise RuntimeError(f"{path}: chunked answers are not read here")
        return int(status_line.split()[1]), await self.reader.readexactly(length)

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


async def status_throughput(
    server: ApiServer, execution_id: str, concurrency: int, requests: int, seconds: float
) -> tuple[float, int, int, float]:
    """Requests per second with `concurrency` in flight (one keep-alive connection each); stops
    after `requests` or `seconds`. Also the client's CPU milliseconds per request."""
    path = f"/api/v1/benchmarks/{BENCHMARK}/status/{execution_id}"
    done = errors = 0
    connections = [await KeepAliveConnection.open(server.url) for _ in range(concurrency)]
    try:
        for connection in connections:  # warm the connections and the server
            await connection.get(path)

        deadline = time.perf_counter() + seconds

        async def worker(connection: KeepAliveConnection) -> None:
            nonlocal done, errors
            while done + errors < requests and time.perf_counter() < deadline:
                code, body = await connection.get(path)
                if code == 200 and json.loads(body)["status"] == "Completed":
                    done += 1
                else:
                    errors += 1

        cpu_before = time.process_time()
        started = time.perf_counter()
        await asyncio.gather(*(worker(c) for c in connections))
        elapsed = time.perf_counter() - started
        client_ms = (time.process_time() - cpu_before) * 1000 / max(1, done + errors)
    finally:
        for connection in connections:
            await connection.close()
    return done / elapsed, done, errors, client_ms


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


# --------------------------------------------------------------------------- scale (issue 18)

PERFORMANCE_TARGET_MS = 200.0
PERFORMANCE_MEMORY_TARGET_MB = 50.0
MATRIX_TARGET_S = 1.5
MATRIX_CPU_TARGET_S = 0.3
GROWTH_TARGET = 1.5
SCALE_ENDPOINTS = (
    "/agent-performance",
    "/health",
    "/executions?limit=50",
    "/executions?benchmark=000-bench&limit=50",
    "/benchmarks/000-bench/status",
    "/benchmarks",
)


def rss_mb(pid: int) -> float:
    """Resident memory of a process (Linux /proc), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def settle(pid: int, quiet_s: float = 0.5, limit_s: float = 15.0) -> float:
    """Wait until the server's start-up work (the aggregates and the dashboard overview it
    computes in the background) is done: `quiet_s` with under 5% of a core used, at most
    `limit_s`. Returns the seconds waited. The steady-state figures are measured after it."""
    started = time.perf_counter()
    while time.perf_counter() - started < limit_s:
        before = cpu_seconds(pid)
        time.sleep(quiet_s)
        if cpu_seconds(pid) - before < 0.05 * quiet_s:
            break
    return time.perf_counter() - started


def median_ms(client: httpx.Client, path: str, times: int = 5) -> float:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        response = client.get(path)
        samples.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return statistics.median(samples)


def first_after_write(client: httpx.Client, db_url: str, n: int) -> float:
    """Milliseconds of the first `/agent-performance` after an execution is written through the
    store from this process (created, run, completed with a score, as another process's
    `reev run --record` or a finished API run would): the cached answer is stale then, and the
    server must read the database again."""
    from reev.events import ExecutionStatus
    from reev.store import make_engine, session_factory
    from reev.store import repository as repo

    engine = make_engine(db_url)
    try:
        with session_factory(engine).begin() as session:
            execution_id = f"bench-write-{n}-{time.time_ns()}"
            repo.create_execution(
                session, execution_id=execution_id, benchmark_id="000-bench", agent="deterministic"
            )
            repo.transition(session, execution_id, ExecutionStatus.RUNNING)
            repo.transition(
                session, execution_id, ExecutionStatus.COMPLETED, score=0.5, passed=False
            )
    finally:
        engine.dispose()
    started = time.perf_counter()
    client.get("/agent-performance").raise_for_status()
    return (time.perf_counter() - started) * 1000


def in_process_baseline(db_url: str) -> dict[str, float]:
    """The old Python aggregation and the new SQL on the same database, in this process: the
    median seconds of three calls after a warm-up, and the peak of Python allocations
    (tracemalloc) of one more."""
    import tracemalloc

    from helpers.old_aggregation import OldOverview, finished_executions, old_agent_performance
    from reev.service.performance import agent_performance
    from reev.store import make_engine, session_factory
    from reev.web.data import Overview

    engine = make_engine(db_url)
    sessions = session_factory(engine)

    def old_api(session: Any) -> Any:
        return old_agent_performance(finished_executions(session))

    def old_dash(session: Any) -> Any:
        overview = OldOverview.load(session)
        ids = {b.id for b in overview.benchmarks}
        return overview.agent_stats(ids), overview.score_over_time(ids)

    def new_dash(session: Any) -> Any:
        overview = Overview.load(session)
        ids = {b.id for b in overview.benchmarks}
        return overview.agent_stats(ids), overview.score_over_time(ids)

    out: dict[str, float] = {}
    for name, work in (
        ("api_old", old_api),
        ("api_new", agent_performance),
        ("dash_old", old_dash),
        ("dash_new", new_dash),
    ):
        old = name.endswith("_old")  # minutes at 100k: timed once, its warm-up is noise
        if not old:
            with sessions() as session:
                work(session)  # warm: imports, compiled statements, the page cache
        timings = []
        for _ in range(1 if old else 3):
            with sessions() as session:
                started = time.perf_counter()
                work(session)
                timings.append(time.perf_counter() - started)
        out[f"{name}_s"] = statistics.median(timings)
        with sessions() as session:  # the allocations of one more call, traced (slower)
            if old and executions_of(session) > 20_000:
                out[f"{name}_peak_mb"] = float("nan")  # minutes more under tracemalloc
                continue
            tracemalloc.start()
            work(session)
            out[f"{name}_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
    engine.dispose()
    return out


def executions_of(session: Any) -> int:
    from sqlalchemy import func, select

    from reev.store.models import ExecutionRow

    return int(session.scalar(select(func.count()).select_from(ExecutionRow)) or 0)


def matrix_loads(
    server: ApiServer, cells: int, loads: int, browser_cache: bool = True
) -> tuple[list[float], list[float]]:
    """Seconds from navigation until every matrix cell shows, and server CPU seconds, per load
    of `/`. The first load fetches NiceGUI's assets (about 2 MB of JavaScript, compressed by
    the server on every request); later ones take them from the browser's cache, as a
    returning visitor's browser does (they are served `immutable`), unless `browser_cache` is
    False (`--no-browser-cache`: every load fetches them again)."""
    from helpers.browser import offline_page

    assert server.process is not None
    pid = server.process.pid
    visible, cpu = [], []
    with offline_page(viewport={"width": 1280, "height": 900}, browser_cache=browser_cache) as (
        page,
        blocked,
    ):
        for _ in range(loads):
            before = cpu_seconds(pid)
            started = time.perf_counter()
            page.goto(f"{server.url}/", wait_until="commit")  # type: ignore[attr-defined]
            page.wait_for_function(  # type: ignore[attr-defined]
                f"document.querySelectorAll('td[data-cell]').length === {cells}", timeout=120_000
            )
            visible.append(time.perf_counter() - started)
            time.sleep(0.3)  # let the server finish the page's websocket set-up before counting
            cpu.append(cpu_seconds(pid) - before)
    if blocked:
        raise SystemExit(f"the dashboard tried to reach the network: {blocked}")
    return visible, cpu


def scale_section(
    sizes: list[int], loads: int, browser_cache: bool = True
) -> tuple[dict[str, Any], bool]:
    """Seed, serve and measure each size; print the table and the targets."""
    from helpers import seeded_db

    suite = seeded_db.DEFAULT
    cells = len(suite.benchmarks) * len(suite.agents)
    figures: dict[str, Any] = {}
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="reev-bench-scale-") as tmp:
            workdir = Path(tmp)
            db_url = sqlite_url(workdir / "reev.db")
            started = time.perf_counter()
            seeded_db.seed(db_url, size)
            seeded = time.perf_counter() - started
            (workdir / "benchmarks").mkdir()  # nothing to sync: the rows are in the database
            baseline = in_process_baseline(db_url)
            server = ApiServer(
                workdir / "server",
                db_url=db_url,
                benchmarks=workdir / "benchmarks",
                args=["--dashboard"],
            )
            with server:
                assert server.process is not None
                pid = server.process.pid
                with httpx.Client(base_url=server.api, timeout=120) as client:
                    client.get("/health").raise_for_status()
                    rss_before = rss_mb(pid)
                    started = time.perf_counter()  # the first after start-up
                    client.get("/agent-performance").raise_for_status()
                    first_ms = (time.perf_counter() - started) * 1000
                    memory = rss_mb(pid) - rss_before
                    settled = settle(pid)
                    endpoints = {path: median_ms(client, path) for path in SCALE_ENDPOINTS}
                    after_write_ms = statistics.median(
                        first_after_write(client, db_url, n) for n in range(3)
                    )
                settle(pid)
                visible, cpu = matrix_loads(server, cells, loads, browser_cache)
            figures[str(size)] = {
                "seed_s": seeded,
                "endpoints_ms": endpoints,
                "performance_memory_mb": memory,
                "performance_first_ms": first_ms,
                "performance_after_write_ms": after_write_ms,
                "settled_s": settled,
                "matrix_visible_s": {"first": visible[0], "median": statistics.median(visible[1:])},
                "matrix_cpu_s": {"first": cpu[0], "median": statistics.median(cpu[1:])},
                "in_process": baseline,
            }
            f = figures[str(size)]
            print(
                f"{size:>7} executions (seeded in {seeded:.1f} s): "
                + " · ".join(f"{p} {ms:.1f} ms" for p, ms in endpoints.items())
            )
            print(
                f"          /agent-performance first after start-up {first_ms:.0f} ms, memory "
                f"+{memory:.1f} MB, first after a write {after_write_ms:.0f} ms (start-up work "
                f"settled {settled:.1f} s after it)"
                f" · matrix visible first "
                f"{visible[0]:.2f} s, then median {f['matrix_visible_s']['median']:.2f} s · server CPU "
                f"per load first {cpu[0]:.3f} s, then median {f['matrix_cpu_s']['median']:.3f} s"
            )
            print(
                f"          in-process, old Python → new SQL: agent-performance "
                f"{baseline['api_old_s'] * 1000:.0f} → {baseline['api_new_s'] * 1000:.0f} ms "
                f"({baseline['api_old_s'] / baseline['api_new_s']:.0f}×), "
                f"peak {baseline['api_old_peak_mb']:.1f} → {baseline['api_new_peak_mb']:.2f} MB; "
                f"overview {baseline['dash_old_s'] * 1000:.0f} → {baseline['dash_new_s'] * 1000:.0f} ms "
                f"({baseline['dash_old_s'] / baseline['dash_new_s']:.0f}×), "
                f"peak {baseline['dash_old_peak_mb']:.1f} → {baseline['dash_new_peak_mb']:.2f} MB"
            )
    ok = True
    largest = figures[str(max(sizes))]
    checks = [
        (
            f"/agent-performance at {max(sizes)}: {largest['endpoints_ms']['/agent-performance']:.0f} ms",
            largest["endpoints_ms"]["/agent-performance"] < PERFORMANCE_TARGET_MS,
            f"< {PERFORMANCE_TARGET_MS:.0f} ms",
        ),
        (
            f"/agent-performance at {max(sizes)}, first request after a write (recomputed): "
            f"{largest['performance_after_write_ms']:.0f} ms",
            largest["performance_after_write_ms"] < PERFORMANCE_TARGET_MS,
            f"< {PERFORMANCE_TARGET_MS:.0f} ms",
        ),
        (
            f"its memory increase: {largest['performance_memory_mb']:.1f} MB",
            largest["performance_memory_mb"] < PERFORMANCE_MEMORY_TARGET_MB,
            f"< {PERFORMANCE_MEMORY_TARGET_MB:.0f} MB",
        ),
        (
            f"matrix visible (first load / later): {largest['matrix_visible_s']['first']:.2f} / "
            f"{largest['matrix_visible_s']['median']:.2f} s",
            largest["matrix_visible_s"]["first"] < MATRIX_TARGET_S,
            f"< {MATRIX_TARGET_S} s",
        ),
        (
            f"server CPU per load (first / later): {largest['matrix_cpu_s']['first']:.3f} / "
            f"{largest['matrix_cpu_s']['median']:.3f} s",
            largest["matrix_cpu_s"]["median"] < MATRIX_CPU_TARGET_S,
            f"< {MATRIX_CPU_TARGET_S} s",
        ),
    ]
    if "10000" in figures and "100000" in figures:
        small, large = figures["10000"], figures["100000"]
        for path in SCALE_ENDPOINTS:
            growth = large["endpoints_ms"][path] / small["endpoints_ms"][path]
            checks.append(
                (
                    f"growth 10k → 100k {path}: {growth:.2f}×",
                    growth <= GROWTH_TARGET,
                    f"≤ {GROWTH_TARGET}×",
                )
            )
        growth = large["matrix_visible_s"]["median"] / small["matrix_visible_s"]["median"]
        checks.append(
            (
                f"growth 10k → 100k dashboard matrix: {growth:.2f}×",
                growth <= GROWTH_TARGET,
                f"≤ {GROWTH_TARGET}×",
            )
        )
    for text_, passed, target in checks:
        print(f"  {text_}   target: {target}  {'OK' if passed else 'MISSED'}")
        ok = ok and passed
    return figures, ok


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
    parser.add_argument("--scale", action="store_true", help="also seed 1k/10k/100k and measure")
    parser.add_argument("--scale-only", action="store_true", help="only the scale section")
    parser.add_argument("--scale-sizes", default="1000,10000,100000", help="executions to seed")
    parser.add_argument("--scale-loads", type=int, default=4, help="dashboard loads per size")
    parser.add_argument(
        "--no-browser-cache",
        dest="browser_cache",
        action="store_false",
        help="every dashboard load fetches NiceGUI's assets again (the tests' offline browser)",
    )
    args = parser.parse_args()
    if args.scale_only:
        _, scale_ok = scale_section(
            [int(n) for n in args.scale_sizes.split(",")], args.scale_loads, args.browser_cache
        )
        return 0 if scale_ok or not args.strict else 1

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
            rps, done, errors, client_ms = asyncio.run(
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
        f" the client shares the machine and spent {client_ms:.2f} ms per request)"
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
                    "client_cpu_ms_per_status_request": client_ms,
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
    scale_ok = True
    if args.scale:
        _, scale_ok = scale_section(
            [int(n) for n in args.scale_sizes.split(",")], args.scale_loads, args.browser_cache
        )
    return 0 if (latency_ok and rps_ok and burst_ok and scale_ok) or not args.strict else 1


if __name__ == "__main__":
    raise SystemExit(main())
