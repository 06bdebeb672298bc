"""Control characters in a benchmark's strings: refused before anything uses them.

YAML's reader already refuses raw control characters in a file, but a double-quoted string can
still spell one (`id: "a\\0b"`, `"\\x07"`). In a name such a character is never meant: a NUL is cut
silently by C APIs and file systems, an escape sequence rewrites a terminal, a newline forges a
log line. So:

- identifiers (mapping keys, and every string that is the value of one of `IDENTIFIER_KEYS`, or
  an item of a list that is: the benchmark id, tags, step references, tool names, and every field
  that names an account or placeholder) may hold no control character at all (Unicode category
  Cc, tab and newline included);
- every other string (prompts, descriptions, tool arguments) may hold tab, newline and carriage
  return, and no other control character.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

IDENTIFIER_KEYS = frozenset(
    {
        # names
        "id",
        "tags",
        "depends_on",
        "tool",
        "type",
        "seed",
        # fields naming an account (a base58 address or an ALL_CAPS placeholder)
        "pubkey",
        "owner",
        "mint",
        "mints",
        "address",
        "delegate",
        "node",
        "withdrawer",
        "staker",
        "delegated_vote",
        "authority",
        "mint_authority",
        "freeze_authority",
        "base",
        "program",
        "program_id",
    }
)

_ANY_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

PathKey = tuple[str | int, ...]


def control_characters(data: Any) -> Iterator[tuple[PathKey, str]]:
    """Every (path, message) of a string in `data` holding a character it may not hold.

    Each shared object (a YAML alias) is checked once, where it first appears."""
    seen: set[int] = set()
    stack: list[tuple[Any, PathKey, bool]] = [(data, (), False)]
    while stack:
        value, path, identifier = stack.pop()
        if isinstance(value, str):
            pattern = _ANY_CONTROL if identifier else _CONTROL_IN_TEXT
            match = pattern.search(value)
            if match is not None:
                kind = "an identifier" if identifier else "text"
                yield path, f"control character U+{ord(match.group()):04X} is not allowed in {kind}"
        elif isinstance(value, dict | list):
            if id(value) in seen:
                continue
            seen.add(id(value))
            if isinstance(value, list):
                items = [((*path, i), item, identifier) for i, item in enumerate(value)]
            else:
                items = []
                for key, item in value.items():
                    if isinstance(key, str) and _ANY_CONTROL.search(key):
                        message = f"control character in the key {key!r} is not allowed"
                        yield (*path, key), message
                    items.append(((*path, key), item, key in IDENTIFIER_KEYS))
            stack.extend((item, item_path, ident) for item_path, item, ident in reversed(items))
