"""Session files compared across runs: everything but timing and the fresh execution id."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TIMING = {"started_at", "finished_at", "duration_ms", "latency_ms"}


def without_timing(value: Any) -> Any:
    """`value` (a session file's JSON) without the fields that measure time."""
    if isinstance(value, dict):
        return {k: without_timing(v) for k, v in value.items() if k not in TIMING}
    if isinstance(value, list):
        return [without_timing(v) for v in value]
    return value


def comparable_session(path: str | Path | None) -> dict[str, Any]:
    """A session file as two runs of the same episode must agree on it: timing and the
    execution id (fresh per episode) aside."""
    assert path is not None, "the episode wrote no session file"
    session = without_timing(json.loads(Path(path).read_text(encoding="utf-8")))
    session.pop("execution_id")
    return session
