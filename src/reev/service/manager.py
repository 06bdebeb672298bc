"""The execution manager: a queue, a concurrency limit, one subprocess per execution.

The API process never runs an agent itself. Each execution is `python -m reev.cli run FILE
--execution-id ID --events …` in its own process group; the manager owns every status write:

    Queued (submit) → Running (process started) → Completed | Failed   (session file + exit code)
                                                 → Timeout             (deadline: group killed)
                                                 → Cancelled           (stop: group killed)

Live events arrive as JSON lines on the child's stdout and are fanned out to subscribers (the
SSE endpoint); the database gets progress and a heartbeat. On start the manager reconciles what a
previous server left Queued or Running: those rows become Failed ("interrupted: server
restarted"), or are queued again with `requeue`. Status transitions are guarded updates, so a
stop racing a completion can only ever produce one of them.

What a child prints cannot break it (issue 16): a line over `max_event_line_bytes` or a JSON
line that is not a live event kills the child, and the execution ends Failed saying so; the
deadline covers the whole run, reading included. Database errors are retried (the status
writes wait for the database to come back; `degraded` says why on `/health`), so a full disk
or a lock leaves no execution Queued or Running for good. `begin_shutdown` (SIGTERM) starts
nothing new, cancels what runs and ends every event stream; queued executions stay Queued.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from reev.events import (
    EpisodeFinished,
    EventParseError,
    ExecutionStatus,
    LiveEvent,
    StatusEvent,
    parse_event,
)
from reev.runner.session import read_session, session_path
from reev.service.settings import ServiceSettings
from reev.store import repository as repo

log = logging.getLogger(__name__)
Status = ExecutionStatus
EventListener = Callable[[str, LiveEvent], None]

CLOSED_EVENT_LOGS_KEPT = 1_000  # finished executions whose event history stays in memory
SHUTDOWN_GRACE_S = 2.0  # SIGTERM to a run's process group, then SIGKILL after this
T = TypeVar("T")


class QueueFull(Exception):
    """More executions than `max_queued` would wait."""

    def __init__(self, queued: int):
        super().__init__(f"{queued} executions queued")
        self.queued = queued


class ChildMisbehaved(Exception):
    """What a child printed cannot be an event stream; the message says what."""


@dataclass
class Job:
    execution_id: str
    benchmark_file: Path
    agent: str
    model: str | None
    seed: int
    profile: str
    epoch: int = 0
    benchmark_id: str = ""
    stop_requested: bool = False
    server_stopping: bool = False
    misbehaved: str | None = None
    process: asyncio.subprocess.Process | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class EventLog:
    """Events of one execution: a bounded history plus live subscriber queues."""

    history: list[LiveEvent] = field(default_factory=list)
    subscribers: set[asyncio.Queue[LiveEvent | None]] = field(default_factory=set)
    closed: bool = False


class ExecutionManager:
    def __init__(self, settings: ServiceSettings, sessions: sessionmaker[Session]):
        self.settings = settings
        self.sessions = sessions
        self.queue: asyncio.Queue[Job] = asyncio.Queue()
        self.jobs: dict[str, Job] = {}
        self.events: dict[str, EventLog] = {}
        self._workers: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        # Called as listener(execution_id, event) for every event of every execution (the
        # dashboard's live view). Always on the event loop (_require_loop); a listener must not raise.
        self.listeners: list[EventListener] = []
        self._closed_logs: collections.deque[str] = collections.deque()
        self.closing = False  # SIGTERM: nothing new starts or is accepted
        self.degraded: str | None = None  # the last database failure, until a write succeeds
        self._reserved = 0  # queue places taken by submissions still writing their rows
        self._drained: asyncio.Event | None = None
        self._drain_task: asyncio.Future[None] | None = None

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        for job in await self._db(self.reconcile):
            self._enqueue(job)  # on the loop: asyncio queues are not thread-safe
        for index in range(self.settings.max_concurrency):
            self._workers.append(asyncio.create_task(self._worker(), name=f"reev-worker-{index}"))

    def begin_shutdown(self) -> None:
        """SIGTERM's first step (safe to call from a signal handler on the loop's thread): stop
        accepting and starting work, cancel running executions, end every event stream, so the
        HTTP server's connection drain does not wait on an SSE client."""
        if self._loop is None or self.closing:
            return
        self.closing = True
        self._loop.call_soon_threadsafe(self._start_drain)

    def _start_drain(self) -> None:
        if self._drained is None:
            self._drained = asyncio.Event()
            self._drain_task = asyncio.ensure_future(self._drain(self._drained))

    async def _drain(self, drained: asyncio.Event) -> None:
        try:
            await self._cancel_all()
        finally:
            drained.set()

    async def _cancel_all(self) -> None:
        running = [j for j in self.jobs.values() if j.process is not None]
        for job in running:
            job.server_stopping = True
            if job.process is not None and job.process.returncode is None:
                _signal_group(job.process.pid, signal.SIGTERM)
        waits = [asyncio.create_task(job.done.wait()) for job in running]
        if waits:
            _, pending = await asyncio.wait(waits, timeout=SHUTDOWN_GRACE_S)
            for job in running:
                if job.process is not None and job.process.returncode is None:
                    _kill_group(job.process.pid)
            if pending:
                await asyncio.wait(pending, timeout=SHUTDOWN_GRACE_S)
        # Queued executions stay Queued in the database (the next start fails them as
        # interrupted, or runs them with --requeue); their streams end with that status.
        for execution_id, log_ in list(self.events.items()):
            waiting = self.jobs.get(execution_id)
            if not log_.closed and waiting is not None and waiting.process is None:
                self._finish_events(execution_id, Status.QUEUED)

    async def shutdown(self) -> None:
        self.begin_shutdown()
        if self._loop is not None:
            self._start_drain()
        if self._drained is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._drained.wait(), timeout=3 * SHUTDOWN_GRACE_S)
        for task in self._workers:
            task.cancel()
        for job in list(self.jobs.values()):  # a run the drain could not see end
            if job.process is not None and job.process.returncode is None:
                _kill_group(job.process.pid)
                with contextlib.suppress(SQLAlchemyError, OSError):
                    await asyncio.to_thread(
                        self._transition, job.execution_id, Status.CANCELLED, SERVER_STOPPED
                    )
        for task in self._workers:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # ------------------------------------------------------------------ the database

    async def _db(self, fn: Callable[..., T], *args: object, retry: bool = True) -> T:
        """`fn(*args)` in a worker thread (never a database call on the event loop). A database
        or disk error marks the manager degraded and, with `retry`, is retried with a growing
        pause until it succeeds: the status writes of an execution must land eventually."""
        pause = self.settings.db_retry_first_s
        while True:
            try:
                value = await asyncio.to_thread(fn, *args)
            except (SQLAlchemyError, OSError) as exc:
                self.degraded = f"database error: {database_error_reason(exc)}"
                if not retry:
                    raise
                log.warning("execution manager: %s; retrying in %.1f s", self.degraded, pause)
                await asyncio.sleep(pause)
                pause = min(self.settings.db_retry_max_s, pause * 2)
                continue
            self.degraded = None
            return value

    def _transition(self, execution_id: str, status: ExecutionStatus, error: str | None) -> bool:
        with self.sessions.begin() as session:
            return repo.transition(session, execution_id, status, error=error)

    def reconcile(self) -> list[Job]:
        """Executions a previous server left unfinished: fail them, or return them to re-queue."""
        requeued: list[Job] = []
        with self.sessions.begin() as session:
            for row in repo.active_executions(session):
                if row.execution_id in self.jobs:
                    continue
                if (
                    row.worker_pid
                    and _alive(row.worker_pid)
                    and _is_our_child(row.worker_pid, row.execution_id)
                ):
                    _kill_group(row.worker_pid)  # an orphan nobody will read: stop it
                if self.settings.requeue:
                    benchmark = repo.get_benchmark(session, row.benchmark_id)
                    if benchmark is not None and benchmark.file_path:
                        repo.reset_to_queued(session, row.execution_id)
                        requeued.append(
                            Job(
                                row.execution_id,
                                Path(benchmark.file_path),
                                row.agent,
                                row.model,
                                row.seed,
                                row.profile,
                                row.epoch,
                                row.benchmark_id,
                            )
                        )
                        continue
                repo.transition(
                    session, row.execution_id, Status.FAILED, error="interrupted: server restarted"
                )
        return requeued

    # ------------------------------------------------------------------ submit / stop

    def queued_count(self) -> int:
        """Executions waiting to start (or being submitted)."""
        waiting = sum(1 for j in self.jobs.values() if j.process is None and not j.stop_requested)
        return waiting + self._reserved

    async def submit_many(
        self,
        *,
        benchmarks: Sequence[tuple[str, Path]],
        agent: str,
        model: str | None,
        seed: int,
        profile: str,
        epochs: int = 1,
        run: dict[str, Any] | None = None,
    ) -> list[str]:
        """Queue `epochs` executions (epoch 0, 1, …) of each (benchmark id, file), in that
        order: all of them, or none and `QueueFull`. With `run` (RunRow's columns) the run's
        row is inserted in the same transaction as its executions, which carry its id. The queue
        places are taken before the rows are written, so concurrent submissions cannot
        overshoot `max_queued` together."""
        count = len(benchmarks) * epochs
        queued = self.queued_count()
        if queued + count > self.settings.max_queued:
            raise QueueFull(queued)
        self._reserved += count
        try:
            jobs = [
                Job(str(uuid.uuid4()), path, agent, model, seed, profile, epoch, benchmark_id)
                for benchmark_id, path in benchmarks
                for epoch in range(epochs)
            ]
            await self._db(self._create_rows, jobs, run, retry=False)
        finally:
            self._reserved -= count
        for job in jobs:
            self._enqueue(job)
            self._publish(job.execution_id, StatusEvent(status=Status.QUEUED))
        return [job.execution_id for job in jobs]

    def _create_rows(self, jobs: list[Job], run: dict[str, Any] | None) -> None:
        with self.sessions.begin() as session:
            if run is not None:
                repo.create_run(session, **run)
            for job in jobs:
                repo.create_execution(
                    session,
                    execution_id=job.execution_id,
                    benchmark_id=job.benchmark_id,
                    agent=job.agent,
                    model=job.model,
                    seed=job.seed,
                    profile=job.profile,
                    epoch=job.epoch,
                    source="api",
                    run_id=None if run is None else run["run_id"],
                )

    def _enqueue(self, job: Job) -> None:
        self._require_loop()
        self.jobs[job.execution_id] = job
        self.events.setdefault(job.execution_id, EventLog())
        self.queue.put_nowait(job)

    async def stop(self, execution_id: str) -> bool:
        """Stop an execution: a queued one never starts, a running one's group is killed."""
        job = self.jobs.get(execution_id)
        if job is None:
            return False
        job.stop_requested = True
        if job.process is None:
            stopped = await self._db(
                self._transition, execution_id, Status.CANCELLED, "stopped before it started"
            )
            if stopped:
                self._finish_events(execution_id, Status.CANCELLED)
            return stopped
        if job.process.returncode is None:
            _kill_group(job.process.pid)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                job.done.wait(), timeout=10
            )  # the status says Cancelled on return
        return True

    # ------------------------------------------------------------------ events

    def _require_loop(self) -> None:
        """The job queue and the subscribers' queues are asyncio objects: touched from another
        thread they lose wake-ups (a run left Queued, an SSE stream that never ends) and, under
        uvloop, race libuv itself. Fail loudly instead."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if self._loop is not None and running is not self._loop:
            raise RuntimeError(
                "the execution manager must be called on its event loop, not from a thread"
            )

    def _publish(self, execution_id: str, event: LiveEvent) -> None:
        self._require_loop()
        log_ = self.events.setdefault(execution_id, EventLog())
        log_.history.append(event)
        del log_.history[: -self.settings.events_history]
        for queue in list(log_.subscribers):
            queue.put_nowait(event)
        for listener in list(self.listeners):
            listener(execution_id, event)

    def _finish_events(self, execution_id: str, status: ExecutionStatus) -> None:
        self._publish(execution_id, StatusEvent(status=status, final=True))
        log_ = self.events.setdefault(execution_id, EventLog())
        log_.closed = True
        for queue in list(log_.subscribers):
            queue.put_nowait(None)
        # Keep the histories of recent executions only; an old one's stream is its final status,
        # read from the database.
        self._closed_logs.append(execution_id)
        while len(self._closed_logs) > CLOSED_EVENT_LOGS_KEPT:
            old = self._closed_logs.popleft()
            if old in self.events and not self.events[old].subscribers:
                del self.events[old]

    async def subscribe(self, execution_id: str) -> AsyncIterator[LiveEvent]:
        """Everything so far, then live events until the execution ends."""
        log_ = self.events.setdefault(execution_id, EventLog())
        queue: asyncio.Queue[LiveEvent | None] = asyncio.Queue()
        backlog = list(log_.history)
        closed = log_.closed or self.closing  # after SIGTERM a new stream is its backlog only
        log_.subscribers.add(queue)
        try:
            for event in backlog:
                yield event
            if closed:
                return
            while (live := await queue.get()) is not None:
                yield live
        finally:
            log_.subscribers.discard(queue)

    # ------------------------------------------------------------------ workers

    async def _worker(self) -> None:
        while not self.closing:
            job = await self.queue.get()
            try:
                if self.closing:  # SIGTERM while it waited: it stays Queued for the next start
                    continue
                if not job.stop_requested:
                    await self._run(job)
            except asyncio.CancelledError:
                raise
            except Exception:  # never let one execution kill the worker
                log.exception("execution %s crashed the manager", job.execution_id)
                await self._db(
                    self._transition,
                    job.execution_id,
                    Status.FAILED,
                    "internal error in the execution manager",
                )
                self._finish_events(job.execution_id, Status.FAILED)
                self.jobs.pop(job.execution_id, None)
            finally:
                job.done.set()
                self.queue.task_done()

    def _command(self, job: Job) -> list[str]:
        command = [
            sys.executable,
            "-m",
            "reev.cli",
            "run",
            str(job.benchmark_file),
            "--execution-id",
            job.execution_id,
            "--agent",
            job.agent,
            "--seed",
            str(job.seed),
            "--profile",
            job.profile,
            "--log-dir",
            str(self.settings.log_dir),
            "--events",
        ]
        if job.model:
            command += ["--model", job.model]
        if (
            job.epoch
        ):  # epoch k of a multi-epoch request: its own derived seed, as `reev run --epochs`
            command += ["--first-epoch", str(job.epoch)]
        if self.settings.executor == "ray":  # the episode runs as a Ray task on the cluster
            command += ["--executor", "ray"]
            if self.settings.ray_address:
                command += ["--ray-address", self.settings.ray_address]
        return command

    async def _run(self, job: Job) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
        process = await asyncio.create_subprocess_exec(
            *self._command(job),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,  # its own process group: stop and timeout kill everything it spawned
            env=env,
            limit=self.settings.max_event_line_bytes,  # readline's bound: one event line
        )
        job.process = process
        started = await self._db(self._start_row, job.execution_id, process.pid)
        if not started or self.closing:  # stopped in between, or SIGTERM: nothing may run
            _kill_group(process.pid)
            await process.wait()
            if self.closing and started:
                job.server_stopping = True
                await self._finish(job, process.returncode, "", timed_out=False)
            return
        self._publish(job.execution_id, StatusEvent(status=Status.RUNNING, pid=process.pid))
        stderr_task = (
            asyncio.create_task(_tail(process.stderr, STDERR_KEPT_BYTES))
            if process.stderr
            else None
        )
        timed_out = False
        try:
            # The deadline covers the reading and the exit both: a child that closes its stdout
            # and lingers is still killed on time.
            await asyncio.wait_for(
                self._pump_and_wait(job, process), timeout=self.settings.execution_timeout_s
            )
        except TimeoutError:
            timed_out = True
            _kill_group(process.pid)
            await process.wait()
        except ChildMisbehaved as exc:
            job.misbehaved = str(exc)
            log.warning("execution %s: %s; process group killed", job.execution_id, exc)
            _kill_group(process.pid)
            await process.wait()
        stderr = (await stderr_task).decode("utf-8", "replace") if stderr_task else ""
        await self._finish(job, process.returncode, stderr, timed_out)

    async def _finish(self, job: Job, returncode: int | None, stderr: str, timed_out: bool) -> None:
        status = await self._db(self._conclude, job, returncode, stderr, timed_out)
        self._finish_events(
            job.execution_id, status
        )  # back on the loop: subscribers' queues are asyncio's
        self.jobs.pop(job.execution_id, None)

    def _start_row(self, execution_id: str, pid: int) -> bool:
        with self.sessions.begin() as session:
            return repo.transition(session, execution_id, Status.RUNNING, worker_pid=pid)

    async def _pump_and_wait(self, job: Job, process: asyncio.subprocess.Process) -> None:
        await self._pump(job, process)
        await process.wait()

    async def _pump(self, job: Job, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        events = 0
        limit = self.settings.max_event_line_bytes
        while True:
            try:
                line = await process.stdout.readline()
            except (ValueError, asyncio.LimitOverrunError):  # asyncio's "chunk exceed the limit"
                raise ChildMisbehaved(
                    f"the run printed an event line over {limit} bytes (the limit)"
                ) from None
            if not line:
                return
            try:
                event = parse_event(line)
            except EventParseError as exc:
                if line.lstrip().startswith(b"{"):  # meant as an event, and not one: refuse
                    raise ChildMisbehaved(
                        f"the run printed a malformed event line: {exc}"
                    ) from None
                # a stray print, say: the stream carries events only
                log.debug("execution %s: skipped a stdout line: %s", job.execution_id, exc)
                continue
            events += 1
            self._publish(job.execution_id, event)
            progress = 0.95 if isinstance(event, EpisodeFinished) else min(0.9, 0.1 + 0.05 * events)
            with contextlib.suppress(SQLAlchemyError, OSError):  # progress is best effort
                await self._db(self._heartbeat, job.execution_id, progress, retry=False)

    def _heartbeat(self, execution_id: str, progress: float) -> None:
        with self.sessions.begin() as session:
            repo.heartbeat(session, execution_id, progress)

    def _conclude(
        self, job: Job, returncode: int | None, stderr: str, timed_out: bool
    ) -> ExecutionStatus:
        """Store the result and the final status (in a worker thread); returns that status."""
        path = session_path(self.settings.log_dir, job.execution_id)
        record = None
        status: ExecutionStatus
        error: str | None
        if path.exists():
            with contextlib.suppress(ValidationError, OSError, ValueError):
                record = read_session(path)
        with self.sessions.begin() as session:
            if record is not None:
                repo.store_session(session, record, str(path))
            if job.stop_requested:
                status, error = Status.CANCELLED, "stopped by request"
            elif job.server_stopping and record is None:
                status, error = Status.CANCELLED, SERVER_STOPPED
            elif job.misbehaved is not None:
                status, error = Status.FAILED, f"{job.misbehaved}; process group killed"
            elif timed_out:
                status, error = (
                    Status.TIMEOUT,
                    f"no result within {self.settings.execution_timeout_s:.0f} s; process group killed",
                )
            elif record is not None:
                status, error = record.final_result.status, record.error
            elif returncode == 0:
                # The run finished and wrote its result, and the file is gone (or unreadable)
                # now: the agent did not fail, the result was lost.
                status, error = (
                    Status.FAILED,
                    f"result lost: the run exited 0 but its session file {path} "
                    + ("is unreadable" if path.exists() else "is missing")
                    + "; the agent's outcome is unknown",
                )
            else:
                tail = stderr.strip().splitlines()[-3:]
                how = (
                    f"killed by signal {-returncode}"
                    if returncode is not None and returncode < 0
                    else f"exited with code {returncode}"
                )
                status, error = (
                    Status.FAILED,
                    f"the run {how} without a result" + (f": {' | '.join(tail)}" if tail else ""),
                )
            if not repo.transition(session, job.execution_id, status, error=error):
                current = repo.get_execution(session, job.execution_id)
                status = current.status if current else status
        return status


def database_error_reason(exc: BaseException) -> str:
    """The first line of the driver's message ("database or disk is full", "database is
    locked"): no SQL, no parameters."""
    cause = getattr(exc, "orig", None) or exc
    text = str(cause).strip()
    return text.splitlines()[0] if text else type(cause).__name__


SERVER_STOPPED = "cancelled: the server stopped"
STDERR_KEPT_BYTES = 64 * 1024  # the end of a child's stderr, for the error message


def _kill_group(pid: int) -> None:
    _signal_group(pid, signal.SIGKILL)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


async def _tail(stream: asyncio.StreamReader, keep: int) -> bytes:
    """Read a stream to its end, keeping its last `keep` bytes (a child's stderr cannot grow
    the server's memory)."""
    kept = b""
    while chunk := await stream.read(65536):
        kept = (kept + chunk)[-keep:]
    return kept


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_our_child(pid: int, execution_id: str) -> bool:
    """Only ever kill a process whose command line names this execution (pids are reused)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"reev.cli" in cmdline and execution_id.encode() in cmdline
