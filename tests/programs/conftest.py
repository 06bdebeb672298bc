"""Fixtures of the on-chain program tests: clang-19 (skipping when absent), a C compiler into
BPF objects, and a chain with mints and pools built by real transactions."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from reev.programs.toolchain.build import CFLAGS, SDK_DIR, find_clang

from .amm_env import AmmEnv

NO_CLANG = "clang-19 is not installed (Debian: apt-get install clang-19; CI installs it)"


@pytest.fixture(scope="session")
def clang() -> str:
    found = find_clang()
    if found is None:
        pytest.skip(NO_CLANG)
    return found


def _compiler(clang: str, folder: Path) -> Callable[..., bytes]:
    def run(source: str, *extra: str) -> bytes:
        src = folder / "program.c"
        src.write_text(source)
        obj = folder / "program.o"
        flags = [
            f
            for f in CFLAGS
            if not (extra and f.startswith("-mcpu=") and any(e.startswith("-mcpu=") for e in extra))
        ]
        result = subprocess.run(
            [clang, *flags, *extra, "-I", str(SDK_DIR), "-c", str(src), "-o", str(obj)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        return obj.read_bytes()

    return run


@pytest.fixture
def compile_c(clang: str, tmp_path: Path) -> Callable[..., bytes]:
    """C source -> relocatable BPF object, with the build's flags (plus `extra`, which may
    override -mcpu)."""
    return _compiler(clang, tmp_path)


@pytest.fixture(scope="module")
def compile_c_module(clang: str, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., bytes]:
    """`compile_c` for module-scoped fixtures."""
    return _compiler(clang, tmp_path_factory.mktemp("c"))


@pytest.fixture
def env() -> AmmEnv:
    return AmmEnv()
