"""Run-wide limits (`--max-tokens`, `--max-cost`) shared by every episode of a run.

Episodes run concurrently on one event loop, so plain counters are safe: updates happen
between awaits, never in parallel.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class RunBudget:
    max_tokens: int | None = None
    max_cost_usd: float | None = None
    tokens: int = 0
    cost_usd: float = 0.0

    def add(self, tokens: int, cost_usd: float) -> None:
        self.tokens += tokens
        self.cost_usd += cost_usd

    def exhausted(self) -> str | None:
        """Why the run must stop, or None."""
        if self.max_tokens is not None and self.tokens >= self.max_tokens:
            return f"{self.tokens} tokens used, limit --max-tokens {self.max_tokens}"
        if self.max_cost_usd is not None and self.cost_usd >= self.max_cost_usd:
            return f"${self.cost_usd:.4f} spent, limit --max-cost {self.max_cost_usd}"
        return None
