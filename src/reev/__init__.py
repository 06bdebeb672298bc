"""reev: reproducible evaluation of LLM agents that act on Solana."""

from typing import Any

__version__ = "0.1.0"

# `vf-eval reev` imports this package as the verifiers taskset `reev` and takes the Env, Taskset and
# Harness classes it exports through `__all__`. They are loaded on first access (PEP 562), so
# `import reev` needs no verifiers installed.
_VERIFIERS_EXPORTS = ("ReevEnv", "ReevHarness", "ReevTaskset")
__all__ = ["__version__", *_VERIFIERS_EXPORTS]


def __getattr__(name: str) -> Any:
    if name in _VERIFIERS_EXPORTS:
        from reev import verifiers

        return getattr(verifiers, name)
    raise AttributeError(f"module 'reev' has no attribute {name!r}")
