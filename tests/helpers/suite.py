"""The bundled benchmark suite (benchmarks/), loaded as the runner loads it."""

from __future__ import annotations

from helpers.paths import BENCHMARKS
from reev.spec import Benchmark, load_benchmark, load_many


def bundled() -> dict[str, Benchmark]:
    """Every bundled benchmark by id; fails the test if any file does not load."""
    loaded, errors = load_many([BENCHMARKS])
    assert not errors, errors
    return {item.benchmark.id: item.benchmark for item in loaded}


def benchmark(benchmark_id: str) -> Benchmark:
    """One bundled benchmark, by the file name's stem."""
    return load_benchmark(BENCHMARKS / f"{benchmark_id}.yml").benchmark
