"""The unit of a score breakdown: one check with its weight, outcome and reason."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel


class Check(BaseModel):
    """One thing the scorer looked at. `reason` says why it failed, in words a user reads."""

    component: Literal["state", "instruction", "transaction"]
    name: str
    passed: bool
    weight: float
    earned: float
    reason: str | None = None
    expected: Any = None
    actual: Any = None


def fraction(checks: list[Check]) -> float | None:
    """Earned over possible; None when there is nothing to score."""
    possible = sum(c.weight for c in checks)
    if possible == 0:
        return None
    return sum(c.earned for c in checks) / possible
