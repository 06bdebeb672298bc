"""Agents for the Ray executor tests (tests/test_ray.py): module-level classes a Ray worker can
unpickle (the test cluster's workers import tests/ as the test process does). Each attempt at an
episode is counted in a marker file, so a test can tell a retried episode from one run once."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from reev.agents.base import AgentTask, ToolBox
from reev.agents.deterministic import DeterministicAgent
from reev.spec.models import ToolCallSpec

DOOMED = "002-spl-transfer"  # the benchmark whose episode goes wrong
FAILING = "001-sol-transfer"  # the benchmark whose agent raises


def attempts(markers: Path, benchmark_id: str, epoch: int = 0) -> int:
    """How many times an episode was started (one line per attempt)."""
    path = markers / f"{benchmark_id}-{epoch}"
    return len(path.read_text().splitlines()) if path.exists() else 0


class _Counting(DeterministicAgent):
    def __init__(self, markers: Path) -> None:
        super().__init__()
        self.markers = markers

    def count(self, task: AgentTask) -> int:
        """Record this attempt; the number of attempts so far, this one included."""
        self.markers.mkdir(parents=True, exist_ok=True)
        with (self.markers / f"{task.benchmark_id}-{task.epoch}").open("a") as file:
            file.write(f"{os.getpid()}\n")
        return attempts(self.markers, task.benchmark_id, task.epoch)


class KillsItsWorkerOnce(_Counting):
    """The oracle, except that its first attempt at DOOMED SIGKILLs the Ray worker running it
    (as the OOM killer would): Ray must retry the episode, which then passes."""

    async def run_step(
        self, task: AgentTask, tools: ToolBox, reference: list[ToolCallSpec] | None = None
    ) -> None:
        if self.count(task) == 1 and task.benchmark_id == DOOMED:
            os.kill(os.getpid(), signal.SIGKILL)
        await super().run_step(task, tools, reference)


class AlwaysKillsItsWorker(_Counting):
    """Kills its worker on every attempt at DOOMED: Ray's retries run out."""

    async def run_step(
        self, task: AgentTask, tools: ToolBox, reference: list[ToolCallSpec] | None = None
    ) -> None:
        self.count(task)
        if task.benchmark_id == DOOMED:
            os.kill(os.getpid(), signal.SIGKILL)
        await super().run_step(task, tools, reference)


class FailsOnce(_Counting):
    """Raises on FAILING: the agent failed, which no executor may retry."""

    async def run_step(
        self, task: AgentTask, tools: ToolBox, reference: list[ToolCallSpec] | None = None
    ) -> None:
        self.count(task)
        if task.benchmark_id == FAILING:
            raise RuntimeError("the agent gave up")
        await super().run_step(task, tools, reference)


AGENTS = {cls.__name__: cls for cls in (KillsItsWorkerOnce, AlwaysKillsItsWorker, FailsOnce)}


def drive(
    agent: str, markers: Path, log_dir: Path, address: str, count: int, max_retries: int = 3
) -> dict[str, object]:
    """Run the first `count` single-step bundled benchmarks with `agent` on the cluster at
    `address`, as a Ray driver; what the tests check, as JSON-ready data."""
    import asyncio
    import functools

    from helpers.suite import bundled
    from reev.runner import run_suite
    from reev.runner.ray_executor import RayOptions

    seen: list[str] = []
    benches = [b for b in bundled().values() if not b.flow][:count]
    suite = asyncio.run(
        run_suite(
            benches,
            functools.partial(AGENTS[agent], markers),
            log_dir=log_dir,
            max_concurrency=2,
            on_result=lambda r: seen.append(r.benchmark_id),
            ray=RayOptions(address=address, max_retries=max_retries),
        )
    )
    return {
        "planned": [b.id for b in benches],
        "seen": seen,
        "results": [
            {
                "benchmark_id": r.benchmark_id,
                "status": str(r.status),
                "passed": r.passed,
                "error": r.error,
                "session_file": str(r.session_file) if r.session_file else None,
            }
            for r in suite.results
        ],
    }


if __name__ == "__main__":
    # `python -m helpers.ray_agents AGENT MARKERS LOG_DIR ADDRESS COUNT [MAX_RETRIES]`: the Ray
    # driver tests run in a process of their own, not in pytest's (a Ray driver inside the
    # test process, after hundreds of other tests, was seen to abort the whole session).
    import json
    import sys

    name, markers_dir, log, where, n, *retries = sys.argv[1:]
    out = drive(name, Path(markers_dir), Path(log), where, int(n), *(int(r) for r in retries))
    print(json.dumps(out))
