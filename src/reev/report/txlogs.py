"""Program logs → an invocation tree: which program called which, what it logged, what it cost.

Solana runtimes log `Program <id> invoke [<depth>]`, `Program log: …`, `Program <id> consumed
<n> of <m> compute units`, then `Program <id> success` or `Program <id> failed: <reason>`. The
parser rebuilds the call tree from those lines; anything it does not recognise is kept as a log
line of the innermost open invocation, so nothing is lost.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, Field
from rich.text import Text
from rich.tree import Tree

from reev.chain.decode import instruction_name
from reev.chain.instructions import InstructionRecord
from reev.constants import program_name

_INVOKE = re.compile(r"^Program (\S+) invoke \[(\d+)\]$")
_CONSUMED = re.compile(r"^Program (\S+) consumed (\d+) of (\d+) compute units$")
_SUCCESS = re.compile(r"^Program (\S+) success$")
_FAILED = re.compile(r"^Program (\S+) failed: (.*)$")
_LOG = re.compile(r"^Program (?:log|data): (.*)$")
_INSTRUCTION = re.compile(r"^Instruction: (.+)$")
# Nesting kept in the tree. Solana stops at an invoke depth of 5; logs claiming thousands of
# levels (a hostile or corrupt session file) hang the deeper frames flat under the last kept
# level, so every renderer (JSON, YAML, rich) walks a tree of bounded depth.
MAX_NESTING = 32


class Invocation(BaseModel):
    program_id: str
    program: str | None = Field(default=None, description="Well-known name, when there is one")
    depth: int
    instruction: str | None = Field(default=None, description="From an `Instruction: X` log line")
    compute_units: int | None = None
    compute_units_inferred: bool = Field(
        default=False, description="Builtin programs log no usage; inferred from the total"
    )
    compute_budget: int | None = None
    success: bool | None = None
    error: str | None = None
    logs: list[str] = Field(default_factory=list)
    children: list[Invocation] = Field(default_factory=list)


class LogTree(BaseModel):
    """All top-level invocations of one transaction, plus lines outside any invocation."""

    invocations: list[Invocation] = Field(default_factory=list)
    other: list[str] = Field(default_factory=list)

    @property
    def total_compute_units(self) -> int:
        return sum(i.compute_units or 0 for i in self.invocations)


def parse_logs(
    lines: list[str],
    instructions: list[InstructionRecord] | None = None,
    total_compute_units: int | None = None,
) -> LogTree:
    """Parse one transaction's logs. With its `instructions`, top-level invocations are named
    from their data; with its total, builtin programs (which log no usage) get the remainder."""
    tree = LogTree()
    stack: list[Invocation] = []
    for line in lines:
        if match := _INVOKE.match(line):
            node = Invocation(
                program_id=match.group(1),
                program=program_name(match.group(1)),
                depth=int(match.group(2)),
            )
            while stack and stack[-1].depth >= node.depth:
                stack.pop()  # a frame that never reported its end
            parent = stack[min(len(stack), MAX_NESTING) - 1] if stack else None
            (parent.children if parent else tree.invocations).append(node)
            stack.append(node)
        elif (match := _CONSUMED.match(line)) and stack:
            frame = _frame(stack, match.group(1))
            frame.compute_units = int(match.group(2))
            frame.compute_budget = int(match.group(3))
        elif (match := _SUCCESS.match(line)) and stack:
            _frame(stack, match.group(1)).success = True
            _pop(stack, match.group(1))
        elif (match := _FAILED.match(line)) and stack:
            frame = _frame(stack, match.group(1))
            frame.success, frame.error = False, match.group(2)
            _pop(stack, match.group(1))
        elif stack:
            text = log.group(1) if (log := _LOG.match(line)) else line
            frame = stack[-1]
            if frame.instruction is None and (ix := _INSTRUCTION.match(text)):
                frame.instruction = ix.group(1)
            frame.logs.append(text)
        else:
            tree.other.append(line)
    if instructions is not None and len(instructions) == len(tree.invocations):
        for node, record in zip(tree.invocations, instructions, strict=True):
            node.instruction = instruction_name(record.program_id, record.data) or node.instruction
    if total_compute_units is not None:
        _infer_builtin_units(tree, total_compute_units)
    return tree


def _infer_builtin_units(tree: LogTree, total: int) -> None:
    missing = [n for n in tree.invocations if n.compute_units is None and n.success is not None]
    remainder = total - tree.total_compute_units
    if missing and remainder >= 0 and remainder % len(missing) == 0:
        for node in missing:
            node.compute_units, node.compute_units_inferred = remainder // len(missing), True


def _frame(stack: list[Invocation], program_id: str) -> Invocation:
    for frame in reversed(stack):
        if frame.program_id == program_id:
            return frame
    return stack[-1]


def _pop(stack: list[Invocation], program_id: str) -> None:
    while stack:
        if stack.pop().program_id == program_id:
            return


def _label(node: Invocation) -> Text:
    name = node.program or node.program_id
    text = Text(name, style="bold")
    if node.program:
        text.append(f" {node.program_id[:8]}…", style="dim")
    if node.instruction:
        text.append(f" · {node.instruction}", style="cyan")
    if node.compute_units is not None:
        text.append(
            f" · {node.compute_units} CU" + (" (inferred)" if node.compute_units_inferred else "")
        )
    if node.success is True:
        text.append(" ✓", style="green")
    elif node.success is False:
        text.append(f" ✗ {node.error}", style="red")
    return text


def _add(parent: Tree, node: Invocation) -> None:
    branch = parent.add(_label(node))
    for line in node.logs:
        branch.add(Text(line, style="dim"))
    for child in node.children:
        _add(branch, child)


def transaction_tree(tx: Any) -> LogTree:
    """The log tree of a recorded transaction (session `TransactionRecord` or `TxResult`)."""
    return parse_logs(tx.logs, tx.instructions, tx.compute_units)


def render_tree(tree: LogTree, title: str | Text) -> Tree:
    root = Tree(title)
    for node in tree.invocations:
        _add(root, node)
    for line in tree.other:
        root.add(Text(line, style="dim"))
    return root


def session_log_trees(session: Any) -> list[dict[str, Any]]:
    """Every transaction of a session with its parsed log tree (the API's JSON form)."""
    out = []
    for step in session.steps:
        for tx in step.transactions:
            tree = transaction_tree(tx)
            out.append(
                {
                    "step": step.step,
                    "signature": tx.signature,
                    "success": tx.success,
                    "error": tx.error,
                    "compute_units": tx.compute_units,
                    "fee": tx.fee,
                    "tree": tree.model_dump(),
                }
            )
    return out
