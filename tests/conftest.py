"""Fixtures and hooks only; what test modules share is in tests/helpers (imported as `helpers`)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from helpers.suite import bundled
from reev.spec import Benchmark


def pytest_configure(config: pytest.Config) -> None:
    """Hypothesis (the schemathesis tests) keeps a cache folder, `.hypothesis/` in the working
    directory by default: put it in the system's temporary folder, out of the source tree."""
    os.environ.setdefault(
        "HYPOTHESIS_STORAGE_DIRECTORY", str(Path(tempfile.gettempdir()) / "reev-tests-hypothesis")
    )


@pytest.fixture
def suite() -> dict[str, Benchmark]:
    return bundled()


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where tests leave files for people to look at (screenshots, the mutation report): under
    pytest's temporary folder (`/tmp/pytest-of-$USER/pytest-current/artifacts0`, or
    `--basetemp`), never in the source tree."""
    return tmp_path_factory.mktemp("artifacts")
