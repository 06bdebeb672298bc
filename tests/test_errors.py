"""reev.errors: every error reev raises has one kind, and the CLI's exit code follows the kind.

The rule under test (reev/errors.py, docs/session.md "Exit codes"): bad input exits 2, every
other failure 1. Each of reev's exception classes is checked where it is imported from today.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from reev.agents.base import AgentError as AgentsAgentError
from reev.agents.preflight import EndpointUnavailable
from reev.agents.pricing import PricingError
from reev.agents.providers import ProviderError
from reev.agents.registry import UnknownAgentError
from reev.agents.retry import ModelCallFailed
from reev.chain.fork import (
    AccountNotInSnapshot,
    ChainDataUnavailable,
    SnapshotCorrupt,
    UpstreamError,
)
from reev.chain.jsonrpc import JsonRpcError
from reev.errors import (
    AgentError,
    ChainError,
    ExitCode,
    InfrastructureError,
    InputError,
    ReevError,
    exit_code_for,
)
from reev.rpc.errors import RpcError
from reev.runs import RunNotFound
from reev.service.actions import ActionError, InvalidBenchmark
from reev.setup import SetupError
from reev.spec.loader import BenchmarkError
from reev.spec.placeholders import PlaceholderError
from reev.tools.base import ToolError
from reev.units import AmountError

KINDS = (InputError, ChainError, AgentError, InfrastructureError)

# Each class and the one kind it is (reev/errors.py's table).
CLASSES = [
    (BenchmarkError, InputError),
    (PlaceholderError, InputError),
    (SetupError, InputError),
    (AmountError, InputError),
    (ProviderError, InputError),
    (UnknownAgentError, InputError),
    (PricingError, InputError),
    (ActionError, InputError),
    (InvalidBenchmark, InputError),
    (EndpointUnavailable, InputError),
    (RunNotFound, InputError),
    (ChainDataUnavailable, ChainError),
    (AccountNotInSnapshot, ChainError),
    (UpstreamError, ChainError),
    (SnapshotCorrupt, ChainError),
    (RpcError, ChainError),
    (JsonRpcError, InfrastructureError),
    (AgentsAgentError, AgentError),
    (ToolError, AgentError),
    (ModelCallFailed, AgentError),
]


@pytest.mark.parametrize(("cls", "kind"), CLASSES, ids=[c.__name__ for c, _ in CLASSES])
def test_each_error_has_exactly_one_kind(cls: type, kind: type) -> None:
    assert issubclass(cls, ReevError)
    assert [k for k in KINDS if issubclass(cls, k)] == [kind]


@pytest.mark.parametrize(("cls", "kind"), CLASSES, ids=[c.__name__ for c, _ in CLASSES])
def test_exit_code_follows_the_kind(cls: type, kind: type) -> None:
    exc = cls.__new__(cls)  # the mapping reads the type only; constructors differ
    expected = 2 if kind is InputError else 1
    assert exit_code_for(exc) == expected


def test_the_kinds_themselves_and_foreign_exceptions() -> None:
    assert exit_code_for(InputError("bad option")) == ExitCode.INVALID == 2
    for kind in (ChainError, AgentError, InfrastructureError, ReevError):
        assert exit_code_for(kind("x")) == ExitCode.RUN_FAILED == 1
    # A library's ValueError is not reev telling the user their input is wrong: a failure.
    assert exit_code_for(ValueError("from a library")) == 1
    assert exit_code_for(KeyError("a bug")) == 1


def test_input_errors_stay_value_errors() -> None:
    """Pydantic turns a ValueError raised in a validator into a field error, and callers
    caught these classes as ValueError before the hierarchy existed."""
    assert issubclass(InputError, ValueError)
    for cls, kind in CLASSES:
        assert issubclass(cls, ValueError) == (kind is InputError), cls


def test_exit_codes_are_the_documented_ones() -> None:
    assert [(c.name, int(c)) for c in ExitCode] == [
        ("OK", 0),
        ("RUN_FAILED", 1),
        ("INVALID", 2),
        ("FAIL_UNDER", 3),
    ]


def test_the_cli_exits_2_on_an_invalid_execution_id(tmp_path) -> None:
    """check_execution_id raises InputError; the CLI maps it with exit_code_for."""
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "reev.cli", "run", "benchmarks/001-sol-transfer.yml"),
            *("--execution-id", "../escape", "--log-dir", str(tmp_path)),
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert proc.returncode == 2, proc.stderr
    assert "invalid execution id '../escape'" in proc.stderr
