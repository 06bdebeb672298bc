"""The one error of benchmark set-up."""

from __future__ import annotations

from reev.errors import InputError


class SetupError(InputError):
    """The initial state cannot be built (an undeclared mint, a bad owner, …)."""
