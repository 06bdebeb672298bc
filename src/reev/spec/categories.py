"""Benchmark categories and difficulty tiers, read from a benchmark's `tags`.

A benchmark's category is the first of its tags that is a known category, so
`tags: [flow, wsol, t3]` is a flow (that also uses wSOL); a benchmark with none is "other". Its
tier is its first `t1`/`t2`/`t3` tag. `reev list` groups by these, and the TUI and dashboard can
use the same helpers.
"""

from __future__ import annotations

from collections.abc import Iterable

# Display order: the building blocks first, then the tasks that combine or question them.
CATEGORIES: tuple[str, ...] = (
    "system",
    "spl-token",
    "token-2022",
    "wsol",
    "memo",
    "stake",
    "swap",
    "reading",
    "judgement",
    "flow",
)
OTHER = "other"
TIERS: tuple[str, ...] = ("t1", "t2", "t3")


def category_of(tags: Iterable[str]) -> str:
    """The first tag that is a known category, else "other"."""
    return next((tag for tag in tags if tag in CATEGORIES), OTHER)


def tier_of(tags: Iterable[str]) -> str | None:
    """The first tier tag (t1, t2, t3), or None when the benchmark has none."""
    return next((tag for tag in tags if tag in TIERS), None)


def category_rank(category: str) -> int:
    """Sort key: known categories in `CATEGORIES` order, "other" (and anything else) last."""
    return CATEGORIES.index(category) if category in CATEGORIES else len(CATEGORIES)
