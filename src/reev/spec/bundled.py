"""Where the benchmark suite that ships with reev lives.

A wheel carries it as package data (`reev/benchmarks`, see pyproject.toml's force-include); a
source checkout or editable install has it at the repository's top level, beside `src/`.
"""

from __future__ import annotations

from pathlib import Path

import reev
from reev.errors import InputError


def bundled_benchmarks_dir() -> Path:
    """The folder of the bundled suite's YAML files."""
    package = Path(reev.__file__).resolve().parent
    for candidate in (package / "benchmarks", package.parents[1] / "benchmarks"):
        if candidate.is_dir():
            return candidate
    raise InputError(f"the bundled benchmarks are missing (looked in {package / 'benchmarks'})")
