"""YAML parsing with budgets: a benchmark is hostile input until it has been read.

PyYAML's composer shares one node between an anchor and all its aliases, which is cheap, but
everything that walks the resulting tree (our line map, pydantic, `model_dump`) expands it: nine
levels of nine aliases (a 477-byte "billion laughs") become 387 million nodes. So composition here
counts what the document *would* expand to and stops at the first event past a budget, with the
line of that event, before anything expands it:

- `MAX_NODES`: scalars, lists and mappings (keys included), each counted once per place it
  appears after alias expansion. An alias costs the expanded size of its anchor.
- `MAX_DEPTH`: nesting, also after expansion (an alias adds its anchor's height).
- An alias to an anchor that is still open (a recursive structure) is refused outright.

libyaml (`yaml.CParser`) produces the events when it is installed (about eight times faster than
the pure-Python parser on the bundled suite); the composer over those events is ours in both
cases so the budgets hold either way. Errors are always worded as the pure-Python loader words
them: when libyaml finds a problem, the text is parsed again with the pure-Python parser and its
error is the one reported (the same messages and lines as before libyaml was used).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.events import (
    AliasEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from reev.errors import InputError

MAX_NODES = 1_000_000
MAX_DEPTH = 64

# `yaml.CSafeLoader` exists only when PyYAML was built against libyaml.
FAST_LOADER: type[Any] | None = getattr(yaml, "CSafeLoader", None)


class BudgetError(InputError):
    """A document past one of the budgets; `line` is where the budget ran out (1-based)."""

    def __init__(self, line: int, message: str):
        self.line = line
        self.message = message
        super().__init__(f"line {line}: {message}")


@dataclass(frozen=True)
class Budget:
    """How much one document may expand to (the defaults are what every benchmark gets)."""

    nodes: int = MAX_NODES
    depth: int = MAX_DEPTH


@dataclass
class Stats:
    """What composition counted: the expanded node count and depth, and how many aliases."""

    nodes: int = 0
    depth: int = 0
    aliases: int = 0


@dataclass
class Document:
    """A composed and constructed document.

    `alias_lines` maps (id of a list node, index in its `value`) to the line of the alias
    written there: the shared node's own mark is its anchor's, and a diagnostic about a
    value reached through an alias should point at the alias."""

    node: Node | None
    data: Any
    alias_lines: dict[tuple[int, int], int]


@dataclass
class _Open:
    """A list or mapping whose end event has not come yet."""

    node: SequenceNode | MappingNode
    anchor: str | None
    size: int = 1
    height: int = 1
    key: Node | None = None  # a mapping's key waiting for its value


def _line(event: Any) -> int:
    return int(event.start_mark.line) + 1


def compose(
    loader: Any,
    budget: Budget = Budget(),
    stats: Stats | None = None,
    alias_lines: dict[tuple[int, int], int] | None = None,
) -> Node | None:
    """The single document of `loader`'s stream as a node graph, or None for an empty stream.

    Raises `BudgetError` past a budget and PyYAML's own errors (the same messages as
    `get_single_node`) for anything else."""
    stats = stats if stats is not None else Stats()
    loader.get_event()  # StreamStartEvent
    if loader.check_event(StreamEndEvent):
        loader.get_event()
        return None
    loader.get_event()  # DocumentStartEvent
    root = _compose_node(loader, budget, stats, {} if alias_lines is None else alias_lines)
    loader.get_event()  # DocumentEndEvent
    if not loader.check_event(StreamEndEvent):
        event = loader.get_event()
        raise ComposerError(
            "expected a single document in the stream",
            root.start_mark,
            "but found another document",
            event.start_mark,
        )
    loader.get_event()
    return root


def _compose_node(
    loader: Any, budget: Budget, stats: Stats, alias_lines: dict[tuple[int, int], int]
) -> Node:
    """PyYAML's `Composer.compose_node` without recursion, counting as it goes."""
    anchors: dict[str, Node] = {}
    sizes: dict[str, tuple[int, int]] = {}  # closed anchors: (expanded size, height)
    stack: list[_Open] = []
    while True:
        event = loader.get_event()
        kind = type(event)
        node: Node
        alias_line = 0
        if kind is SequenceEndEvent or kind is MappingEndEvent:
            done = stack.pop()
            done.node.end_mark = event.end_mark
            if done.anchor is not None:
                sizes[done.anchor] = (done.size, done.height)
            node, size, height = done.node, done.size, done.height
        elif kind is AliasEvent:
            anchor = event.anchor
            if anchor not in anchors:
                raise ComposerError(
                    None, None, f"found undefined alias {anchor!r}", event.start_mark
                )
            if anchor not in sizes:
                raise BudgetError(
                    _line(event),
                    f"alias *{anchor} is inside its own anchor (a recursive structure); "
                    "benchmarks must be trees",
                )
            node = anchors[anchor]
            size, height = sizes[anchor]
            stats.aliases += 1
            alias_line = _line(event)
            _spend(budget, stats, event, size, len(stack) + height)
        else:
            anchor = event.anchor
            if anchor is not None and anchor in anchors:
                raise ComposerError(
                    f"found duplicate anchor {anchor!r}; first occurrence",
                    anchors[anchor].start_mark,
                    "second occurrence",
                    event.start_mark,
                )
            _spend(budget, stats, event, 1, len(stack) + 1)
            tag = event.tag
            if kind is ScalarEvent:
                if tag is None or tag == "!":
                    tag = loader.resolve(ScalarNode, event.value, event.implicit)
                node = ScalarNode(
                    tag, event.value, event.start_mark, event.end_mark, style=event.style
                )
                size = height = 1
                if anchor is not None:
                    anchors[anchor] = node
                    sizes[anchor] = (1, 1)
            elif kind is SequenceStartEvent or kind is MappingStartEvent:
                container = SequenceNode if kind is SequenceStartEvent else MappingNode
                if tag is None or tag == "!":
                    tag = loader.resolve(container, None, event.implicit)
                opened = container(tag, [], event.start_mark, None, flow_style=event.flow_style)
                if anchor is not None:
                    anchors[anchor] = opened
                stack.append(_Open(opened, anchor))
                continue
            else:  # pragma: no cover - the parser emits only the events above inside a document
                raise ComposerError(None, None, f"unexpected {event}", event.start_mark)
        if not stack:
            return node
        parent = stack[-1]
        parent.size += size
        if height + 1 > parent.height:
            parent.height = height + 1
        if isinstance(parent.node, SequenceNode):
            if alias_line:  # (a mapping's value is reported at its key's line anyway)
                alias_lines[(id(parent.node), len(parent.node.value))] = alias_line
            parent.node.value.append(node)
        elif parent.key is None:
            parent.key = node
        else:
            parent.node.value.append((parent.key, node))
            parent.key = None


def _spend(budget: Budget, stats: Stats, event: Any, nodes: int, depth: int) -> None:
    stats.nodes += nodes
    if stats.nodes > budget.nodes:
        raise BudgetError(
            _line(event),
            f"the document expands to more than {budget.nodes:,} nodes (aliases included); "
            "this is the loader's budget (docs/benchmarks.md)",
        )
    if depth > stats.depth:
        stats.depth = depth
        if depth > budget.depth:
            raise BudgetError(
                _line(event),
                f"nesting deeper than {budget.depth} levels (aliases included); "
                "this is the loader's budget (docs/benchmarks.md)",
            )


def _load_with(loader: Any, budget: Budget, stats: Stats) -> Document:
    try:
        alias_lines: dict[tuple[int, int], int] = {}
        node = compose(loader, budget, stats, alias_lines)
        data = None if node is None else loader.construct_document(node)
        return Document(node, data, alias_lines)
    finally:
        loader.dispose()


def load(
    source: str, *, fast: bool = True, budget: Budget = Budget(), stats: Stats | None = None
) -> Document:
    """The node graph (for line numbers) and the constructed data of one YAML document.

    Raises `yaml.reader.ReaderError` for characters YAML forbids (checked by the pure-Python
    reader: libyaml words it differently and lets lone surrogates through), `BudgetError`, and
    PyYAML's other errors as the pure-Python loader raises them."""
    stats = stats if stats is not None else Stats()
    reference = yaml.SafeLoader(source)  # its reader rejects control characters right here
    if not fast or FAST_LOADER is None:
        return _load_with(reference, budget, stats)
    reference.dispose()
    try:
        return _load_with(FAST_LOADER(source), budget, stats)
    except yaml.YAMLError:
        # Report what the pure-Python loader reports (the wording and lines users know).
        stats.nodes = stats.depth = stats.aliases = 0
        return _load_with(yaml.SafeLoader(source), budget, stats)
