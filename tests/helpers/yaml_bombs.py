"""Hostile YAML for the loader's tests (issue 16): the "billion laughs" and where its refusal
must land by the documented node-counting rule."""

from __future__ import annotations

import itertools


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """The "billion laughs": level k is a list of `width` aliases to level k-1 (one per line)."""
    names = [chr(ord("a") + i) for i in range(levels)]
    lines = [f"{names[0]}: &{names[0]} [{', '.join(['lol'] * width)}]"]
    for previous, name in itertools.pairwise(names):
        lines.append(f"{name}: &{name} [{', '.join(['*' + previous] * width)}]")
    return "\n".join(lines) + "\n"


def bomb_refusal_line(levels: int, width: int, budget: int) -> int | None:
    """The line where the bomb passes `budget` by the documented rule (every scalar, list and
    mapping counted once per place it appears after expansion, keys included), or None."""
    total = 1  # the top-level mapping
    size = 0  # expanded size of the previous level's list
    for level in range(levels):
        total += 2  # the key, then its list
        if total > budget:
            return level + 1
        for _ in range(width):
            total += 1 if level == 0 else size
            if total > budget:
                return level + 1
        size = 1 + width * (1 if level == 0 else size)
    return None
