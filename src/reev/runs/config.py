"""`run.json`: what a run was asked to do, enough to resume it with the same configuration.

No secret ever lands here: API keys are read from the environment by name (`api_key_env`), and
every URL is stored without its user-info, query and fragment, the places providers put keys
(`https://user:key@host`, `?api-key=`).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, Field

RUN_SCHEMA_VERSION = 1
# A run's name (`reev run --name`, the API's `name`): what a reference to a run may spell,
# never `latest` (that names the newest run).
RUN_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
RunStatus = Literal["running", "finished", "interrupted"]


class BenchmarkFile(BaseModel):
    """One benchmark of the run and the file it came from, with the file's content hash: a
    resumed run refuses a benchmark that changed under it."""

    id: str
    path: str = Field(description="Absolute path of the YAML file")
    sha256: str


class RunConfig(BaseModel):
    """The configuration and state of one run (`<log-dir>/runs/<run-id>/run.json`)."""

    schema_version: int = RUN_SCHEMA_VERSION
    run_id: str
    name: str | None = None
    status: RunStatus = "running"
    created_at: str
    finished_at: str | None = None
    reev_version: str
    agent: str
    model: str | None = Field(default=None, description="The model an LLM agent calls")
    provider: str | None = None
    endpoint_host: str | None = Field(
        default=None, description="host[:port] of the model or agent endpoint, no credentials"
    )
    seed: int
    profile: str
    epochs: int
    first_epoch: int = 0
    max_concurrency: int
    benchmarks: list[BenchmarkFile]
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="The other `reev run` options, as given (URLs redacted): what --resume reuses",
    )
    resumes: list[str] = Field(
        default_factory=list, description="When the run was resumed or retried (ISO times)"
    )

    def plan(self) -> list[tuple[str, int]]:
        """Every (benchmark id, epoch) of the run, in suite order."""
        epochs = range(self.first_epoch, self.first_epoch + self.epochs)
        return [(b.id, e) for b in self.benchmarks for e in epochs]


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def redact_url(url: str | None) -> str | None:
    """`url` without user-info, query or fragment: what may be written to disk or printed."""
    if url is None:
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
    except ValueError:  # not a URL we can take apart: keep nothing of it
        return "(unparseable URL)"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def url_host(url: str | None) -> str | None:
    """`host[:port]` of `url`, the one part of an endpoint an error message or a listing shows."""
    if url is None:
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError:
        return None
    if not host:
        return None
    return f"{host}:{port}" if port else host
