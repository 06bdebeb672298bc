"""Episodes on Ray: a suite on a cluster (`reev run --executor ray`, issue 21 part 3).

The model is reev.runner.workers, with Ray in place of the runner's own processes: the run
gets one Ray worker process per CPU it may use (an async actor, `_EpisodeRunner`, spread over
the nodes), each running up to `slots` episodes at once on its event loop; every episode is
one actor task, so Ray places, tracks and retries episodes one by one.
- to the cluster: the benchmarks (pydantic models), the agent and chain factories (pickled, as
  for workers) and the run's parameters travel once, as one object in Ray's object store
  (`ray.put`), fetched once per worker process; each episode's task carries only its
  (benchmark, epoch, seed, execution id). The driver's reev version goes with them and every
  episode checks it: a cluster with another reev would score by other rules, so a mismatch
  stops the run with an error naming both.
- the environment an agent needs (API keys: `*_API_KEY`, `*_TOKEN`, `REEV_*`, `OPENAI_*`,
  `OTEL_*`, and `--api-key-env`'s variable) travels inside that object, never as a runtime_env
  (Ray records runtime_envs in its job table and dashboard); the worker process, which serves
  this run only, sets it.
- back: each episode returns its `EpisodeResult`, its events, and, unless the log directory is
  on a path every node shares (`shared_dir`), the text of its session file and JSONL trace,
  which the driver writes into the run's log directory, where a local run would have put them.
  So resume, cache lookups by the driver, reports and `reev serve` read the same files.
- events come back with the result, not live: the driver passes them to `on_event` in order
  as each episode finishes (a queue actor would make them live at the price of one more moving
  part per run; `reev serve` shows an episode's events when it ends).

Retries: a worker process (or node) that dies is restarted by Ray and the episodes it was
running are retried (`max_task_retries`); an exception is never retried (actor tasks do not
retry exceptions unless told) and an agent's failure is no exception at all (run_episode
records it). Seeds are per (run seed, benchmark, epoch), so a retried episode is the same
episode. When Ray gives up, the episode is Failed with `infrastructure: …`, as a dead worker
process fails it in reev.runner.workers.

Ray is imported here only, and only when a run asks for it: reev imports without it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import socket
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from opentelemetry import propagate
from opentelemetry.context import Context

from reev import __version__
from reev.agents.base import Agent
from reev.agents.command import REEV_SETTINGS
from reev.chain.protocol import Chain
from reev.errors import InputError
from reev.events import EpisodeEvent
from reev.files import write_text_atomic
from reev.runner.episode import EpisodeResult, EventSink
from reev.runner.session import session_path
from reev.runner.workers import (
    EpisodeTask,
    RunParameters,
    _infrastructure_failure,
    check_picklable,
    cpu_count,
    longest_last,
    run_planned,
)
from reev.scoring import Profile
from reev.spec.models import Benchmark

# How long the driver waits on Ray at a time: a stop request (Ctrl-C) is noticed within it.
_POLL_S = 0.2
# What an agent may need from the driver's environment on a remote node (keys, endpoints,
# telemetry); PATH, HOME, PYTHONPATH… belong to the node and are never sent.
# The server's own settings (its database URL with a password, its API token) and any other
# token (GITHUB_TOKEN, AWS_SESSION_TOKEN…) are not an agent's and stay on the driver.
_ENV_PREFIXES = ("REEV_", "OPENAI_", "OTEL_")
_ENV_SUFFIXES = ("_API_KEY",)
_ENV_NEVER = frozenset(REEV_SETTINGS)


class RayExecutorError(InputError):
    """The run cannot go to Ray as asked: Ray missing, an agent that does not pickle, another
    reev version on the cluster, a cluster that cannot be reached."""


@dataclass(frozen=True)
class RayOptions:
    """How a run uses Ray. `address` None: a local Ray is started for the run and shut down
    after it (`num_cpus` CPUs, default all this process may use)."""

    address: str | None = None
    shared_dir: bool = False  # the log directory is the same path on every node
    max_retries: int = 3  # per episode, for a worker or node that died
    # Episodes one Ray worker process runs at once on its event loop: 1 for a CPU-bound agent,
    # more for one that waits on its model (`reev run` gives 8, as `--workers auto` does).
    slots: int = 1
    num_cpus: int | None = None
    env_names: tuple[str, ...] = ()  # variables to send beyond the patterns above


@dataclass(frozen=True)
class _RayRun:
    """The object every task of a run reads (put in the object store once)."""

    params: RunParameters
    reev_version: str
    shared_dir: bool


@dataclass
class _Outcome:
    """What a task returns: the result, and what the driver must write for it."""

    result: EpisodeResult | None
    events: list[EpisodeEvent] = field(default_factory=list)
    session: str | None = None  # the session file's text (not shared_dir)
    traces: dict[str, str] = field(default_factory=dict)  # trace file name -> text
    version_error: str | None = None


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise RayExecutorError("--executor ray needs Ray: pip install 'reev[ray]'") from None
    return ray


def environment_to_send(extra: tuple[str, ...] = ()) -> dict[str, str]:
    """The driver's variables an episode may need on another node (never logged)."""
    return {
        name: value
        for name, value in os.environ.items()
        if name in extra
        or (
            name not in _ENV_NEVER
            and not name.startswith("RAY_")  # Ray's own (its auth token among them) stay Ray's
            and (name.startswith(_ENV_PREFIXES) or name.endswith(_ENV_SUFFIXES))
        )
    }


def check_sendable(name: str, value: object) -> None:
    check_picklable(name, value, instead="--executor local", error=RayExecutorError, to="Ray")


def connect(options: RayOptions) -> bool:
    """Connect to `options.address`, or start a local Ray; True when this call did (the caller
    then shuts it down), False when this process is a Ray driver already. A cluster that cannot
    be reached is a `RayExecutorError` naming it."""
    return _start(import_ray(), options)


def _start(ray: Any, options: RayOptions) -> bool:
    if ray.is_initialized():
        return False
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # offline: no usage report
    quiet: dict[str, Any] = {"logging_level": logging.WARNING, "log_to_driver": False}
    try:
        if options.address is not None:
            _probe(options.address)
            ray.init(address=options.address, **quiet)
        else:
            ray.init(
                num_cpus=options.num_cpus or cpu_count(),
                include_dashboard=False,
                **quiet,
            )
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = options.address or "a local Ray"
        raise RayExecutorError(f"cannot start Ray on {where}: {exc}") from None
    return True


# How long the driver tries to open a TCP connection to the cluster's address before saying
# nothing answers there (ray.init itself retries an address where nothing listens for minutes).
_PROBE_S = 5.0


def _probe(address: str) -> None:
    """Refuse an address where nothing accepts connections, in seconds. `auto` (find the local
    cluster) and anything that is not HOST:PORT are left to Ray."""
    hostport = address.removeprefix("ray://")
    host, sep, port = hostport.rpartition(":")
    if not sep or not port.isdigit():
        return
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=_PROBE_S):
            pass
    except OSError as exc:
        raise RayExecutorError(
            f"no Ray cluster answers at {address} ({exc.strerror or exc}): is it started "
            "(`ray start --head`)?"
        ) from None


async def run_on_ray(
    benchmarks: list[Benchmark],
    plan: list[EpisodeTask],
    *,
    options: RayOptions,
    max_concurrency: int,
    agent_factory: Callable[[], Agent],
    agent_name: str,
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
) -> list[EpisodeResult]:
    """Run `plan` as Ray tasks, at most `max_concurrency` in flight across the cluster; results
    in plan order, each passed to `on_result` as it finishes. `stop` is asked before each
    episode is submitted, as the other executors ask before they start one."""
    ray = import_ray()
    check_sendable("the agent", agent_factory)
    check_sendable("the chain", chain_factory)
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=run_context)
    params = RunParameters(
        benchmarks=benchmarks,
        agent_factory=agent_factory,
        agent_name=agent_name,
        chain_factory=chain_factory,
        run_seed=run_seed,
        profile=profile,
        log_dir=log_dir.resolve() if log_dir is not None else None,
        step_timeout_s=step_timeout_s,
        forward_events=on_event is not None,
        trace_jsonl=trace_jsonl,
        trace_carrier=carrier,
        slots=1,
        environment=environment_to_send(options.env_names),
    )
    started_here = _start(ray, options)
    results: dict[int, EpisodeResult] = {}
    inflight: dict[Any, EpisodeTask] = {}

    def finish(result: EpisodeResult, index: int) -> None:
        results[index] = result
        if on_result is not None:
            on_result(result)

    actors: list[Any] = []
    try:
        # Inside a list, the reference reaches the workers unresolved: each fetches and
        # unpickles the run once, when it starts (and again if Ray restarts it).
        run_ref = [ray.put(_RayRun(params, __version__, options.shared_dir))]
        window = max(1, max_concurrency)
        count, slots = _pool_size(ray, window, max(1, options.slots), len(plan))
        runner = ray.remote(_EpisodeRunner).options(
            num_cpus=1,
            max_concurrency=slots,
            max_restarts=-1,  # a dead worker comes back; each episode is bounded by its retries
            max_task_retries=options.max_retries,  # a dead worker's episodes run again
            scheduling_strategy="SPREAD",  # over the nodes, not packed on the first
        )
        actors = [runner.remote(__version__, run_ref) for _ in range(count)]
        load = [0] * count
        where: dict[Any, int] = {}
        pending = longest_last(benchmarks, plan, window)
        loop = asyncio.get_running_loop()
        while pending or inflight:
            while pending and len(inflight) < window:
                reason = stop() if stop is not None else None
                if reason:
                    while pending:
                        task = pending.pop()
                        finish(not_started(task, reason), task.index)
                    break
                task = pending.pop()
                actor = min(range(count), key=load.__getitem__)  # the least busy worker
                ref = actors[actor].run.remote(task)
                inflight[ref], where[ref] = task, actor
                load[actor] += 1
            if not inflight:
                break
            wait = functools.partial(
                ray.wait, list(inflight), num_returns=1, timeout=_POLL_S, fetch_local=True
            )
            ready, _ = await loop.run_in_executor(None, wait)
            for ref in ready:
                task = inflight.pop(ref)
                load[where.pop(ref)] -= 1
                try:
                    outcome: _Outcome = ray.get(ref)
                except ray.exceptions.RayError as exc:
                    why = _ray_failure(ray, exc, options.max_retries)
                    finish(_infrastructure_failure(params, task, why), task.index)
                    continue
                if outcome.version_error is not None:
                    raise RayExecutorError(outcome.version_error)
                assert outcome.result is not None
                if on_event is not None:
                    for event in outcome.events:
                        on_event(event)
                finish(_written(outcome, task, params, options.shared_dir), task.index)
    finally:
        for actor in actors:  # done, an error or Ctrl-C: what still runs is not wanted
            with contextlib.suppress(Exception):  # best effort: the cluster may be gone
                ray.kill(actor)
        if started_here:
            ray.shutdown()
    return [results[task.index] for task in plan if task.index in results]


def _pool_size(ray: Any, window: int, slots: int, episodes: int) -> tuple[int, int]:
    """(worker processes, slots each) for `window` episodes in flight: `slots` per process
    asked, no more processes than the cluster has CPUs (each holds one), nor than episodes;
    the window is then split over them (ceil), as the local worker pool splits it."""
    cpus = int(ray.cluster_resources().get("CPU", 1)) or 1
    count = max(1, min(-(-window // slots), cpus, episodes))
    return count, -(-window // count)


def _ray_failure(ray: Any, exc: BaseException, retries: int) -> str:
    """`infrastructure: …` text for an episode Ray could not give a result for (first line:
    no traceback). An exception raised in the task was never retried, and says so."""
    first = (str(exc).strip().splitlines() or [""])[0][:300]
    if isinstance(exc, ray.exceptions.RayTaskError):
        return f"the episode's Ray task raised, not retried ({type(exc).__name__}: {first})"
    return f"Ray gave up on the episode after {retries} retries ({type(exc).__name__}: {first})"


def _written(
    outcome: _Outcome, task: EpisodeTask, params: RunParameters, shared: bool
) -> EpisodeResult:
    """The task's result, its session file and trace written where the run keeps them."""
    result = outcome.result
    assert result is not None
    if shared or outcome.session is None:
        return result
    path = task.session_file
    if path is None and params.log_dir is not None:
        path = session_path(params.log_dir, result.execution_id)
    if path is None:  # nowhere to keep it (no log directory): as a local run, none
        return replace(result, session_file=None)
    write_text_atomic(path, outcome.session)
    if params.log_dir is not None:
        for name, text in outcome.traces.items():
            write_text_atomic(params.log_dir / "sessions" / name, text)
    return replace(result, session_file=str(path))


# ---------------------------------------------------------------------------- on the cluster


class _EpisodeRunner:
    """One Ray worker process of a run (an async actor): it fetches the run once, sets the
    driver's variables (the process serves this run only, and ends with it), and runs up to
    `slots` episodes at once on its event loop, as a local worker process does."""

    def __init__(self, driver_version: str, ref: list[Any]) -> None:
        # The versions are compared before the run is unpickled: another reev may not even
        # unpickle this one's benchmarks and factories, and would fail every episode as a
        # dead worker instead of saying why.
        self.version_error = _version_error(driver_version)
        self.spec: _RayRun | None = None
        if self.version_error is None:
            import ray

            self.spec = ray.get(ref[0])
            os.environ.update(self.spec.params.environment)

    async def run(self, task: EpisodeTask) -> _Outcome:
        if self.spec is None:
            return _Outcome(result=None, version_error=self.version_error)
        return await _episode_task(self.spec, task)


def _version_error(driver_version: str) -> str | None:
    if driver_version == __version__:
        return None
    return (
        f"the Ray cluster runs reev {__version__}, this driver reev {driver_version}: "
        "install the same reev on every node"
    )


async def _episode_task(run: _RayRun, task: EpisodeTask) -> _Outcome:
    """One episode on a Ray worker, its files in a temporary directory (returned) unless the
    log directory is shared; another reev on the worker refuses it."""
    version_error = _version_error(run.reev_version)
    if version_error is not None:
        return _Outcome(result=None, version_error=version_error)
    with tempfile.TemporaryDirectory(prefix="reev-ray-episode-") as tmp:
        return await _episode(run, task, Path(tmp))


async def _episode(run: _RayRun, task: EpisodeTask, tmp: Path) -> _Outcome:
    from reev.telemetry.tracing import NOOP_TRACER, Tracing, otlp_configured

    params = run.params
    keeps_files = params.log_dir is not None or task.session_file is not None
    log_dir = params.log_dir if run.shared_dir else (tmp if keeps_files else None)
    session_file = task.session_file if run.shared_dir else None
    tracing = None
    if log_dir is not None and (params.trace_jsonl or otlp_configured()):
        tracing = Tracing(log_dir / "sessions", jsonl=params.trace_jsonl)
    events: list[EpisodeEvent] = []
    try:
        result = await run_planned(
            params,
            task,
            log_dir=log_dir,
            session_file=session_file,
            on_event=events.append,
            tracer=tracing.tracer if tracing else NOOP_TRACER,
            parent=propagate.extract(params.trace_carrier),
        )
    finally:
        if tracing is not None:
            tracing.shutdown()  # flushes the JSONL before it is read
    outcome = _Outcome(result=result, events=events)
    if not run.shared_dir and result.session_file is not None:
        outcome.session = Path(result.session_file).read_text(encoding="utf-8")
        sessions = tmp / "sessions"
        for trace in sessions.glob("enhanced_otel_*.jsonl") if sessions.is_dir() else ():
            outcome.traces[trace.name] = trace.read_text(encoding="utf-8")
    return outcome
