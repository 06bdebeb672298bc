"""Benchmark → chain: a benchmark's `initial_state` written to (or built on) a fresh chain.

The only package that knows both the benchmark spec (`reev.spec`) and the chain
(`reev.chain`): chain/ itself knows nothing of benchmarks. `build_initial_state`
(initial_state.py) writes ordinary accounts directly and hands Token-2022 mints with extensions
to `token2022.py` and vote and stake accounts to `stake.py`, which build them with real
transactions. Every failure is a `SetupError`.
"""

from reev.setup.errors import SetupError
from reev.setup.initial_state import build_initial_state

__all__ = ["SetupError", "build_initial_state"]
