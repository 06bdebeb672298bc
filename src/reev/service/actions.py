"""What the REST API and the dashboard both do: submit runs and store a benchmark's YAML.

One implementation, two front ends: the API turns `ActionError` into an HTTP error and
`InvalidBenchmark` into a 422 listing every diagnostic; the dashboard shows the same messages.
"""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from reev import __version__
from reev.agents.providers import ModelEndpoint, ProviderError, resolve_endpoint
from reev.errors import InputError
from reev.events import ExecutionStatus
from reev.files import write_text_atomic
from reev.runs import BenchmarkFile, RunConfig, file_sha256, new_run_id, now_iso, url_host
from reev.scoring import PROFILES
from reev.service import schemas
from reev.service.manager import ExecutionManager, QueueFull
from reev.service.remote_agents import is_remote, remote_agent_refusal
from reev.service.settings import ServiceSettings
from reev.spec.loader import BenchmarkError, LoadedBenchmark, load_many, parse_benchmark
from reev.store import repository as repo


class ActionError(InputError):
    """A request that cannot be done, with the HTTP status that says why."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


class InvalidBenchmark(InputError):
    """YAML that does not load: every diagnostic as `{line, field, message}`; nothing was stored."""

    def __init__(self, errors: list[dict[str, Any]]):
        super().__init__(
            "; ".join(f"line {e['line']}: {e['field'] or ''}: {e['message']}" for e in errors)
        )
        self.errors = errors


def check_agent(settings: ServiceSettings, agent: str, model: str | None) -> ModelEndpoint | None:
    """An LLM agent must name a known provider, a model and have its key; a remote HTTP agent
    must be allowed (`reev.service.remote_agents`); raises ActionError(422). Returns the LLM
    agent's endpoint (None for the others)."""
    if agent == "deterministic":
        return None
    if is_remote(agent):
        if (refusal := remote_agent_refusal(agent, settings)) is not None:
            raise ActionError(422, refusal)
        return None
    try:
        endpoint = resolve_endpoint(agent, model=model)
        endpoint.api_key()
    except ProviderError as exc:
        raise ActionError(422, str(exc)) from None
    return endpoint


def _benchmark_files(sessions: sessionmaker[Session], benchmark_ids: list[str]) -> list[Path]:
    """Each benchmark's file on disk, in order; ActionError (404 unknown, 409 no file) names
    the first that has none."""
    files = []
    with sessions() as session:
        for benchmark_id in benchmark_ids:
            row = repo.get_benchmark(session, benchmark_id)
            if row is None:
                raise ActionError(404, f"unknown benchmark {benchmark_id!r}")
            if not row.file_path or not Path(row.file_path).exists():
                raise ActionError(
                    409,
                    f"benchmark {benchmark_id} has no file on disk; POST /sync or /upsert-yml first",
                )
            files.append(Path(row.file_path))
    return files


def _run_row(
    settings: ServiceSettings,
    request: schemas.RunRequest,
    endpoint: ModelEndpoint | None,
    benchmarks: list[tuple[str, Path]],
) -> dict[str, Any]:
    """The run a request makes, as RunRow's columns: its config has run.json's shape (what
    `reev run --record` stores), so a reader handles API and CLI runs alike."""
    config = RunConfig(
        # 8 random hex digits: 20 requests in one second would share a 4-digit suffix with
        # odds of 1 in 300; a shared id is refused by the insert (repo.create_run), never merged.
        run_id=new_run_id(random_bytes=4),
        name=request.name,
        created_at=now_iso(),
        reev_version=__version__,
        agent=request.agent,
        model=endpoint.model if endpoint is not None else request.model,
        provider=endpoint.provider if endpoint is not None else None,
        endpoint_host=url_host(endpoint.base_url if endpoint is not None else request.agent),
        seed=request.seed,
        profile=request.profile,
        epochs=request.epochs,
        max_concurrency=settings.max_concurrency,
        benchmarks=[
            BenchmarkFile(id=benchmark_id, path=str(path), sha256=file_sha256(path))
            for benchmark_id, path in benchmarks
        ],
    )
    return {
        "run_id": config.run_id,
        "name": config.name,
        "agent": config.agent,
        "model": config.model,
        "profile": config.profile,
        "seed": config.seed,
        "epochs": config.epochs,
        "status": config.status,
        "config": config.model_dump(mode="json"),
        # to the microsecond (run.json's time is to the second): runs list newest first, and
        # requests a moment apart must list in the order they came
        "created_at": datetime.now(UTC),
        "finished_at": None,
        "source": "api",
    }


async def submit_run(
    settings: ServiceSettings,
    sessions: sessionmaker[Session],
    manager: ExecutionManager,
    benchmark_id: str,
    request: schemas.RunRequest,
) -> schemas.RunAccepted:
    """Queue `request.epochs` executions of a benchmark, as one run (`submit_benchmarks`)."""
    return await submit_benchmarks(settings, sessions, manager, [benchmark_id], request)


async def submit_benchmarks(
    settings: ServiceSettings,
    sessions: sessionmaker[Session],
    manager: ExecutionManager,
    benchmark_ids: list[str],
    request: schemas.RunRequest,
) -> schemas.RunAccepted:
    """Queue `request.epochs` executions of each benchmark as one run: its row and its
    executions are written together, or nothing is. Called on the event loop (the manager's
    queue is an asyncio queue); the database work runs in worker threads. A request that would
    take the queue over `settings.max_queued` is refused whole (429 with `Retry-After`)."""
    if request.profile not in PROFILES:
        raise ActionError(
            422, f"unknown profile {request.profile!r}; choose one of {', '.join(PROFILES)}"
        )
    if not benchmark_ids:
        raise ActionError(422, "no benchmark to run")
    endpoint = check_agent(settings, request.agent, request.model)
    if manager.closing:
        raise ActionError(503, "the server is shutting down; submit again once it is back")
    files = await asyncio.to_thread(_benchmark_files, sessions, benchmark_ids)
    benchmarks = list(zip(benchmark_ids, files, strict=True))
    run = await asyncio.to_thread(_run_row, settings, request, endpoint, benchmarks)
    count = len(benchmarks) * request.epochs
    try:
        ids = await manager.submit_many(
            benchmarks=benchmarks,
            agent=request.agent,
            model=request.model,
            seed=request.seed,
            profile=request.profile,
            epochs=request.epochs,
            run=run,
        )
    except QueueFull as full:
        raise ActionError(
            429,
            f"the queue is full: {full.queued} executions wait and this request adds "
            f"{count} (--max-queued {settings.max_queued}); retry later",
            headers={"Retry-After": str(retry_after_s(full.queued, settings))},
        ) from None
    return schemas.RunAccepted(
        run_id=run["run_id"], execution_id=ids[0], execution_ids=ids, status=ExecutionStatus.QUEUED
    )


def retry_after_s(queued: int, settings: ServiceSettings) -> int:
    """A guess at when the queue has room: a second per queued execution per worker, within
    1 s and 10 minutes (a deterministic run takes about a second)."""
    return max(1, min(600, math.ceil(queued / max(1, settings.max_concurrency))))


def validate_yaml(text: str) -> LoadedBenchmark:
    """Parse and validate benchmark YAML; raises InvalidBenchmark (with lines and fields), or
    ActionError(422) for an id that cannot name a file."""
    try:
        loaded = parse_benchmark(text, "<request>")
    except BenchmarkError as exc:
        raise InvalidBenchmark(
            [{"line": d.line, "field": d.field, "message": d.message} for d in exc.diagnostics]
        ) from None
    if not schemas.SAFE_ID.fullmatch(loaded.benchmark.id):
        raise ActionError(
            422, f"benchmark id {loaded.benchmark.id!r} must match {schemas.SAFE_ID.pattern}"
        )
    return loaded


def upsert_yaml(
    settings: ServiceSettings,
    sessions: sessionmaker[Session],
    text: str,
    loaded: LoadedBenchmark | None = None,
) -> schemas.UpsertResult:
    """Validate, then write the benchmark file (atomically) and its database row. Invalid YAML
    raises InvalidBenchmark before anything is written."""
    loaded = loaded or validate_yaml(text)
    benchmark_id = loaded.benchmark.id
    settings.benchmarks_dir.mkdir(parents=True, exist_ok=True)
    path = settings.benchmarks_dir.resolve() / f"{benchmark_id}.yml"
    with sessions.begin() as session:
        existing = repo.get_benchmark(session, benchmark_id)
        if existing is not None and existing.file_path:
            path = Path(existing.file_path)
        write_text_atomic(path, text)
        outcome = repo.upsert_benchmark(
            session,
            benchmark_id=benchmark_id,
            yaml=text,
            description=loaded.benchmark.description,
            tags=loaded.benchmark.tags,
            file_path=str(path),
        )
    return schemas.UpsertResult(
        benchmark_id=benchmark_id,
        outcome=outcome,
        file=str(path),
        warnings=[str(w) for w in loaded.warnings],
    )


def sync_benchmarks(
    settings: ServiceSettings, sessions: sessionmaker[Session]
) -> schemas.SyncReport:
    """Load every benchmark file of `settings.benchmarks_dir` into the database (at start-up and
    on `POST /sync`); files that do not load are listed, the others stored."""
    report = schemas.SyncReport()
    if not settings.benchmarks_dir.is_dir():
        report.errors.append(f"{settings.benchmarks_dir}: not a directory")
        return report
    loaded, errors = load_many([settings.benchmarks_dir])
    report.errors += [str(d) for d in errors]
    with sessions.begin() as session:
        for item in loaded:
            outcome = repo.upsert_benchmark(
                session,
                benchmark_id=item.benchmark.id,
                yaml=item.source,
                description=item.benchmark.description,
                tags=item.benchmark.tags,
                # absolute: the CLI records from other folders
                file_path=str(item.path.resolve()),
            )
            getattr(report, outcome).append(item.benchmark.id)
    return report
