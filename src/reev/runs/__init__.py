"""Runs as first-class objects: a run id, a run directory (`<log-dir>/runs/<run-id>/`) with the
run's configuration and results, session files by (benchmark, epoch), resume and retry.

The directory is the contract (docs/runs.md): anything that reads session files and a results
JSON reads a run directory without this package.
"""

from reev.runs.config import RUN_NAME, BenchmarkFile, RunConfig, file_sha256, redact_url, url_host
from reev.runs.directory import (
    RunBusy,
    RunDir,
    RunNotFound,
    create_run,
    list_runs,
    new_run_id,
    now_iso,
    resolve_run,
    runs_root,
)
from reev.runs.episodes import (
    finished_episodes,
    in_plan_order,
    kept_episodes,
    not_run,
    result_from_session,
)

__all__ = [
    "RUN_NAME",
    "BenchmarkFile",
    "RunBusy",
    "RunConfig",
    "RunDir",
    "RunNotFound",
    "create_run",
    "file_sha256",
    "finished_episodes",
    "in_plan_order",
    "kept_episodes",
    "list_runs",
    "new_run_id",
    "not_run",
    "now_iso",
    "redact_url",
    "resolve_run",
    "result_from_session",
    "runs_root",
    "url_host",
]
