"""Settings of `reev serve` (flags and environment)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class ServiceSettings:
    database_url: str | None = None
    benchmarks_dir: Path = Path("benchmarks")
    log_dir: Path = Path("logs")
    max_concurrency: int = 2
    execution_timeout_s: float = 900.0
    requeue: bool = False
    cors_origins: list[str] = field(default_factory=list)
    api_token: str | None = field(default_factory=lambda: os.environ.get("REEV_API_TOKEN") or None)
    max_body_bytes: int = 1_000_000
    events_history: int = 2_000  # events kept per execution for late subscribers
