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
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError
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


@dataclass
class Job:
    execution_id: str
    benchmark_file: Path
    agent: str
    model: str | None
    seed: int
    profile: str
    epoch: int = 0
    stop_requested: bool = False
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

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        for job in await asyncio.to_thread(self.reconcile):
            self._enqueue(job)  # on the loop: asyncio queues are not thread-safe
        for index in range(self.settings.max_concurrency):
            self._workers.append(asyncio.create_task(self._worker(), name=f"reev-worker-{index}"))

    async def shutdown(self) -> None:
        for task in self._workers:
            task.cancel()
        for job in list(self.jobs.values()):
            if job.process is not None and job.process.returncode is None:
                _kill_group(job.process.pid)
                with self.sessions.begin() as session:
                    repo.transition(
                        session,
                        job.execution_id,
                        Status.FAILED,
                        error="interrupted: server stopped",
                    )
        for task in self._workers:
            with contextlib.suppress(asyncio.CancelledError):
                await task

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
                            )
                        )
                        continue
                repo.transition(
                    session, row.execution_id, Status.FAILED, error="interrupted: server restarted"
                )
        return requeued

    # ------------------------------------------------------------------ submit / stop

    def submit(
        self,
        *,
        benchmark_id: str,
        benchmark_file: Path,
        agent: str,
        model: str | None,
        seed: int,
        profile: str,
        epoch: int = 0,
    ) -> str:
        execution_id = str(uuid.uuid4())
        with self.sessions.begin() as session:
            repo.create_execution(
                session,
                execution_id=execution_id,
                benchmark_id=benchmark_id,
                agent=agent,
                model=model,
                seed=seed,
                profile=profile,
                epoch=epoch,
                source="api",
            )
        self._enqueue(Job(execution_id, benchmark_file, agent, model, seed, profile, epoch))
        self._publish(execution_id, StatusEvent(status=Status.QUEUED))
        return execution_id

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
            with self.sessions.begin() as session:
                stopped = repo.transition(
                    session, execution_id, Status.CANCELLED, error="stopped before it started"
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
        closed = log_.closed
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
        while True:
            job = await self.queue.get()
            try:
                if not job.stop_requested:
                    await self._run(job)
            except asyncio.CancelledError:
                raise
            except Exception:  # never let one execution kill the worker
                log.exception("execution %s crashed the manager", job.execution_id)
                with self.sessions.begin() as session:
                    repo.transition(
                        session,
                        job.execution_id,
                        Status.FAILED,
                        error="internal error in the execution manager",
                    )
                self._finish_events(job.execution_id, Status.FAILED)
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
        return command

    async def _run(self, job: Job) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
        process = await asyncio.create_subprocess_exec(
            *self._command(job),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,  # its own process group: stop and timeout kill everything it spawned
            env=env,
        )
        job.process = process
        with self.sessions.begin() as session:
            started = repo.transition(
                session, job.execution_id, Status.RUNNING, worker_pid=process.pid
            )
        if not started:  # stopped in between: nothing may run
            _kill_group(process.pid)
            await process.wait()
            return
        self._publish(job.execution_id, StatusEvent(status=Status.RUNNING, pid=process.pid))
        stderr_task = asyncio.create_task(process.stderr.read()) if process.stderr else None
        timed_out = False
        try:
            await asyncio.wait_for(
                self._pump(job, process), timeout=self.settings.execution_timeout_s
            )
            await process.wait()
        except TimeoutError:
            timed_out = True
            _kill_group(process.pid)
            await process.wait()
        stderr = (await stderr_task).decode("utf-8", "replace") if stderr_task else ""
        status = await asyncio.to_thread(self._conclude, job, process.returncode, stderr, timed_out)
        self._finish_events(
            job.execution_id, status
        )  # back on the loop: subscribers' queues are asyncio's
        self.jobs.pop(job.execution_id, None)

    async def _pump(self, job: Job, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        events = 0
        while line := await process.stdout.readline():
            try:
                event = parse_event(line)
            except EventParseError as exc:  # a stray print, say: the stream carries events only
                log.debug("execution %s: skipped a stdout line: %s", job.execution_id, exc)
                continue
            events += 1
            self._publish(job.execution_id, event)
            progress = 0.95 if isinstance(event, EpisodeFinished) else min(0.9, 0.1 + 0.05 * events)
            await asyncio.to_thread(self._heartbeat, job.execution_id, progress)

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
            elif timed_out:
                status, error = (
                    Status.TIMEOUT,
                    f"no result within {self.settings.execution_timeout_s:.0f} s; process group killed",
                )
            elif record is not None:
                status, error = record.final_result.status, record.error
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


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


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
