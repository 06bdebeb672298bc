"""The optional dependencies of reports and exports, checked before any of them is imported.

numpy, scipy, pandas, pyarrow and matplotlib are the `analysis` extra: core reev (running
benchmarks, the API, the dashboard) works without them. A command or route that needs them
calls `require()` first and gets one clear error naming the extra instead of an ImportError.
"""

from __future__ import annotations

import importlib.util

from reev.errors import InfrastructureError

ANALYSIS_PACKAGES = ("numpy", "scipy", "pandas", "pyarrow", "matplotlib")
INSTALL_HINT = "pip install 'reev[analysis]'"


def missing(packages: tuple[str, ...] = ANALYSIS_PACKAGES) -> list[str]:
    return [name for name in packages if importlib.util.find_spec(name) is None]


def require(packages: tuple[str, ...] = ANALYSIS_PACKAGES) -> None:
    """Raise `InfrastructureError` (exit 1: something the command needs is not there) when any
    of `packages` is not installed."""
    absent = missing(packages)
    if absent:
        raise InfrastructureError(f"reports and exports need {', '.join(absent)}: {INSTALL_HINT}")
