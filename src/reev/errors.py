"""reev's errors: one base, four kinds, and the CLI exit code of each.

Every exception reev raises on purpose derives from `ReevError` through exactly one kind, so a
caller can catch what it means to handle ("the input is wrong") without catching a library's
`ValueError` or a bug by accident:

| kind                  | means                                                      | examples (where they live)                                         | `reev` exits with |
|-----------------------|------------------------------------------------------------|--------------------------------------------------------------------|-------------------|
| `InputError`          | what the user gave is wrong: a benchmark, option, argument | BenchmarkError, PlaceholderError, SetupError, AmountError, ProviderError, PricingError, InvalidBenchmark, ActionError, EndpointUnavailable, RunNotFound | 2 (`EXIT_INVALID`) |
| `ChainError`          | the chain cannot do what was asked, or lacks the state     | ChainDataUnavailable (and its kinds), JsonRpcError, RpcError         | 1 (`EXIT_RUN_FAILED`) |
| `AgentError`          | the agent failed, or misused a tool                        | AgentError (reev.agents.base), ToolError, ModelCallFailed            | 1 |
| `InfrastructureError` | something reev relies on failed: a service, a file system  | (none of reev's own yet; the kind callers catch for them)            | 1 |

Anything that is not a `ReevError` is a bug or a library's failure: exit code 1 as well, so
only bad input is told apart (2), as the CLI documents (docs/session.md, "Exit codes"). 0 and 3
(`--fail-under` not met) are outcomes of a run, not errors.

`InputError` is also a `ValueError`: a bad value is what `ValueError` means, pydantic turns a
`ValueError` raised in a validator (an amount, a placeholder) into a field error, and code that
caught the `ValueError`s these classes were before keeps working. The other kinds derive from
nothing but `ReevError`.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """`reev`'s exit codes (docs/session.md)."""

    OK = 0
    RUN_FAILED = 1  # some episode Failed or Timeout, or an error that is not bad input
    INVALID = 2  # invalid input: benchmark files, options, arguments
    FAIL_UNDER = 3  # --fail-under not met


class ReevError(Exception):
    """Base of every error reev raises on purpose."""


class InputError(ReevError, ValueError):
    """Bad input: a benchmark, an option, an argument, a request. The message names what is
    wrong and where."""


class ChainError(ReevError):
    """The chain could not do what was asked, or lacks state it needs (not the agent's
    mistake)."""


class AgentError(ReevError):
    """The agent could not do its job (no solution, model unreachable, …) or misused a tool."""


class InfrastructureError(ReevError):
    """Something reev relies on failed: an endpoint, a database, the file system."""


def exit_code_for(exc: BaseException) -> ExitCode:
    """The exit code `reev` ends with when `exc` stops a command (see the module docstring)."""
    if isinstance(exc, InputError):
        return ExitCode.INVALID
    return ExitCode.RUN_FAILED
