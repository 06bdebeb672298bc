"""Benchmark specification: models, YAML loading with file:line diagnostics, placeholders."""

from reev.spec.loader import (
    BenchmarkError,
    Diagnostic,
    LoadedBenchmark,
    discover,
    load_benchmark,
    load_many,
    parse_benchmark,
)
from reev.spec.models import Benchmark, FlowStep, ToolCallSpec
from reev.spec.placeholders import KeyMap, resolve_placeholders

__all__ = [
    "Benchmark",
    "BenchmarkError",
    "Diagnostic",
    "FlowStep",
    "KeyMap",
    "LoadedBenchmark",
    "ToolCallSpec",
    "discover",
    "load_benchmark",
    "load_many",
    "parse_benchmark",
    "resolve_placeholders",
]
