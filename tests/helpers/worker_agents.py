"""Agents for the worker-process tests: module-level classes, so a worker process can unpickle
them (tests/test_workers.py)."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
from pathlib import Path

from reev.agents.base import AgentTask, ToolBox
from reev.agents.deterministic import DeterministicAgent
from reev.spec.models import ToolCallSpec

DOOMED = "002-spl-transfer"  # the benchmark whose episode kills its worker process


class KillsItsWorker(DeterministicAgent):
    """The oracle, except that on DOOMED it SIGKILLs the process running it: a worker dying
    mid-episode, as the OOM killer would do it."""

    async def run_step(
        self, task: AgentTask, tools: ToolBox, reference: list[ToolCallSpec] | None = None
    ) -> None:
        if task.benchmark_id == DOOMED:
            os.kill(os.getpid(), signal.SIGKILL)
        await super().run_step(task, tools, reference)


class ReportsItsPool(DeterministicAgent):
    """The oracle, which then says in its final answer which process ran it and how many VMs
    that process's pool had built and reused (tests/test_workers.py: warm workers)."""

    async def run_step(
        self, task: AgentTask, tools: ToolBox, reference: list[ToolCallSpec] | None = None
    ) -> None:
        from reev.chain.vm_pool import POOL

        await super().run_step(task, tools, reference)
        tools.set_final_answer(
            json.dumps({"pid": os.getpid(), "created": POOL.created, "reused": POOL.reused})
        )


class CannotBeMadeInAWorker(DeterministicAgent):
    """The oracle in the process that plans the run; in a worker process its constructor
    raises, as an agent whose set-up fails there would (tests/test_workers.py)."""

    def __init__(self) -> None:
        if multiprocessing.parent_process() is not None:
            raise RuntimeError("no agent in this process")
        super().__init__()


def _the_oracle_unless_first(marker: str) -> type[DeterministicAgent]:
    """Unpickled in a worker process: the first one to get here (it creates `marker`) exits
    at once, before it has said anything; every other one gets the oracle."""
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return DeterministicAgent
    os._exit(3)


class EndsTheFirstWorkerToLoadIt:
    """An oracle factory whose unpickling ends the first worker process that loads it: a worker
    that dies while it starts, holding episodes it never began (tests/test_workers.py)."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __call__(self) -> DeterministicAgent:
        return DeterministicAgent()

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (_the_oracle_unless_first, (self.marker,))


def _refuse_to_load() -> None:
    raise RuntimeError("this result does not load here")


class LoadsNowhere:
    """Pickles anywhere, unpickles nowhere: a result the parent cannot read."""

    def __reduce__(self) -> tuple[object, tuple[()]]:
        return (_refuse_to_load, ())
