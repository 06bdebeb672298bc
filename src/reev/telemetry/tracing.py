"""OpenTelemetry for reev: one tracer provider per run, spans named after what happened.

    run → episode → step → model_call → tool_call → transaction

The runner asks for a `Tracer` and passes it down explicitly (no global provider), so two runs in
one process (tests, the API) never share exporters. The JSONL exporter is always on; the
standard `OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` variables add OTLP
export (install `reev[otlp]`). Attribute values go through `redact`, so an API key that somehow
reaches an attribute is replaced before any exporter sees it.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.trace import Span

from reev import __version__
from reev.telemetry.jsonl import JsonlSpanExporter

log = logging.getLogger(__name__)

MAX_ATTRIBUTE_CHARS = 8_000
_SECRET_SUFFIXES = ("_KEY", "_TOKEN", "_SECRET", "_PASSWORD")


def _secret_values() -> list[str]:
    """Read afresh for every span (a key set later must still be redacted); by name first, so
    only the few secret-named values are decoded: 25 instead of 65 µs here with
    `os.environ.items()`, which decodes every value, and this runs for every span (issue 18)."""
    env = os.environ
    return [
        value
        for name in env
        if name.upper().endswith(_SECRET_SUFFIXES) and len(value := env[name]) >= 8
    ]


def redact(value: Any, secrets: list[str] | None = None) -> Any:
    """JSON-encode structures, clip long strings, and blank out secret values."""
    if isinstance(value, (dict, list)):
        value = json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(value, str):
        for secret in secrets if secrets is not None else _secret_values():
            value = value.replace(secret, "[redacted]")
        if len(value) > MAX_ATTRIBUTE_CHARS:
            value = value[: MAX_ATTRIBUTE_CHARS - 1] + "…"
    return value


def attributes(**values: Any) -> dict[str, Any]:
    """Span attributes with `None` dropped and everything redacted; keys use `__` for dots."""
    secrets = _secret_values()
    return {
        key.replace("__", "."): redact(value, secrets)
        for key, value in values.items()
        if value is not None
    }


def set_span_attributes(span: Span, **values: Any) -> None:
    """`attributes(**values)` on `span` when it records. Building them JSON-encodes and
    redacts: work for nothing under a no-op tracer (the default, no --trace; issue 18)."""
    if span.is_recording():
        span.set_attributes(attributes(**values))


def add_span_event(span: Span, name: str, **values: Any) -> None:
    """An event with `attributes(**values)` on `span` when it records (as above)."""
    if span.is_recording():
        span.add_event(name, attributes(**values))


class Tracing:
    """The tracer provider of one run: JSONL per episode, plus OTLP when configured."""

    def __init__(self, sessions_dir: Path, *, jsonl: bool = True, otlp: bool | None = None):
        self.provider = TracerProvider(
            resource=Resource.create({"service.name": "reev", "service.version": __version__})
        )
        self.jsonl: JsonlSpanExporter | None = None
        if jsonl:
            self.jsonl = JsonlSpanExporter(sessions_dir)
            self.provider.add_span_processor(SimpleSpanProcessor(self.jsonl))
        wants_otlp = otlp if otlp is not None else otlp_configured()
        if wants_otlp:
            try:
                from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            except ImportError:
                log.warning(
                    "OTEL_EXPORTER_OTLP_* is set but the OTLP exporter is not installed: pip install 'reev[otlp]'"
                )
            else:
                self.provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        self.tracer = self.provider.get_tracer("reev", __version__)

    def shutdown(self) -> None:
        self.provider.shutdown()


def otlp_configured() -> bool:
    if os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    return bool(
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


NOOP_TRACER = trace.NoOpTracer()
