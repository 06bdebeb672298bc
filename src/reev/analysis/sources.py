"""Where reports and exports read episodes from: run or log directories, results JSON files,
single session files, and the database. No pandas here: the records are plain dataclasses
that `frames` turns into DataFrames and `report` into statistics.

An input is one of:

- a **directory**. When it holds a `results.json` (what `reev run --output` writes; a run
  directory also has its `run.json` configuration beside it), that file lists the episodes and
  their session files are read from the paths it gives (or found by name under the directory).
  Otherwise every `session_*.json` under it, at any depth, is an episode.
- a **results JSON** file (`reev run -o FILE`), or a single **session file**.
- the **database** (`--db URL`): every finished execution, with its benchmark's tags.

Each input becomes one *arm* per agent it holds: the set of episodes a report compares. An arm
is labelled by the run's name (`run.json`'s `name`, else the directory's name, else the
results file's stem) when the input holds one agent, `RUN:AGENT` when it holds several, and by
the agent for the database; `LABEL=PATH` names it explicitly. `load_inputs` takes paths, so a
run resolver (`reev run --name`) only needs to hand it the run's directory.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from reev.errors import InputError
from reev.runner.session import SessionFile, read_session

RESULTS_FILE = "results.json"
RUN_FILE = "run.json"
SESSION_GLOB = "session_*.json"


@dataclass(frozen=True)
class Episode:
    """One episode as reports and exports see it, whatever it was read from."""

    run: str
    label: str
    source: str
    agent: str
    benchmark_id: str
    epoch: int
    execution_id: str
    status: str
    passed: bool
    score: float
    profile: str
    seed: int | None = None
    run_seed: int | None = None
    model: str | None = None
    breakdown: dict[str, float | None] = field(default_factory=dict)
    started_at: str | None = None
    finished_at: str | None = None
    duration_ms: float = 0.0
    error: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    session_file: str | None = None
    session: SessionFile | None = None
    db_children: dict[str, list[dict[str, Any]]] | None = None  # database rows, no session file

    @property
    def model_latency_ms(self) -> float:
        if self.session is not None:
            return sum(c.latency_ms for s in self.session.steps for c in s.model_calls)
        rows = (self.db_children or {}).get("model_calls", [])
        return float(sum(r["latency_ms"] for r in rows))


@dataclass(frozen=True)
class Run:
    """One input's run-level facts: its configuration (`run.json`, or the results JSON's top
    level) and where it was read from."""

    run: str
    source: str
    config: dict[str, Any] = field(default_factory=dict)


@dataclass
class Dataset:
    runs: list[Run] = field(default_factory=list)
    episodes: list[Episode] = field(default_factory=list)

    @property
    def labels(self) -> list[str]:
        """The arms in the order the inputs gave them."""
        return list(dict.fromkeys(e.label for e in self.episodes))


def load_inputs(
    inputs: Sequence[str | Path],
    *,
    db: str | None = None,
    agents: Iterable[str] | None = None,
    benchmarks: Sequence[Path] | None = None,
) -> Dataset:
    """Every episode of `inputs` (paths, or `LABEL=PATH`) and, with `db`, of the database,
    tagged from the benchmark files; only those of `agents` (agent names or arm labels) when
    given. `benchmarks` are the files or folders the tags are read from; by default a run's own
    benchmark files (`run.json`), else `./benchmarks` when it exists. Bad input is an
    `InputError` naming it."""
    agents = list(agents) if agents is not None else None
    data = Dataset()
    for item in inputs:
        label, path = _split_label(item)
        part = _load_path(path)
        data.runs.extend(part.runs)
        data.episodes.extend(_label(part.episodes, label))
    if db is not None:
        from reev.analysis.database import load_database

        part = load_database(db, agents)  # filtered in the query too: a big database
        data.runs.extend(part.runs)
        data.episodes.extend(part.episodes)
    data.episodes = _unique_labels(data.episodes)
    if agents is not None:
        wanted = set(agents)
        data.episodes = [e for e in data.episodes if e.agent in wanted or e.label in wanted]
    if not data.episodes:
        where = ", ".join(str(i) for i in inputs) or "the database"
        which = f" of {', '.join(agents)}" if agents else ""
        raise InputError(f"no episodes{which} in {where}")
    return _with_tags(data, benchmarks)


def _split_label(item: str | Path) -> tuple[str | None, Path]:
    text = str(item)
    name, sep, rest = text.partition("=")
    if sep and name and "/" not in name and not Path(text).exists():
        return name, Path(rest)
    return None, Path(text)


def _load_path(path: Path) -> Dataset:
    if not path.exists():
        raise InputError(f"{path}: no such file or directory")
    if path.is_dir():
        if (path / RESULTS_FILE).is_file():
            return _load_results(path / RESULTS_FILE, run_dir=path)
        files = sorted(p for p in path.rglob(SESSION_GLOB) if p.is_file())
        if not files:
            raise InputError(f"{path}: no {RESULTS_FILE} and no {SESSION_GLOB} files in it")
        run = Run(path.resolve().name or str(path), str(path))
        return Dataset([run], [_session_episode(read_or_fail(p), run, p) for p in files])
    document = _read_json(path)
    if isinstance(document, dict) and "results" in document:
        return _load_results(path, run_dir=None, document=document)
    run = Run(path.stem, str(path))
    return Dataset([run], [_session_episode(read_or_fail(path), run, path)])


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not valid JSON ({exc})") from exc


def read_or_fail(path: Path) -> SessionFile:
    """A session file, or an `InputError` naming the file and what is wrong with it."""
    try:
        return read_session(path)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except ValidationError as exc:
        raise InputError(f"{path}: not a reev session file: {exc.errors()[0]['msg']}") from exc


def _load_results(path: Path, run_dir: Path | None, document: Any = None) -> Dataset:
    document = _read_json(path) if document is None else document
    entries = document.get("results") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise InputError(f"{path}: not a reev results file (no `results` list)")
    config = {k: v for k, v in document.items() if k not in ("results", "benchmarks", "summary")}
    if run_dir is not None and (run_dir / RUN_FILE).is_file():
        run_config = _read_json(run_dir / RUN_FILE)
        if isinstance(run_config, dict):
            config = {**config, **run_config}
    base = run_dir or path.parent
    default_name = (
        run_dir.resolve().name
        if run_dir
        else (path.parent.name if path.name == RESULTS_FILE else path.stem)
    )
    name = str(config.get("name") or config.get("id") or default_name)
    run = Run(name, str(run_dir or path), config)
    episodes = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or "benchmark_id" not in entry:
            raise InputError(f"{path}: results[{index}] is not an episode entry")
        session_path = _find_session(entry, base)
        session = read_or_fail(session_path) if session_path is not None else None
        episodes.append(_result_episode(entry, run, session, session_path, path))
    return Dataset([run], episodes)


def _find_session(entry: dict[str, Any], base: Path) -> Path | None:
    """The session file of a results entry: the path it names (as written, or relative to the
    run directory), else a file of the same name under the directory; None when there is none
    (a Cancelled episode, or sessions that were not kept)."""
    written = entry.get("session_file")
    candidates = [Path(written), base / written] if written else []
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    execution_id = entry.get("execution_id")
    if execution_id:
        found = next(base.rglob(f"session_{execution_id}.json"), None)
        if found is not None:
            return found
    return None


def _result_episode(
    entry: dict[str, Any],
    run: Run,
    session: SessionFile | None,
    session_path: Path | None,
    results_path: Path,
) -> Episode:
    try:
        return Episode(
            run=run.run,
            label=run.run,
            source=run.source,
            agent=str(entry.get("agent") or run.config.get("agent") or "unknown"),
            benchmark_id=str(entry["benchmark_id"]),
            epoch=int(entry.get("epoch", 0)),
            execution_id=str(entry.get("execution_id") or ""),
            status=str(entry.get("status", "Completed")),
            passed=bool(entry.get("passed", False)),
            score=float(entry.get("score", 0.0)),
            profile=str(entry.get("profile") or run.config.get("profile") or "verified"),
            seed=entry.get("seed"),
            run_seed=entry.get("run_seed"),
            model=model_of(session),
            breakdown=dict(entry.get("breakdown") or {}),
            started_at=session.started_at if session else None,
            finished_at=session.finished_at if session else None,
            duration_ms=float(entry.get("duration_ms", 0.0)),
            error=entry.get("error"),
            usage=dict(entry.get("usage") or {}),
            tags=tuple(entry.get("tags") or ()),
            session_file=str(session_path) if session_path else None,
            session=session,
        )
    except (TypeError, ValueError) as exc:
        raise InputError(f"{results_path}: a results entry has a bad value ({exc})") from exc


def _session_episode(session: SessionFile, run: Run, path: Path) -> Episode:
    result = session.final_result
    return Episode(
        run=run.run,
        label=run.run,
        source=run.source,
        agent=session.agent,
        benchmark_id=session.benchmark_id,
        epoch=session.epoch,
        execution_id=session.execution_id,
        status=str(result.status),
        passed=result.passed,
        score=result.score,
        profile=session.profile,
        seed=session.seed,
        run_seed=session.run_seed,
        model=model_of(session),
        breakdown=result.breakdown.model_dump(),
        started_at=session.started_at,
        finished_at=session.finished_at,
        duration_ms=session.duration_ms,
        error=session.error,
        usage=session.usage.model_dump(),
        session_file=str(path),
        session=session,
    )


def model_of(session: SessionFile | None) -> str | None:
    if session is None:
        return None
    return next((c.model for s in session.steps for c in s.model_calls), None)


def _label(episodes: list[Episode], label: str | None) -> list[Episode]:
    """One arm per agent of the input: the run's name when it holds one agent, `RUN:AGENT`
    when several, or the label the user gave (`LABEL=PATH`, suffixed the same way)."""
    agents = list(dict.fromkeys(e.agent for e in episodes))
    out = []
    for e in episodes:
        base = label or e.run
        out.append(replace(e, label=base if len(agents) == 1 else f"{base}:{e.agent}"))
    return out


def _unique_labels(episodes: list[Episode]) -> list[Episode]:
    """Two inputs with the same name (two `logs/` folders) get `name#2`, … in input order."""
    seen: dict[tuple[str, str], str] = {}  # (source, label) -> final label
    taken: set[str] = set()
    out = []
    for e in episodes:
        key = (e.source, e.label)
        if key not in seen:
            final, n = e.label, 1
            while final in taken:
                n += 1
                final = f"{e.label}#{n}"
            seen[key] = final
            taken.add(final)
        out.append(replace(e, label=seen[key]))
    return out


def _with_tags(data: Dataset, benchmarks: Sequence[Path] | None) -> Dataset:
    """Fill each episode's tags (categories) from the benchmark files, when it has none."""
    if all(e.tags for e in data.episodes):
        return data
    paths = list(benchmarks or [])
    if benchmarks is None:
        for run in data.runs:
            paths.extend(_run_benchmark_files(run))
        if not paths and Path("benchmarks").is_dir():
            paths.append(Path("benchmarks"))
    tags = benchmark_tags(paths, explicit=benchmarks is not None)
    data.episodes = [
        e if e.tags else replace(e, tags=tuple(tags.get(e.benchmark_id, ()))) for e in data.episodes
    ]
    return data


def _run_benchmark_files(run: Run) -> list[Path]:
    """The benchmark files a run directory's `run.json` lists (`benchmarks: [{path}|path]`)
    that still exist."""
    found = []
    for item in run.config.get("benchmarks") or []:
        text = item.get("path") if isinstance(item, dict) else item
        if isinstance(text, str):
            path = Path(text)
            if not path.is_absolute() and not path.exists():
                path = Path(run.source) / path
            if path.exists():
                found.append(path)
    return found


def benchmark_tags(paths: Sequence[Path], *, explicit: bool = False) -> dict[str, list[str]]:
    """`{benchmark id: tags}` of the benchmark files under `paths`. Files that do not load are
    skipped (only their tags were wanted), unless `explicit` paths do not exist at all."""
    if not paths:
        return {}
    from reev.spec import load_many

    for path in paths:
        if explicit and not path.exists():
            raise InputError(f"--benchmarks {path}: no such file or directory")
    loaded, _errors = load_many(list(paths))
    return {item.benchmark.id: list(item.benchmark.tags) for item in loaded}
