"""Run directories: `<log-dir>/runs/<run-id>/` with `run.json`, `results.json` and
`sessions/<benchmark-id>/epoch-<k>.json` (docs/runs.md).

A run id is the UTC start time plus four random hex digits (`20261202-004512-a3f9`): ids sort
by time, and two runs started in the same second still differ. A reference to a run
(`resolve_run`) is `latest`, a run id, a unique prefix of one, or a `--name` (the newest run of
that name wins, as a branch name points at its newest commit).
"""

from __future__ import annotations

import json
import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from reev.errors import InputError
from reev.runner.session import session_path, write_json_atomic
from reev.runner.suite import episode_execution_id
from reev.runs.config import RunConfig

RUN_ID = re.compile(r"\d{8}-\d{6}-[0-9a-f]{4,}")
SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")


class RunNotFound(InputError):
    """A run reference that names no run (or a directory that is not one)."""


class RunBusy(InputError):
    """The run is being run by another live process."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    return True


def runs_root(log_dir: Path) -> Path:
    return log_dir / "runs"


def new_run_id(now: datetime | None = None, *, random_bytes: int = 2) -> str:
    """`YYYYMMDD-HHMMSS-` and `random_bytes` random bytes in hex: four digits for a CLI run (a
    person starts a few a second at most), more for the API, where many requests may arrive in
    one second (`reev.service.actions`)."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{secrets.token_hex(random_bytes)}"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def benchmark_dir_name(benchmark_id: str) -> str:
    """The directory of a benchmark's sessions: its id, with anything but letters, digits and
    `. _ -` replaced by `_` (ids are file stems in practice, so this is the id itself)."""
    name = SAFE_NAME.sub("_", benchmark_id)
    return f"_{name}" if name.startswith(".") else name


@dataclass(frozen=True)
class RunDir:
    """One run directory; `config` is read once (`reload()` for a fresh copy)."""

    path: Path

    @property
    def run_json(self) -> Path:
        return self.path / "run.json"

    @property
    def results_json(self) -> Path:
        return self.path / "results.json"

    @property
    def sessions_dir(self) -> Path:
        return self.path / "sessions"

    @property
    def log_dir(self) -> Path:
        return self.path.parent.parent

    @cached_property
    def config(self) -> RunConfig:
        try:
            return RunConfig.model_validate_json(self.run_json.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise RunNotFound(f"{self.path}: not a run directory (no run.json)") from None
        except (OSError, ValidationError, ValueError) as exc:
            raise RunNotFound(f"{self.run_json}: not a reev run.json ({exc})") from None

    def reload(self) -> RunDir:
        return RunDir(self.path)

    def save_config(self, config: RunConfig) -> None:
        write_json_atomic(self.run_json, config.model_dump(mode="json"))
        self.__dict__["config"] = config  # the cached_property's slot

    def results(self) -> dict[str, Any] | None:
        """`results.json` (the shape of `reev run --output`), or None before the run ends."""
        try:
            data = json.loads(self.results_json.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def write_results(self, results: dict[str, Any]) -> None:
        write_json_atomic(self.results_json, results)

    def session_file(self, benchmark_id: str, epoch: int) -> Path:
        """Where the session of (benchmark, epoch) is, or will be, written. A run given
        `--execution-id` keeps that contract (`<log-dir>/sessions/session_<id>.json`)."""
        config = self.config
        base = config.options.get("execution_id")
        if not base:
            return self.sessions_dir / benchmark_dir_name(benchmark_id) / f"epoch-{epoch}.json"
        plan = config.plan()
        index = plan.index((benchmark_id, epoch))
        execution_id = episode_execution_id(base, index, len(plan))
        assert execution_id is not None  # base is set
        return session_path(self.log_dir, execution_id)

    def benchmark_ids(self) -> list[str]:
        return [b.id for b in self.config.benchmarks]

    @property
    def lock_file(self) -> Path:
        return self.path / "run.lock"

    def lock(self) -> None:
        """Claim the run for this process (`run.lock` holds its pid), so two resumes of one run
        cannot run the same episode twice. A lock whose process is gone (a crash, SIGKILL) is
        stale and taken over. Raises `RunBusy` while another live process holds it."""
        try:
            holder = int(self.lock_file.read_text(encoding="ascii").strip())
        except (OSError, ValueError):
            holder = None
        if holder is not None and holder != os.getpid() and _alive(holder):
            raise RunBusy(
                f"run {self.config.run_id} is being run by process {holder}: "
                f"wait for it, or stop it (kill {holder}) and resume"
            )
        self.lock_file.write_text(f"{os.getpid()}\n", encoding="ascii")

    def unlock(self) -> None:
        self.lock_file.unlink(missing_ok=True)


def create_run(log_dir: Path, config: RunConfig) -> RunDir:
    run = RunDir(runs_root(log_dir) / config.run_id)
    run.path.mkdir(parents=True, exist_ok=False)
    run.save_config(config)
    return run


def list_runs(log_dir: Path) -> list[RunDir]:
    """Every readable run under `log_dir`, oldest first (ids sort by start time)."""
    root = runs_root(log_dir)
    if not root.is_dir():
        return []
    found = []
    for path in sorted(root.iterdir()):
        run = RunDir(path)
        if not run.run_json.is_file():
            continue
        try:
            run.config  # noqa: B018 (read now: an unreadable run.json is skipped, not listed)
        except RunNotFound:
            continue
        found.append(run)
    return sorted(found, key=lambda r: (r.config.created_at, r.config.run_id))


def resolve_run(ref: str, log_dir: Path) -> RunDir:
    """The run `ref` names: `latest`, a run directory's path, a run id or a unique prefix of
    one, or a run name (its newest run). Raises `RunNotFound` saying what exists."""
    as_path = Path(ref)
    if (as_path / "run.json").is_file():
        return RunDir(as_path)
    runs = list_runs(log_dir)
    where = runs_root(log_dir)
    if not runs:
        raise RunNotFound(f"no runs in {where}: start one with `reev run BENCHMARKS`")
    if ref == "latest":
        return runs[-1]
    by_id = [r for r in runs if r.config.run_id == ref]
    if by_id:
        return by_id[0]
    named = [r for r in runs if r.config.name == ref]
    if named:
        return named[-1]
    prefixed = [r for r in runs if r.config.run_id.startswith(ref)]
    if len(prefixed) == 1:
        return prefixed[0]
    if len(prefixed) > 1:
        ids = ", ".join(r.config.run_id for r in prefixed[:5])
        raise RunNotFound(f"run {ref!r} is ambiguous: {ids}")
    raise RunNotFound(f"no run {ref!r} in {where} (`reev runs` lists them)")
