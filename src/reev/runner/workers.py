"""Episodes in worker processes: a suite on every core, and more model calls than one process
can drive.

One Python process runs one episode's CPU work at a time: the deterministic agent gains nothing
from `--max-concurrency` in-process, and an LLM run at concurrency 32 spends its time on the
SDK and the chain, not waiting on the model (issue 18). `run_in_workers` spreads a suite's
episodes over a pool of processes the runner owns, each running up to `slots` episodes at once
on its own event loop.

What crosses the process boundary, and why it is enough:
- to a worker: the benchmarks (pydantic models), the agent and chain factories (pickled: a
  class, or a picklable callable such as `functools.partial`), the run's parameters, and the
  run span's W3C trace context, so the episodes' spans belong to the run's trace;
- back: each `EpisodeResult` as it finishes and every live event, through one queue. Session
  files are written by the worker into the same log directory, as in-process.
Seeds are per (run seed, benchmark, epoch), so an episode gives the same addresses, signatures
and session file whichever process runs it. A worker that dies (killed, out of memory) fails
the episodes it was running as infrastructure failures; the rest of the run goes on.
"""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
import os
import pickle
import queue
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import Any

from opentelemetry import propagate
from opentelemetry.context import Context
from opentelemetry.trace import Tracer

from reev.agents.base import Agent
from reev.chain.protocol import Chain
from reev.errors import InputError
from reev.events import ExecutionStatus
from reev.runner.episode import EpisodeResult, EventSink, run_episode
from reev.runner.schedule import start_order
from reev.scoring import Profile
from reev.spec.models import Benchmark

# How often the parent looks at its workers while no message arrives: a worker that died
# without a word is noticed within this time.
_POLL_S = 0.2


class WorkerPoolError(InputError):
    """The run cannot be spread over processes as asked (something does not pickle)."""


@dataclass(frozen=True)
class EpisodeTask:
    """One (benchmark, epoch) of the plan, as a worker receives it."""

    index: int
    benchmark: int  # index into the benchmarks every worker got at start
    epoch: int
    seed: int
    execution_id: str | None
    session_file: Path | None = None  # where a run directory wants it (None: LOG_DIR/sessions)


@dataclass(frozen=True)
class RunParameters:
    """What every episode of the run shares (sent once per worker)."""

    benchmarks: list[Benchmark]
    agent_factory: Callable[[], Agent]
    agent_name: str  # as results name it (made once: a failure report must not build agents)
    chain_factory: Callable[[], Chain]
    run_seed: int
    profile: Profile
    log_dir: Path | None
    step_timeout_s: float | None
    forward_events: bool
    trace_jsonl: bool
    trace_carrier: dict[str, str]
    slots: int
    # The parent's environment now: a forkserver started earlier would hand its workers the
    # environment of that time (API keys set since then missing). It goes over the pipe to the
    # worker, as fork or spawn would pass it, and is never written anywhere.
    environment: dict[str, str]


# Model-waiting episodes (an LLM or command agent) one process drives well at once; beyond them
# `reev run --workers auto` adds a process. 16: at --max-concurrency 32 (200 ms per call, the
# bundled suite) one process's loop is busy most of the run, every reply waits for it and the
# episodes stretch (efficiency 0.60-0.66); two warm processes of 16 gave 0.67-0.71 in the same
# runs (scripts/bench_agents.py; design-choices.md "Warm worker processes, 16 model-waiting
# episodes each").
IO_SLOTS_PER_PROCESS = 16


def default_context(preload: tuple[str, ...] = (), *, slots: int = 1) -> BaseContext:
    """forkserver on Linux: workers start from a clean process that has imported reev once
    (fork would copy the parent's threads and open clients; spawn re-imports per worker), and
    the `preload` modules (the agent's: its SDK is imported once, not once per worker). The
    forkserver warms itself for workers of `slots` episodes each (reev.runner.warm), and is
    asked to import the main module once (multiprocessing's own default, which a preload list
    replaces): only Python 3.13.8+ and 3.14 honour that (CPython gh-126631); older ones ignore
    it and each worker still imports the main module itself. It starts with the first worker,
    so the first pool's preload is the process's."""
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    if context.get_start_method() == "forkserver":
        warm = "reev.runner.preload_io_workers" if slots > 1 else "reev.runner.preload_cpu_workers"
        context.set_forkserver_preload(["__main__", "reev.runner.episode", *preload, warm])
    return context


def reev_module_of(factory: object) -> tuple[str, ...]:
    """The reev module that defines `factory` (a class, a function or a partial of one), to
    preload in the forkserver; () for anything else (a user's module is imported by the
    workers when they unpickle the factory, as before)."""
    target = factory.func if isinstance(factory, functools.partial) else factory
    module = getattr(target, "__module__", None)
    return (module,) if isinstance(module, str) and module.startswith("reev.") else ()


def longest_last(
    benchmarks: list[Benchmark], plan: list[EpisodeTask], concurrency: int
) -> list[EpisodeTask]:
    """The plan as a stack to pop episodes from: reev.runner.schedule's start order reversed,
    so the longest expected episodes are handed out first."""
    order = start_order([benchmarks[task.benchmark] for task in plan], concurrency)
    return [plan[k] for k in reversed(order)]


def check_picklable(
    name: str,
    value: object,
    *,
    instead: str = "--workers 1",
    error: type[InputError] = WorkerPoolError,
    to: str = "a worker process",
) -> None:
    """Refuse, naming it, what cannot cross a process boundary (`to`), before any episode."""
    try:
        pickle.dumps(value)
    except Exception as exc:  # pickle raises PicklingError, TypeError, AttributeError…
        raise error(f"{name} cannot be sent to {to} ({exc}): run with {instead}") from None


async def run_in_workers(
    benchmarks: list[Benchmark],
    plan: list[EpisodeTask],
    *,
    workers: int,
    slots: int,
    agent_factory: Callable[[], Agent],
    chain_factory: Callable[[], Chain],
    run_seed: int,
    profile: Profile,
    log_dir: Path | None,
    step_timeout_s: float | None,
    on_event: EventSink | None,
    on_result: Callable[[EpisodeResult], None] | None,
    stop: Callable[[], str | None] | None,
    not_started: Callable[[EpisodeTask, str], EpisodeResult],
    run_context: Context | None,
    trace_jsonl: bool = False,
    context: BaseContext | None = None,
) -> list[EpisodeResult]:
    """Run `plan` on `workers` processes of `slots` concurrent episodes each; results in plan
    order. `stop` is asked before each episode is handed out, as the in-process runner asks
    before it starts one."""
    check_picklable("the agent", agent_factory)
    check_picklable("the chain", chain_factory)
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=run_context)
    params = RunParameters(
        benchmarks=benchmarks,
        agent_factory=agent_factory,
        agent_name=agent_factory().name,
        chain_factory=chain_factory,
        run_seed=run_seed,
        profile=profile,
        log_dir=log_dir,
        step_timeout_s=step_timeout_s,
        forward_events=on_event is not None,
        trace_jsonl=trace_jsonl,
        trace_carrier=carrier,
        slots=max(1, slots),
        environment=dict(os.environ),
    )
    # BaseContext types no Process; its subclasses do
    ctx: Any = context or default_context(reev_module_of(agent_factory), slots=params.slots)
    tasks: Any = ctx.Queue()
    messages: Any = ctx.Queue()
    workers = max(1, min(workers, len(plan)))
    procs = [
        ctx.Process(target=_worker_main, args=(wid, params, tasks, messages), daemon=True)
        for wid in range(workers)
    ]
    results: dict[int, EpisodeResult] = {}
    running: dict[int, dict[int, EpisodeTask]] = {wid: {} for wid in range(workers)}
    window = workers * params.slots  # tasks handed out but not yet finished
    pending = longest_last(benchmarks, plan, window)
    handed = 0
    alive = set(range(workers))
    last_death = "no worker left"
    loop = asyncio.get_running_loop()

    def finish(result: EpisodeResult, index: int) -> None:
        results[index] = result
        if on_result is not None:
            on_result(result)

    closed = False  # the "no more work" sentinel is out

    def refill() -> None:
        nonlocal handed, closed
        while pending and handed - len(results) < window:
            reason = stop() if stop is not None else None
            if reason:
                while pending:
                    task = pending.pop()
                    finish(not_started(task, reason), task.index)
                break
            task = pending.pop()
            tasks.put(task)
            handed += 1
        if not pending and not closed:
            tasks.put(None)  # every slot that reads it puts it back for the next one
            closed = True

    refill()  # before the workers start: the first one ready finds work at once
    for proc in procs:
        proc.start()
    try:
        while len(results) < len(plan):
            try:
                message = await loop.run_in_executor(None, _get, messages)
            except queue.Empty:
                for wid in list(alive):
                    if not procs[wid].is_alive():
                        alive.discard(wid)
                        if procs[wid].exitcode == 0:  # ran out of work and ended
                            continue
                        died = f"worker process {wid} died (exit code {procs[wid].exitcode})"
                        last_death = died
                        for task in running.pop(wid, {}).values():
                            finish(_infrastructure_failure(params, task, died), task.index)
                        refill()
                if not alive and len(results) < len(plan):
                    # No worker left: whatever has no result yet (queued, running, or read by a
                    # worker that died before it could say so) fails, saying why.
                    for task in plan:
                        if task.index not in results:
                            finish(_infrastructure_failure(params, task, last_death), task.index)
                continue
            kind, wid = message[0], message[1]
            if kind == "start":
                task = message[2]
                running.setdefault(wid, {})[task.index] = task
            elif kind == "result":
                index, result = message[2], message[3]
                running.get(wid, {}).pop(index, None)
                finish(result, index)
                refill()
            elif kind == "event" and on_event is not None:
                on_event(message[2])
            elif kind == "crash":  # the worker's own loop failed: its episodes say why
                alive.discard(wid)
                last_death = message[2]
                for task in running.pop(wid, {}).values():
                    finish(_infrastructure_failure(params, task, message[2]), task.index)
                refill()
    finally:
        for proc in procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
                proc.join()
        tasks.close()
        messages.close()
    return [results[task.index] for task in plan]


def _get(messages: Any) -> Any:
    return messages.get(timeout=_POLL_S)


def _infrastructure_failure(params: RunParameters, task: EpisodeTask, why: str) -> EpisodeResult:
    benchmark = params.benchmarks[task.benchmark]
    return EpisodeResult.without_episode(
        benchmark.id,
        task.epoch,
        run_seed=params.run_seed,
        agent=params.agent_name,
        profile=params.profile,
        status=ExecutionStatus.FAILED,
        error=f"infrastructure: {why}",
        expected_outcome=benchmark.expected_outcome,
        execution_id=task.execution_id or "",
    )


# ---------------------------------------------------------------------------- in the worker


async def run_planned(
    params: RunParameters,
    task: EpisodeTask,
    *,
    log_dir: Path | None,
    session_file: Path | None,
    on_event: EventSink,
    tracer: Tracer,
    parent: Context,
) -> EpisodeResult:
    """One episode of the plan from what the run shares, in a process that is not the run's
    (a worker process, a Ray worker): where its files go and where its events and spans go are
    the executor's; `on_event` is used only when the run forwards events."""
    return await run_episode(
        params.benchmarks[task.benchmark],
        params.agent_factory(),
        seed=task.seed,
        run_seed=params.run_seed,
        epoch=task.epoch,
        profile=params.profile,
        execution_id=task.execution_id,
        log_dir=log_dir,
        session_file=session_file,
        step_timeout_s=params.step_timeout_s,
        on_event=on_event if params.forward_events else None,
        tracer=tracer,
        parent=parent,
        chain_factory=params.chain_factory,
    )


def _worker_main(wid: int, params: RunParameters, tasks: Any, messages: Any) -> None:
    os.environ.clear()
    os.environ.update(params.environment)
    try:
        asyncio.run(_worker_loop(wid, params, tasks, messages))
    except BaseException as exc:  # report, then let the process end
        messages.put(("crash", wid, f"worker process {wid} failed: {exc!r}"))
        traceback.print_exc()


async def _worker_loop(wid: int, params: RunParameters, tasks: Any, messages: Any) -> None:
    from reev.telemetry.tracing import NOOP_TRACER, Tracing, otlp_configured

    tracing = None
    if params.log_dir is not None and (params.trace_jsonl or otlp_configured()):
        tracing = Tracing(params.log_dir / "sessions", jsonl=params.trace_jsonl)
    tracer = tracing.tracer if tracing else NOOP_TRACER
    parent = propagate.extract(params.trace_carrier)
    loop = asyncio.get_running_loop()

    def forward(event: Any) -> None:
        messages.put(("event", wid, event))

    async def slot() -> None:
        while True:
            task = await loop.run_in_executor(None, tasks.get)
            if task is None:
                return
            messages.put(("start", wid, task))
            result = await run_planned(
                params,
                task,
                log_dir=params.log_dir,
                session_file=task.session_file,
                on_event=forward,
                tracer=tracer,
                parent=parent,
            )
            messages.put(("result", wid, task.index, result))

    try:
        # One "no more work" per worker: the first slot to read it ends; the others would wait
        # forever, so the sentinel is put back for them.
        async def slot_then_pass_on() -> None:
            await slot()
            tasks.put(None)

        await asyncio.gather(*(slot_then_pass_on() for _ in range(params.slots)))
    finally:
        if tracing is not None:
            tracing.shutdown()


def cpu_count() -> int:
    """Cores this process may use (the affinity mask, not the machine's total)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
