"""A SpanExporter that writes one finished span per line, one file per episode.

`{sessions_dir}/enhanced_otel_{execution_id}.jsonl`. Spans are routed by their
`reev.execution_id` attribute (every episode span and its descendants carry it). The run span,
which is the parent of every episode and ends last, is appended to the file of each episode of
its trace, so that every parent id in a file resolves within that file. Schema: docs/telemetry.md.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import SpanContext

EXECUTION_ID = "reev.execution_id"


def _time(ns: int | None) -> str | None:
    if ns is None:
        return None
    return datetime.fromtimestamp(ns / 1e9, UTC).isoformat(timespec="microseconds")


def _context(span: ReadableSpan) -> SpanContext:
    """Spans of the SDK always carry their context; the type allows None for foreign ones."""
    context = span.get_span_context()
    if context is None:
        raise ValueError(f"span {span.name!r} has no span context")
    return context


def span_to_json(span: ReadableSpan) -> dict[str, Any]:
    context = _context(span)
    parent = span.parent
    start, end = span.start_time, span.end_time
    return {
        "trace_id": f"{context.trace_id:032x}",
        "span_id": f"{context.span_id:016x}",
        "parent_id": f"{parent.span_id:016x}" if parent is not None else None,
        "name": span.name,
        "kind": span.kind.name,
        "start_time": _time(start),
        "end_time": _time(end),
        "duration_ms": round((end - start) / 1e6, 3)
        if start is not None and end is not None
        else None,
        "attributes": dict(span.attributes or {}),
        "events": [
            {"name": e.name, "time": _time(e.timestamp), "attributes": dict(e.attributes or {})}
            for e in span.events
        ],
        "status": {"code": span.status.status_code.name, "description": span.status.description},
        "resource": dict(span.resource.attributes),
    }


class JsonlSpanExporter(SpanExporter):
    def __init__(self, sessions_dir: Path):
        self.sessions_dir = sessions_dir
        self._files: dict[str, IO[str]] = {}
        self._episodes_by_trace: dict[int, set[str]] = {}
        self._lock = threading.Lock()

    def path_for(self, execution_id: str) -> Path:
        return self.sessions_dir / f"enhanced_otel_{execution_id}.jsonl"

    def _write(self, execution_id: str, line: str, *, close: bool = False) -> None:
        handle = self._files.get(execution_id)
        if handle is None:
            self.sessions_dir.mkdir(parents=True, exist_ok=True)
            handle = self._files[execution_id] = self.path_for(execution_id).open(
                "a", encoding="utf-8"
            )
        handle.write(line)
        if close:
            handle.close()
            del self._files[execution_id]

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        with self._lock:
            for span in spans:
                line = json.dumps(span_to_json(span), ensure_ascii=False, default=str) + "\n"
                trace_id = _context(span).trace_id
                execution_id = (span.attributes or {}).get(EXECUTION_ID)
                if execution_id is not None:
                    self._episodes_by_trace.setdefault(trace_id, set()).add(str(execution_id))
                    # The episode span ends after all of its children: its file is complete.
                    self._write(str(execution_id), line, close=span.name == "episode")
                else:
                    for episode in sorted(self._episodes_by_trace.pop(trace_id, set())):
                        self._write(episode, line, close=True)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        with self._lock:
            for handle in self._files.values():
                handle.close()
            self._files.clear()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        with self._lock:
            for handle in self._files.values():
                handle.flush()
        return True
