"""reev's benchmarks as a verifiers environment; see `reev.verifiers.env` and docs/rl.md."""

from reev.verifiers.env import (
    ReevEnv,
    ReevEnvConfig,
    ReevHarness,
    ReevHarnessConfig,
    ReevTask,
    ReevTaskData,
    ReevTaskset,
    ReevTasksetConfig,
    load_environment,
)

__all__ = [
    "ReevEnv",
    "ReevEnvConfig",
    "ReevHarness",
    "ReevHarnessConfig",
    "ReevTask",
    "ReevTaskData",
    "ReevTaskset",
    "ReevTasksetConfig",
    "load_environment",
]
