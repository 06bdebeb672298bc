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
- back: each `EpisodeResult` as it finishes and every live event. Session files are written
  by the worker into the same log directory, as in-process.
Every worker has two pipes of its own (tasks in, messages out) and the parent hands out every
task itself: a worker killed mid-message can break only its own pipes, and the parent knows
what it held without the worker having said so. A worker says when it starts an episode.
Seeds are per (run seed, benchmark, epoch), so an episode gives the same addresses, signatures
and session file whichever process runs it. A worker that dies (killed, out of memory) fails
the episodes it had started as infrastructure failures; those it held but had not started go
to the other workers, and the rest of the run goes on.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import multiprocessing
import os
import pickle
import queue
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.context import BaseContext
from multiprocessing.reduction import ForkingPickler
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

# The longest the parent's collector waits for a message or a process's end before it
# returns (a dead process is seen at once through its sentinel): how long a cancelled run
# waits for the collector before it stops the workers.
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
# `reev run --workers auto` adds a process, up to the cores. 8: at --max-concurrency 16 (200 ms
# per call, the bundled suite) one process's loop is busy much of the run and every reply waits
# for it (efficiency 0.65-0.79); two warm workers of 8 gave 0.71-0.86, ahead in every one of
# four interleaved runs (scripts/bench_agents.py; design-choices.md "Two workers of 8 at
# concurrency 16"). At 32 on two cores the pool stops at the cores: two workers of 16, as before.
IO_SLOTS_PER_PROCESS = 8
# Prepared VMs the forkserver of model-waiting workers builds (reev.runner.warm), one per
# episode a worker runs at once: a worker gets more than IO_SLOTS_PER_PROCESS once the pool
# has reached the cores (16 each at --max-concurrency 32 on two cores), and builds any beyond
# these mid-run.
IO_WARM_VMS = 16


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
    size = max(1, min(workers, len(plan)))
    pool: list[_Worker] = []
    results: dict[int, EpisodeResult] = {}
    pending = longest_last(benchmarks, plan, size * params.slots)
    last_death = "no worker left"
    # The collector's own thread: a cancelled run waits for it before it closes the pipes
    # the collector reads.
    collector = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="reev-collect")

    def finish(result: EpisodeResult, index: int) -> None:
        results[index] = result
        if on_result is not None:
            on_result(result)

    def release(worker: _Worker, why: str) -> None:
        """The worker is gone: the episodes it started fail, saying why; those it held but
        never started go back to be handed out again."""
        nonlocal last_death
        worker.alive = False
        last_death = why
        for index, task in worker.held.items():
            if index in worker.begun:
                finish(_infrastructure_failure(params, task, why), index)
            else:
                pending.append(task)
        worker.held.clear()
        worker.begun.clear()

    def refill() -> None:
        """Hand pending episodes to the live workers with free slots (the emptiest first),
        asking `stop` before each; once nothing is pending and every episode handed out has
        started (none can come back to be handed out again), tell every worker so."""
        while pending:
            free = [w for w in pool if w.alive and w.accepts() and len(w.held) < params.slots]
            if not free:
                return
            reason = stop() if stop is not None else None
            if reason:
                while pending:
                    task = pending.pop()
                    finish(not_started(task, reason), task.index)
                break
            worker = min(free, key=lambda w: len(w.held))
            task = pending.pop()
            data = _pickled(task)
            if not worker.room_for(data):  # not started, and its pipe's buffer is spoken for
                pending.append(task)
                continue
            worker.held[task.index] = task
            if not worker.send(data):  # it never got this one; what it has waits for its end
                del worker.held[task.index]
                pending.append(task)
                worker.alive = False
        if pending or any(w.held.keys() - w.begun for w in pool):
            return
        for worker in pool:
            if worker.alive and not worker.told_done:
                worker.told_done = True
                if not worker.send(_pickled(None)):
                    worker.alive = False

    try:
        for wid in range(size):
            pool.append(_Worker.make(ctx, wid, params))
        refill()  # before the workers start: the first one ready finds work at once
        for worker in pool:
            worker.start()
        refill()
        while len(results) < len(plan):
            if pending and not any(w.alive for w in pool):
                # No worker left to hand these to: they fail, saying why.
                while pending:
                    task = pending.pop()
                    finish(_infrastructure_failure(params, task, last_death), task.index)
                continue
            watched = [w for w in pool if w.watched]
            if not watched:
                # No worker process left: whatever has no result yet fails, saying why.
                for task in plan:
                    if task.index not in results:
                        finish(_infrastructure_failure(params, task, last_death), task.index)
                break
            said = await asyncio.wrap_future(collector.submit(_collect, watched))
            for worker, message in said:
                if message is _ENDED:
                    worker.watched = False
                    why = worker.death()  # joins it first: its exit code is known after
                    if worker.held or worker.proc.exitcode != 0:
                        release(worker, why)
                    worker.alive = False  # ran out of work and ended, or already released
                    refill()
                    continue
                kind = message[0]
                if kind == "start":
                    worker.begun.add(message[1])
                    refill()
                elif kind == "result":
                    index = message[1]
                    worker.begun.discard(index)
                    finished = worker.held.pop(index, None)
                    if finished is not None:
                        finish(_result_or_failure(params, finished, message[2]), index)
                    refill()
                elif kind == "event" and on_event is not None:
                    on_event(message[1])
                elif kind == "lost":  # this one episode cannot be reported: it fails, saying why
                    worker.begun.discard(message[1])
                    dropped = worker.held.pop(message[1], None)
                    if dropped is not None:
                        finish(_infrastructure_failure(params, dropped, message[2]), dropped.index)
                    refill()
                elif kind == "crash":  # the worker's own loop failed: its episodes say why
                    release(worker, message[1])
                    refill()
    finally:
        collector.shutdown(wait=True)  # returns within _POLL_S: nothing reads the pipes after
        _stop_all(pool)
    return [results[task.index] for task in plan]


# Bytes of tasks handed to a worker before its process starts (a task is 160-540 bytes
# pickled, with its session file's path): inside the smallest pipe buffer a send may meet
# (4 KiB: Linux past pipe-user-pages-soft; Windows has 8 KiB), so writing to a process that is
# not running yet cannot block. The rest of its slots are filled as soon as it has started.
_BEFORE_START_BYTES = 3072
# A worker's process has ended and every message it sent has been read.
_ENDED = object()


@dataclass(eq=False)
class _Worker:
    """One worker process as the parent sees it: its own two pipes and the episodes it holds.

    Each worker has pipes of its own, not a queue shared with the others: a process killed
    while it writes a message (or holds a shared queue's lock) would otherwise leave the
    others unable to read work or report results, and the run would wait forever. The parent
    hands out every task itself, so it knows what a worker held when it died without the
    worker having had to say so."""

    wid: int
    proc: Any
    to_worker: Connection  # tasks, then None: no more work
    from_worker: Connection  # results, events, a crash report
    ends: tuple[Connection, Connection]  # the worker's ends, closed here once it has them
    held: dict[int, EpisodeTask] = field(default_factory=dict)
    begun: set[int] = field(default_factory=set)  # the held episodes it has said it started
    room: int = _BEFORE_START_BYTES  # what its task pipe surely takes before it starts
    full: bool = False  # not started, and a task did not fit in `room`
    started: bool = False
    alive: bool = True  # may be handed work
    watched: bool = True  # its process has not been seen to end
    told_done: bool = False

    @classmethod
    def make(cls, ctx: Any, wid: int, params: RunParameters) -> _Worker:
        task_reader, task_writer = ctx.Pipe(duplex=False)
        message_reader, message_writer = ctx.Pipe(duplex=False)
        proc = ctx.Process(
            target=_worker_main, args=(wid, params, task_reader, message_writer), daemon=True
        )
        return cls(wid, proc, task_writer, message_reader, (task_reader, message_writer))

    def accepts(self) -> bool:
        """Whether it may be handed more now (slots aside): before it starts, only while its
        pipe's buffer surely takes it (a send must not wait for a process not running yet)."""
        return self.started or not self.full

    def room_for(self, data: bytes) -> bool:
        """Whether `data` may be sent now; before the start, it is counted against `room`."""
        if self.started:
            return True
        if len(data) > self.room:
            self.full = True
            return False
        self.room -= len(data)
        return True

    def start(self) -> None:
        self.proc.start()
        self.started = True
        for end in self.ends:  # the worker has its own copies: its death now reads as EOF
            end.close()

    def send(self, data: bytes) -> bool:
        """Hand the worker a pickled task (or None: no more work), as Connection.send would;
        False if its pipe is broken."""
        try:
            self.to_worker.send_bytes(data)
        except (OSError, EOFError):
            return False
        return True

    def death(self) -> str:
        """Why this worker is gone, once its process has ended (a live one that can no
        longer be reached is killed: nobody could read what it did)."""
        self.proc.join(timeout=1)
        if self.proc.exitcode is None:
            self.proc.kill()
            self.proc.join()
            return f"worker process {self.wid} could not be reached and was stopped"
        if self.proc.exitcode == 0:
            return f"worker process {self.wid} ended before reporting its episodes"
        return f"worker process {self.wid} died (exit code {self.proc.exitcode})"

    def close(self) -> None:
        for end in (self.to_worker, self.from_worker, *self.ends):
            end.close()


def _stop_all(pool: list[_Worker], grace_s: float = 5.0) -> None:
    """End every worker: their task pipes close first, so a worker still running (the run was
    cancelled) takes no more work and finishes what it has; together they get `grace_s`,
    then whatever still runs is killed."""
    for worker in pool:
        worker.to_worker.close()
    deadline = time.monotonic() + grace_s
    for worker in pool:
        if worker.proc.pid is None:  # never started
            continue
        worker.proc.join(timeout=max(0.0, deadline - time.monotonic()))
        if worker.proc.is_alive():
            worker.proc.kill()
            worker.proc.join()
    for worker in pool:
        worker.close()


def _collect(workers: list[_Worker]) -> list[tuple[_Worker, Any]]:
    """What the workers have said, waiting up to _POLL_S for anything (run in a thread): every
    whole message ready on their pipes, and _ENDED for each whose process has ended, after the
    last message it sent. A pipe that cannot be read (a message cut off by a kill) ends the
    worker's reading there; a whole message that does not unpickle (an event: a result's
    payload is unpickled apart, _result_or_failure) is dropped, and the worker goes on."""
    by_handle: dict[Any, _Worker] = {}
    for worker in workers:
        by_handle[worker.from_worker] = worker
        by_handle[worker.proc.sentinel] = worker
    ready = {by_handle[handle] for handle in wait(list(by_handle), timeout=_POLL_S)}
    said: list[tuple[_Worker, Any]] = []
    for worker in workers:
        if worker not in ready:
            continue
        ended = not worker.proc.is_alive()
        while worker.from_worker.poll():
            try:
                data = worker.from_worker.recv_bytes()
            except (EOFError, OSError):  # the pipe's end, or a message cut off by a kill
                ended = True
                break
            try:
                said.append((worker, pickle.loads(data)))
            except Exception:  # pickle raises many kinds; an event is dropped, as in the worker
                traceback.print_exc()
        if ended:
            said.append((worker, _ENDED))
    return said


def _pickled(task: EpisodeTask | None) -> bytes:
    """A task as Connection.send would pickle it: sent with send_bytes once its size is known."""
    return bytes(ForkingPickler.dumps(task))


def _result_or_failure(params: RunParameters, task: EpisodeTask, payload: bytes) -> EpisodeResult:
    """The episode's result from its pickled payload, or its failure if the payload does not
    unpickle here: the result travels pickled apart so that its index is always read, and the
    run never waits for an episode whose result it could not read."""
    try:
        result: EpisodeResult = pickle.loads(payload)
    except Exception as exc:  # pickle raises many kinds
        return _infrastructure_failure(params, task, f"its result could not be read: {exc!r}")
    return result


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


def _worker_main(wid: int, params: RunParameters, tasks: Connection, messages: Connection) -> None:
    os.environ.clear()
    os.environ.update(params.environment)
    outbox = _Outbox(messages)
    try:
        asyncio.run(_worker_loop(wid, params, tasks, outbox))
    except BaseException as exc:  # report, then let the process end
        outbox.put(("crash", f"worker process {wid} failed: {exc!r}"))
        traceback.print_exc()
    finally:
        outbox.close()


class _Outbox:
    """The worker's messages to the parent, sent by a thread of their own, in order: the
    episodes' event loop never waits on the pipe (a parent busy with a result), as with a
    multiprocessing.Queue, but the pipe is this worker's alone."""

    _CLOSE = object()

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._send_all, name="reev-outbox", daemon=True)
        self._thread.start()

    def put(self, message: tuple[Any, ...], *, then: Callable[[], None] | None = None) -> None:
        """Queue `message`; `then` is called (in the sender thread) once it is in the pipe, or
        once it cannot be, the parent being gone."""
        self._queue.put((message, then))

    async def sent(self, message: tuple[Any, ...]) -> None:
        """Send `message` and wait until it is in the pipe: what the parent reads even if this
        process is killed the next instant."""
        loop = asyncio.get_running_loop()
        done = loop.create_future()

        def settle() -> None:
            if not done.done():
                done.set_result(None)

        def wake() -> None:
            with contextlib.suppress(RuntimeError):  # the loop ended meanwhile: nobody waits
                loop.call_soon_threadsafe(settle)

        self.put(message, then=wake)
        await done

    def close(self) -> None:
        """Send what is queued, then close: called last, before the process ends."""
        self._queue.put(self._CLOSE)
        self._thread.join()
        self._connection.close()

    def _send_all(self) -> None:
        gone = False  # the parent: nothing more is sent, but whoever waits is still woken
        while (item := self._queue.get()) is not self._CLOSE:
            message, then = item
            try:
                if not gone:
                    gone = not self._send(message)
            finally:
                if then is not None:
                    then()

    def _send(self, message: tuple[Any, ...]) -> bool:
        """False once the parent is gone."""
        try:
            if message[0] == "result":  # pickled apart: the parent reads the index whatever
                message = ("result", message[1], pickle.dumps(message[2]))
            data = pickle.dumps(message)
        except Exception as exc:  # a result or event that does not pickle
            traceback.print_exc()
            if message[0] != "result":
                return True  # an event is dropped, as a multiprocessing.Queue would drop it
            data = pickle.dumps(("lost", message[1], f"its result cannot be sent: {exc!r}"))
        try:
            self._connection.send_bytes(data)
        except OSError:  # the parent is gone: nobody to tell
            return False
        except Exception:  # nothing else is expected; the sender must go on waking waiters
            traceback.print_exc()
            return False
        return True


async def _worker_loop(wid: int, params: RunParameters, tasks: Connection, outbox: _Outbox) -> None:
    """Run every task the parent sends, each as soon as it arrives (the parent sends no more
    than `slots` at a time), until it sends None; then finish the episodes in flight."""
    from reev.telemetry.tracing import NOOP_TRACER, Tracing, otlp_configured

    tracing = None
    if params.log_dir is not None and (params.trace_jsonl or otlp_configured()):
        tracing = Tracing(params.log_dir / "sessions", jsonl=params.trace_jsonl)
    tracer = tracing.tracer if tracing else NOOP_TRACER
    parent = propagate.extract(params.trace_carrier)
    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue[EpisodeTask | None] = asyncio.Queue()

    def read_tasks() -> None:  # a thread: the pipe blocks, the loop must not
        while True:
            try:
                task = tasks.recv()
            except (EOFError, OSError):  # the parent is gone: stop taking work
                task = None
            try:
                loop.call_soon_threadsafe(inbox.put_nowait, task)
            except RuntimeError:  # the loop has ended: a closed pipe tells the parent at once
                tasks.close()
                return
            if task is None:
                return

    def forward(event: Any) -> None:
        outbox.put(("event", event))

    async def episode(task: EpisodeTask) -> None:
        # Said before it begins, and in the pipe: an episode the parent has not heard of
        # starting never ran, so it may go to another worker; one that kills this process
        # does not get to kill the next.
        await outbox.sent(("start", task.index))
        try:
            result = await run_planned(
                params,
                task,
                log_dir=params.log_dir,
                session_file=task.session_file,
                on_event=forward,
                tracer=tracer,
                parent=parent,
            )
        # This episode fails, the worker's other episodes go on (a CancelledError from inside
        # an episode too: it must not end the worker's loop).
        except (Exception, asyncio.CancelledError) as exc:
            traceback.print_exc()
            outbox.put(("lost", task.index, f"worker process {wid}: the episode raised {exc!r}"))
            return
        outbox.put(("result", task.index, result))

    threading.Thread(target=read_tasks, name="reev-tasks", daemon=True).start()
    running: set[asyncio.Task[None]] = set()
    try:
        while (task := await inbox.get()) is not None:
            job = asyncio.create_task(episode(task))
            running.add(job)
            job.add_done_callback(running.discard)
        await asyncio.gather(*running, return_exceptions=True)
    finally:
        if tracing is not None:
            tracing.shutdown()


def cpu_count() -> int:
    """Cores this process may use (the affinity mask, not the machine's total)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
