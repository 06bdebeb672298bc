"""The order episodes start in when several run at once: longest expected first.

A concurrent run cannot end before its longest episode does. Started in suite order, the
bundled suite's 9- and 10-model-call flow benchmarks came after the first 32 short ones at
`--max-concurrency 32`, started at about 1.5 s and ended the run at 4 s, where the longest
episode alone takes 2.1 s (issue 18). Starting the longest first (LPT: longest processing
time first, the classic greedy for filling parallel slots) lets the short ones fill in around
them.

The expected length is the reference solution's size: one model call per reference tool call
plus the final answer, per step. It is derived from ground truth, so it stays in the runner:
it orders `asyncio` tasks, worker queues and Ray submissions and nothing else. No agent,
prompt, event, session file or result sees it, and results still come back in suite order.

`StartGate` spaces the starts of one process's episodes by a turn of its event loop each, so
a burst of starts cannot hold back the replies of the episodes already running.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from reev.spec.models import Benchmark


def expected_turns(benchmark: Benchmark) -> int:
    """Model calls the reference solution takes: each reference tool call, plus one final
    answer per step (a step without a reference solution counts that one)."""
    if benchmark.flow:
        return sum(len(step.solution or []) + 1 for step in benchmark.flow)
    return len(benchmark.solution or []) + 1


def start_order(benchmarks: Sequence[Benchmark], concurrency: int) -> list[int]:
    """Positions into `benchmarks` (one per planned episode, repeats allowed) in the order to
    start them: longest expected first, suite order among equals. With one slot the order
    cannot change the run's length, so the suite's order is kept (and with it which episodes a
    budget that runs out leaves unstarted)."""
    positions = list(range(len(benchmarks)))
    if concurrency <= 1:
        return positions
    turns = [expected_turns(b) for b in benchmarks]
    return sorted(positions, key=lambda i: -turns[i])  # stable: ties keep suite order


class StartGate:
    """Lets the episodes of a run begin one per turn of the event loop.

    An episode's set-up (taking a VM, the default markets and lending, the set-up transactions)
    runs without suspending, 20-30 ms of CPU each at the start of a run. Started together, the
    32 episodes of `--max-concurrency 32` in one process ran those starts back to back in one
    turn of the loop, about 0.77 s, and the longest episode, started first, sent its first model
    call only after all of them (issue 18, session 10). Through the gate each start waits for at
    least one turn of the loop (with its I/O poll), in which the I/O that became ready meanwhile
    (earlier episodes' connections and replies) is handled, so those episodes go on between the
    starts. The order of starts and what each episode does are unchanged; only the
    interleaving is."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()

    async def turn(self) -> None:
        """Wait for this start's turn: at least one loop turn after the previous start's (the
        lock's hand-over takes one, the sleep another)."""
        async with self._lock:
            await asyncio.sleep(0)
