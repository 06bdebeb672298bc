"""reev's benchmarks as Gymnasium environments (`pip install reev[rl]`).

Importing this package registers one environment per bundled benchmark as
`reev/<benchmark-id>` (`gymnasium.make("reev/002-spl-transfer")`); `make_env(path)` builds one
for any benchmark file. docs/rl.md describes the spaces and the reward.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium

from reev.gym.env import FINISH, ReevEnv, tool_schemas
from reev.spec.bundled import bundled_benchmarks_dir
from reev.spec.loader import discover, load_benchmark

NAMESPACE = "reev"


def make_env(path: str | Path, *, seed: int | None = None, **options: Any) -> ReevEnv:
    """The environment of the benchmark file at `path`; `seed` is the episode seed of a first
    `reset()` given none. `options`: `max_turns`, `profile`, `log_dir`, `render_mode`."""
    return ReevEnv(path, seed=seed, **options)


def register_benchmarks(paths: list[str | Path] | None = None) -> list[str]:
    """Register `reev/<id>` for every benchmark under `paths` (the bundled suite by default);
    the ids registered."""
    ids = []
    for file in discover(paths or [bundled_benchmarks_dir()]):
        benchmark = load_benchmark(file).benchmark
        env_id = f"{NAMESPACE}/{benchmark.id}"
        if env_id not in gymnasium.registry:
            gymnasium.register(
                id=env_id,
                entry_point="reev.gym.env:ReevEnv",
                kwargs={"benchmark": str(file)},
                nondeterministic=False,
                disable_env_checker=False,
            )
        ids.append(env_id)
    return ids


BENCHMARK_ENVS = register_benchmarks()

__all__ = ["BENCHMARK_ENVS", "FINISH", "ReevEnv", "make_env", "register_benchmarks", "tool_schemas"]
