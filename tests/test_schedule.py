"""The start order of a concurrent run (reev.runner.schedule, issue 18): the longest expected
episodes first, results still in suite order, and one slot keeps the suite's order; starts
one event-loop turn apart (StartGate)."""

from __future__ import annotations

import asyncio
import itertools

from helpers.suite import bundled
from reev.agents.deterministic import DeterministicAgent
from reev.chain.litesvm import LiteSVMChain, pooled_chain
from reev.runner import run_suite
from reev.runner.schedule import expected_turns, start_order


def test_expected_turns_count_each_reference_call_and_one_answer_per_step():
    benches = bundled()
    for bench in benches.values():
        if bench.flow:
            want = sum(len(step.solution or []) + 1 for step in bench.flow)
        else:
            want = len(bench.solution or []) + 1
        assert expected_turns(bench) == want
    # The bundled suite has both kinds, or the ordering below would prove nothing.
    assert len({expected_turns(b) for b in benches.values()}) > 2


def test_longest_first_and_ties_in_suite_order():
    benches = list(bundled().values())
    order = start_order(benches, 4)
    assert sorted(order) == list(range(len(benches)))  # every episode once
    turns = [expected_turns(benches[k]) for k in order]
    assert turns == sorted(turns, reverse=True)
    for a, b in itertools.pairwise(order):
        if expected_turns(benches[a]) == expected_turns(benches[b]):
            assert a < b
    # The longest is a multi-step flow, which the suite lists after many short ones.
    assert benches[order[0]].flow and order[0] > 4


def test_one_slot_keeps_the_suite_order():
    benches = list(bundled().values())
    assert start_order(benches, 1) == list(range(len(benches)))


def test_a_concurrent_run_starts_the_longest_first_and_returns_suite_order(tmp_path):
    benches = list(bundled().values())[:30]
    started: list[str] = []

    def on_event(event: object) -> None:
        if getattr(event, "event", None) == "episode_started":
            started.append(event.benchmark_id)  # type: ignore[attr-defined]

    suite = asyncio.run(
        run_suite(
            benches, DeterministicAgent, log_dir=tmp_path, max_concurrency=2, on_event=on_event
        )
    )
    # Two slots: each episode starts when one of the two before it ends, in the start order.
    assert started == [benches[k].id for k in start_order(benches, 2)]
    assert started != [b.id for b in benches]  # the order did move something
    assert [r.benchmark_id for r in suite.results] == [b.id for b in benches]
    assert all(r.passed == (r.expected_outcome == "pass") for r in suite.results)


def test_workers_auto_keeps_an_llm_agent_in_one_process_up_to_its_slots(monkeypatch):
    """`--workers auto` adds a process per IO_SLOTS_PER_PROCESS model-waiting episodes (8: one
    process's loop stretches every episode beyond that, docs/design-choices.md), and one per
    slot for the CPU-bound deterministic agent, up to the cores."""
    import reev.runner.workers as workers
    from reev.cli.run import RunOptions, _worker_count
    from reev.runner.workers import IO_SLOTS_PER_PROCESS as slots

    monkeypatch.setattr(workers, "cpu_count", lambda: 8)

    def auto(agent: str, concurrency: int) -> int:
        opts = RunOptions(paths=[], agent=agent, max_concurrency=concurrency, workers="auto")
        return _worker_count(opts, None, 1000)

    assert slots == 8  # the figure docs/design-choices.md and docs/scale.md measure
    assert auto("local/scripted", 1) == auto("local/scripted", slots) == 1
    assert auto("local/scripted", slots + 1) == auto("local/scripted", 2 * slots) == 2
    assert auto("local/scripted", 2 * slots + 1) == 3
    assert auto("deterministic", 4) == 4


def test_concurrent_starts_give_the_event_loop_a_turn_between_them(tmp_path):
    """StartGate: each episode's start lets the loop run what became ready meanwhile (here a
    callback each start schedules), so a burst of starts cannot hold back the replies of the
    episodes already running. Without the gate all 8 starts ran before any callback."""
    benches = list(bundled().values())[:8]
    log: list[str] = []

    def chain() -> LiteSVMChain:
        n = sum(1 for entry in log if entry.startswith("start"))
        log.append(f"start {n}")
        asyncio.get_running_loop().call_soon(log.append, f"turn {n}")
        return pooled_chain()

    suite = asyncio.run(
        run_suite(
            benches, DeterministicAgent, log_dir=tmp_path, max_concurrency=8, chain_factory=chain
        )
    )
    starts = [entry for entry in log if entry.startswith("start")]
    assert len(starts) == len(benches)
    for n in range(len(benches) - 1):  # each start's callback ran before the next start
        assert log.index(f"turn {n}") < log.index(f"start {n + 1}")
    assert [r.benchmark_id for r in suite.results] == [b.id for b in benches]
    assert all(r.passed == (r.expected_outcome == "pass") for r in suite.results)
