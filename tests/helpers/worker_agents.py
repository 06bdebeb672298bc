"""Agents for the worker-process tests: module-level classes, so a worker process can unpickle
them (tests/test_workers.py)."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal

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
