"""Episodes in worker processes (reev.runner.workers, issue 18 part 2): the same results,
signatures and session files as in one process; a dead worker fails only its own episodes."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.sessions import comparable_session
from helpers.suite import bundled
from helpers.worker_agents import (
    DOOMED,
    CannotBeMadeInAWorker,
    EndsTheFirstWorkerToLoadIt,
    KillsItsWorker,
    LoadsNowhere,
    ReportsItsPool,
)
from reev.agents.deterministic import DeterministicAgent
from reev.events import ExecutionStatus
from reev.runner import run_suite
from reev.runner.session import read_session
from reev.runner.workers import (
    IO_WARM_VMS,
    EpisodeTask,
    RunParameters,
    WorkerPoolError,
    _Outbox,
    _result_or_failure,
)

pytestmark = pytest.mark.slow  # starts processes

# A run that hangs (a worker's death not noticed) fails its test instead of stalling the suite:
# these runs take a few seconds.
_HANG_S = 120


def _run_within(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, _HANG_S))


def test_two_workers_give_what_one_process_gives(tmp_path):
    benches = list(bundled().values())[:12]
    seen: list[str] = []
    events: list[object] = []
    kwargs = {"seed": 7, "epochs": 2, "max_concurrency": 4}
    one = asyncio.run(run_suite(benches, DeterministicAgent, log_dir=tmp_path / "one", **kwargs))
    two = asyncio.run(
        run_suite(
            benches,
            DeterministicAgent,
            log_dir=tmp_path / "two",
            workers=2,
            on_result=lambda r: seen.append(r.benchmark_id),
            on_event=events.append,
            **kwargs,
        )
    )
    assert len(two.results) == len(benches) * 2 == len(seen)
    for a, b in zip(one.results, two.results, strict=True):  # plan order in both
        assert (a.benchmark_id, a.epoch, a.seed) == (b.benchmark_id, b.epoch, b.seed)
        assert (a.status, a.score, a.passed, a.signatures) == (
            b.status,
            b.score,
            b.passed,
            b.signatures,
        )
        assert a.signatures, "every bundled oracle sends a transaction"
        assert comparable_session(a.session_file) == comparable_session(b.session_file)
    assert Path(two.results[0].session_file or "").is_relative_to(tmp_path / "two")
    # Live events crossed the process boundary: every episode started and finished.
    kinds = [getattr(e, "event", None) for e in events]
    assert kinds.count("episode_started") == kinds.count("episode_finished") == len(seen)


@pytest.mark.parametrize("slots", [1, 2])
def test_a_worker_killed_mid_episode_fails_only_its_episodes(tmp_path, slots):
    """The worker is killed at once, while it may still be sending word of the episode it
    took: the parent knows what it held all the same, and the other worker, whose channels
    the dead one never touched, runs the rest (a queue shared by the workers hung here once,
    its writer's lock held by the dead process)."""
    benches = [b for b in bundled().values() if not b.flow][:10]
    assert DOOMED in {b.id for b in benches}
    suite = _run_within(
        run_suite(benches, KillsItsWorker, log_dir=tmp_path, workers=2, max_concurrency=2 * slots)
    )
    by_id = {r.benchmark_id: r for r in suite.results}
    doomed = by_id.pop(DOOMED)
    assert doomed.status is ExecutionStatus.FAILED and doomed.session_file is None
    assert doomed.error and doomed.error.startswith("infrastructure: worker process")
    assert "died" in doomed.error
    # The dead worker may have held slots - 1 more episodes, which fail with the same reason;
    # every other episode completed.
    lost = [r for r in by_id.values() if r.status is not ExecutionStatus.COMPLETED]
    assert len(lost) <= slots - 1, [(r.benchmark_id, r.error) for r in lost]
    assert all(r.error == doomed.error for r in lost)


def test_episodes_a_worker_held_but_never_started_go_to_the_other_worker(tmp_path):
    """The first worker process to load the agent exits while it starts, holding the episodes
    handed to it before its start: none of them ran, so the other worker runs them all."""
    benches = [b for b in bundled().values() if not b.flow][:6]
    marker = tmp_path / "a-worker-ended"
    suite = _run_within(
        run_suite(
            benches,
            EndsTheFirstWorkerToLoadIt(marker),
            log_dir=tmp_path,
            workers=2,
            max_concurrency=4,
        )
    )
    assert marker.exists(), "one worker process loaded the agent first and ended"
    assert [r.benchmark_id for r in suite.results] == [b.id for b in benches]
    in_process = asyncio.run(run_suite(benches, DeterministicAgent, log_dir=tmp_path / "one"))
    for a, b in zip(in_process.results, suite.results, strict=True):
        assert b.status is ExecutionStatus.COMPLETED, (b.benchmark_id, b.error)
        assert (a.score, a.passed, a.signatures) == (b.score, b.passed, b.signatures)


def test_an_episode_that_raises_in_a_worker_fails_alone_and_the_run_ends(tmp_path):
    """The agent cannot be made in a worker (its factory raises there): every episode fails,
    saying why, and the workers go on to the next one instead of ending."""
    benches = [b for b in bundled().values() if not b.flow][:6]
    suite = _run_within(
        run_suite(benches, CannotBeMadeInAWorker, log_dir=tmp_path, workers=2, max_concurrency=4)
    )
    assert [r.benchmark_id for r in suite.results] == [b.id for b in benches]
    for result in suite.results:
        assert result.status is ExecutionStatus.FAILED
        assert result.error and result.error.startswith("infrastructure: worker process ")
        assert "the episode raised RuntimeError('no agent in this process')" in result.error


def test_a_result_that_cannot_be_pickled_reaches_the_parent_as_a_lost_episode():
    """The worker's outbox turns a result it cannot send into a failure of that episode (the
    parent would otherwise wait for it forever); an event it cannot send is dropped."""
    reader, writer = multiprocessing.Pipe(duplex=False)
    outbox = _Outbox(writer)
    outbox.put(("event", lambda: None))
    outbox.put(("result", 3, lambda: None))
    outbox.put(("event", "sent"))
    outbox.close()
    kind, index, why = reader.recv()
    assert (kind, index) == ("lost", 3) and why.startswith("its result cannot be sent: ")
    assert reader.recv() == ("event", "sent")
    with pytest.raises(EOFError):
        reader.recv()


def test_a_result_the_parent_cannot_read_fails_its_episode_instead_of_holding_its_slot():
    """A result travels pickled apart from its index: one that does not unpickle in the parent
    fails its own episode, saying why, and frees its slot (before, the run could wait for it
    forever)."""
    reader, writer = multiprocessing.Pipe(duplex=False)
    outbox = _Outbox(writer)
    outbox.put(("result", 5, LoadsNowhere()))
    outbox.close()
    kind, index, payload = reader.recv()
    assert (kind, index) == ("result", 5) and isinstance(payload, bytes)
    bench = next(iter(bundled().values()))
    params = RunParameters(
        benchmarks=[bench],
        agent_factory=DeterministicAgent,
        agent_name="deterministic",
        chain_factory=DeterministicAgent,  # not used: no episode runs here
        run_seed=0,
        profile="verified",
        log_dir=None,
        step_timeout_s=None,
        forward_events=False,
        trace_jsonl=False,
        trace_carrier={},
        slots=1,
        environment={},
    )
    task = EpisodeTask(index=5, benchmark=0, epoch=0, seed=1, execution_id=None)
    failed = _result_or_failure(params, task, payload)
    assert failed.benchmark_id == bench.id and failed.status is ExecutionStatus.FAILED
    assert failed.error == (
        "infrastructure: its result could not be read: "
        "RuntimeError('this result does not load here')"
    )


def test_an_episode_waiting_for_its_start_to_be_sent_is_woken_when_the_parent_is_gone():
    """`_Outbox.sent` returns once the message is in the pipe, or once it cannot be: a worker
    whose parent has gone does not wait forever before its episode."""
    reader, writer = multiprocessing.Pipe(duplex=False)
    reader.close()
    outbox = _Outbox(writer)

    async def start() -> None:
        await asyncio.wait_for(outbox.sent(("start", 1)), 10)

    asyncio.run(start())
    outbox.close()


def test_an_agent_that_cannot_be_pickled_is_refused_before_any_episode(tmp_path):
    benches = list(bundled().values())[:2]
    with pytest.raises(WorkerPoolError, match="cannot be sent to a worker process"):
        asyncio.run(run_suite(benches, lambda: DeterministicAgent(), log_dir=tmp_path, workers=2))
    assert not (tmp_path / "sessions").exists()


def test_a_stop_reason_leaves_the_rest_not_started(tmp_path):
    benches = list(bundled().values())[:8]
    finished: list[str] = []

    def stop() -> str | None:
        return "budget exhausted" if len(finished) >= 2 else None

    suite = asyncio.run(
        run_suite(
            benches,
            DeterministicAgent,
            log_dir=tmp_path,
            workers=2,
            max_concurrency=2,
            stop=stop,
            on_result=lambda r: finished.append(r.benchmark_id),
        )
    )
    cancelled = [r for r in suite.results if r.status is ExecutionStatus.CANCELLED]
    assert cancelled and all(r.error == "not started: budget exhausted" for r in cancelled)
    # At most the episodes handed out before the stop (one per slot, two slots) ran past two.
    assert len(suite.results) - len(cancelled) <= 2 + 2


def test_llm_episodes_in_workers_score_as_in_one_process(tmp_path, monkeypatch):
    """The scripted provider plays each reference solution; two workers × two slots."""
    import pickle

    from helpers.fake_openai import FakeOpenAI, SolutionPlayer
    from reev.agents import AgentOptions, agent_factory

    secret = "sk-worker-test-0123456789"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    benches = [b for b in bundled().values() if not b.flow][:6]
    with FakeOpenAI(SolutionPlayer(benches)) as server:
        factory = agent_factory("openai/scripted", AgentOptions(base_url=server.base_url))
        assert secret.encode() not in pickle.dumps(factory), "keys stay in the environment"
        one = asyncio.run(run_suite(benches, factory, log_dir=tmp_path / "one"))
        two = asyncio.run(
            run_suite(benches, factory, log_dir=tmp_path / "two", workers=2, max_concurrency=4)
        )
        requests = len(server.requests)
    assert requests == 2 * sum(r.usage.model_calls for r in one.results)
    for a, b in zip(one.results, two.results, strict=True):
        assert (a.benchmark_id, a.status, a.score, a.signatures) == (
            b.benchmark_id,
            b.status,
            b.score,
            b.signatures,
        )
        assert a.passed == (a.expected_outcome == "pass"), (a.benchmark_id, b.error)


def test_workers_are_handed_the_longest_episodes_first(tmp_path):
    """The pool hands out in reev.runner.schedule's start order; results keep plan order."""
    from reev.runner.schedule import start_order

    benches = list(bundled().values())[:30]
    started: list[str] = []

    def on_event(event: object) -> None:
        if getattr(event, "event", None) == "episode_started":
            started.append(event.benchmark_id)  # type: ignore[attr-defined]

    suite = asyncio.run(
        run_suite(
            benches,
            ReportsItsPool,
            log_dir=tmp_path,
            workers=2,
            max_concurrency=2,
            on_event=on_event,
        )
    )
    assert [r.benchmark_id for r in suite.results] == [b.id for b in benches]
    first = [benches[k].id for k in start_order(benches, 2)[:2]]
    assert first != [b.id for b in benches[:2]]  # the suite's own first two are not these
    # One slot per worker: the first two handed out are the first episode each process
    # started. Events reach the parent in order from each worker, not across them (a worker
    # that starts sooner may begin its second before the other's first is heard of).
    pid_of = {
        r.benchmark_id: json.loads(read_session(r.session_file).steps[0].final_answer)["pid"]
        for r in suite.results
    }
    assert len(set(pid_of.values())) == 2
    firsts = {pid: next(b for b in started if pid_of[b] == pid) for pid in set(pid_of.values())}
    assert set(firsts.values()) == set(first)


# Run in a fresh interpreter: the forkserver is per process and the first pool warms it, so a
# pool this test process started earlier would decide what these workers inherit.
_WARM_RUN = """
import asyncio, json, sys
from pathlib import Path
sys.path.insert(0, {tests!r})
from helpers.suite import bundled
from helpers.worker_agents import ReportsItsPool
from reev.runner import run_suite
from reev.runner.session import read_session

benches = [b for b in bundled().values() if not b.flow][:{episodes}]
suite = asyncio.run(run_suite(benches, ReportsItsPool, log_dir=Path({log!r}), workers=2,
                              max_concurrency={concurrency}))
print(json.dumps([json.loads(read_session(r.session_file).steps[0].final_answer)
                  for r in suite.results]))
"""


@pytest.mark.parametrize(
    ("concurrency", "expected_built"),
    [(8, IO_WARM_VMS), (2, 1)],
    ids=["several-episodes-per-worker", "one-episode-per-worker"],
)
def test_workers_start_with_the_vms_their_forkserver_built(tmp_path, concurrency, expected_built):
    """Workers of several episodes each (an LLM agent's) fork from a forkserver that built
    IO_WARM_VMS VMs; workers of one episode at a time from one that built one
    (reev.runner.warm). Every worker's pool counts exactly those as built: no episode waited
    for a VM to be built in the worker, and every episode ran on a reused one."""
    episodes = 12
    script = _WARM_RUN.format(
        tests=str(Path(__file__).parent),
        episodes=episodes,
        log=str(tmp_path),
        concurrency=concurrency,
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=False
    )
    assert out.returncode == 0, out.stderr
    reports = json.loads(out.stdout.strip().splitlines()[-1])
    assert len(reports) == episodes
    assert all(r["created"] == expected_built for r in reports), reports
    assert all(r["reused"] >= 1 for r in reports), reports


def test_a_failing_warm_up_leaves_the_process_cold_not_broken(monkeypatch, capsys):
    """The forkserver runs the warm-up on import: a failure there must not take the forkserver
    (and with it every worker) down; it is reported and the workers start cold."""
    import reev.chain.litesvm as litesvm
    from reev.runner.warm import warm_process

    def broken(count: int, pool: object = None) -> None:
        raise RuntimeError("no VM today")

    monkeypatch.setattr(litesvm, "warm_pool", broken)
    warm_process(vms=2, model_client=False)
    err = capsys.readouterr().err
    assert "start cold" in err and "no VM today" in err
