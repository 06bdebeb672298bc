"""One episode: fresh chain, initial state, the agent's steps, scoring, session file.

Ground truth stays on this side of the `Agent` boundary: tasks carry only the prompt with real
addresses and an observation of named (declared) accounts; the reference solution is passed
only to an agent that declares `uses_reference_solution`.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from solders.pubkey import Pubkey

from reev.agents.base import Agent, AgentError, AgentTask, ModelCallRecord, Observation
from reev.chain.accounts import AccountState
from reev.chain.litesvm import LiteSVMChain
from reev.chain.observe import read_account, token_accounts_of
from reev.chain.protocol import Chain
from reev.chain.setup import SetupError, build_initial_state
from reev.scoring import Breakdown, Profile, Score, addresses_to_capture, score_episode
from reev.spec.models import Benchmark, FlowStep, ToolCallSpec
from reev.spec.placeholders import KeyMap, PlaceholderError, resolve_placeholders
from reev.tools import TOOLS, ToolContext, call_tool
from reev.tools.base import Tool
from reev.runner.session import (
    ExecutionStatus,
    FinalResult,
    SessionFile,
    StepRecord,
    ToolCallRecord,
    TransactionRecord,
    Usage,
    write_session,
)

EventSink = Callable[[dict[str, Any]], None]


@dataclass
class EpisodeResult:
    """What a suite needs to know about one finished episode."""

    benchmark_id: str
    epoch: int
    execution_id: str
    seed: int
    agent: str
    profile: str
    status: ExecutionStatus
    score: float
    passed: bool
    breakdown: Breakdown
    duration_ms: float
    session_file: str | None
    error: str | None = None
    expected_outcome: str = "pass"
    signatures: tuple[str, ...] = ()
    usage: Usage = field(default_factory=Usage)
    run_seed: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "benchmark_id": self.benchmark_id,
            "epoch": self.epoch,
            "execution_id": self.execution_id,
            "seed": self.seed,
            "run_seed": self.run_seed,
            "agent": self.agent,
            "profile": self.profile,
            "score": round(self.score, 6),
            "passed": self.passed,
            "status": self.status,
            "expected_outcome": self.expected_outcome,
            "breakdown": self.breakdown.model_dump(),
            "duration_ms": round(self.duration_ms, 3),
            "session_file": self.session_file,
            "error": self.error,
            "usage": self.usage.model_dump(),
        }


class RecordingToolBox:
    """The `ToolBox` handed to agents: runs tools and records every call for the session."""

    def __init__(self, ctx: ToolContext, step: StepRecord, sink: EventSink | None, execution_id: str):
        self._ctx = ctx
        self._step = step
        self._sink = sink
        self._execution_id = execution_id

    @property
    def tools(self) -> list[Tool]:
        return list(TOOLS.values())

    async def call(self, name: str, args: Any, *, auto: bool = False) -> dict[str, Any]:
        started = time.perf_counter()
        before = len(self._ctx.transactions)
        outcome = call_tool(self._ctx, name, args)
        record = ToolCallRecord(
            index=len(self._step.tool_calls),
            tool=outcome.tool,
            args=outcome.args,
            ok=outcome.ok,
            result=outcome.result,
            error=outcome.error,
            error_kind=outcome.error_kind,
            auto=auto,
            duration_ms=(time.perf_counter() - started) * 1000,
        )
        self._step.tool_calls.append(record)
        self._emit({"event": "tool_call", "tool": name, "ok": outcome.ok, "error": outcome.error})
        for tx in self._ctx.transactions[before:]:
            self._step.transactions.append(
                TransactionRecord(**tx.model_dump(), step=self._step.step, tool_call_index=record.index)
            )
            self._emit(
                {
                    "event": "transaction",
                    "signature": tx.signature,
                    "success": tx.success,
                    "error": tx.error,
                    "compute_units": tx.compute_units,
                }
            )
        return outcome.for_agent()

    def record_model_call(self, record: ModelCallRecord) -> None:
        record.index = len(self._step.model_calls)
        self._step.model_calls.append(record)
        self._emit(
            {
                "event": "model_call",
                "model": record.model,
                "latency_ms": round(record.latency_ms, 1),
                "input_tokens": record.input_tokens,
                "output_tokens": record.output_tokens,
                "error": record.error,
            }
        )

    def set_final_answer(self, text: str | None) -> None:
        self._step.final_answer = text

    def _emit(self, event: dict[str, Any]) -> None:
        if self._sink is not None:
            self._sink({"execution_id": self._execution_id, "step": self._step.step, **event})


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def observe(chain: Chain, keys: KeyMap, last: Any = None) -> Observation:
    """The agent's view: declared names, their accounts, and the user's token accounts."""
    visible = keys.visible_map()
    seen: set[str] = set()
    accounts: list[AccountState] = []
    for address in visible.values():
        if address in seen:
            continue
        seen.add(address)
        state = read_account(chain, address)
        if state is not None and not state.executable:
            accounts.append(state)
    for state in token_accounts_of(chain, keys.user.pubkey()):
        if state.address not in seen:
            seen.add(state.address)
            accounts.append(state)
    return Observation(
        wallet=str(keys.user.pubkey()), key_map=visible, accounts=accounts, last_transaction=last
    )


def capture(chain: Chain, addresses: list[str]) -> dict[str, AccountState | None]:
    return {address: read_account(chain, Pubkey.from_string(address)) for address in addresses}


def _steps(benchmark: Benchmark) -> list[FlowStep]:
    if benchmark.flow:
        return list(benchmark.flow)
    return [
        FlowStep(
            step=1,
            description=benchmark.description,
            prompt=benchmark.prompt,
            solution=benchmark.solution,
        )
    ]


def _reference(step: FlowStep, keys: KeyMap) -> list[ToolCallSpec] | None:
    if step.solution is None:
        return None
    return [ToolCallSpec(tool=c.tool, args=keys.substitute_value(c.args)) for c in step.solution]


async def run_episode(
    benchmark: Benchmark,
    agent: Agent,
    *,
    seed: int = 0,
    run_seed: int | None = None,
    epoch: int = 0,
    profile: Profile = "verified",
    execution_id: str | None = None,
    log_dir: Path | None = Path("logs"),
    chain_factory: Callable[[], Chain] = LiteSVMChain,
    on_event: EventSink | None = None,
) -> EpisodeResult:
    """Run one benchmark once. Never raises for agent or benchmark problems: they are recorded."""
    execution_id = execution_id or str(uuid.uuid4())
    started_at = _now()
    started = time.perf_counter()
    steps: list[StepRecord] = []
    error: str | None = None
    status: ExecutionStatus = "Completed"
    keys: KeyMap | None = None
    initial: dict[str, AccountState | None] = {}
    final: dict[str, AccountState | None] = {}
    transactions = []
    emit = on_event or (lambda event: None)
    emit({"event": "episode_started", "execution_id": execution_id, "benchmark_id": benchmark.id})

    ready = False  # the initial state was built, so the episode can be scored
    try:
        keys = resolve_placeholders(benchmark, seed)
        chain = chain_factory()
        build_initial_state(chain, benchmark, keys)
        ready = True
        watched = addresses_to_capture(benchmark, keys)
        initial = capture(chain, watched)
        # Only the user's wallet signs (plus accounts the agent's own tools create): other
        # wallets' keys exist to build the initial state, never to act for the agent.
        ctx = ToolContext(chain=chain, user=keys.user)
        halted = False
        for flow_step in _steps(benchmark):
            record = StepRecord(
                step=flow_step.step,
                description=flow_step.description,
                prompt=keys.substitute(flow_step.prompt),
            )
            steps.append(record)
            if halted:
                record.status = "skipped"
                record.error = "an earlier critical step failed"
                continue
            step_started = time.perf_counter()
            record.observation = observe(chain, keys, ctx.transactions[-1] if ctx.transactions else None)
            task = AgentTask(
                benchmark_id=benchmark.id,
                step=flow_step.step,
                step_count=benchmark.step_count,
                prompt=record.prompt,
                observation=record.observation,
            )
            toolbox = RecordingToolBox(ctx, record, on_event, execution_id)
            reference = _reference(flow_step, keys) if agent.uses_reference_solution else None
            try:
                await asyncio.wait_for(
                    agent.run_step(task, toolbox, reference), timeout=flow_step.timeout
                )
            except TimeoutError:
                record.status = "timeout"
                record.error = f"step timed out after {flow_step.timeout} s"
            except AgentError as exc:
                record.status = "failed"
                record.error = str(exc)
            except Exception as exc:  # a bug in an agent must not take the suite down
                record.status = "failed"
                record.error = f"agent crashed: {type(exc).__name__}: {exc}"
            if ctx.staged and record.status == "completed":
                await toolbox.call("submit_transaction", {}, auto=True)
            ctx.staged = []
            record.duration_ms = (time.perf_counter() - step_started) * 1000
            if record.status != "completed":
                error = f"step {flow_step.step}: {record.error}"
                status = "Failed"
            step_failed = record.status != "completed" or any(
                not t.success for t in record.transactions
            )
            if flow_step.critical and step_failed and benchmark.is_flow:
                halted = True
        transactions = list(ctx.transactions)
        final = capture(chain, watched)
    except (PlaceholderError, SetupError) as exc:
        status, error = "Failed", f"invalid benchmark: {exc}"

    if ready and keys is not None:
        score = score_episode(benchmark, keys, initial, final, transactions, profile)
    else:
        score = Score(profile=profile, score=0.0, passed=False, breakdown=Breakdown())
    if status == "Failed":
        score = score.model_copy(update={"passed": False})

    duration_ms = (time.perf_counter() - started) * 1000
    session = SessionFile(
        execution_id=execution_id,
        benchmark_id=benchmark.id,
        agent=agent.name,
        seed=seed,
        run_seed=seed if run_seed is None else run_seed,
        epoch=epoch,
        profile=profile,
        started_at=started_at,
        finished_at=_now(),
        duration_ms=duration_ms,
        error=error,
        prompt=keys.substitute(benchmark.prompt) if keys else benchmark.prompt,
        key_map={name: str(addr) for name, addr in keys.addresses.items()} if keys else {},
        final_result=FinalResult(
            success=status == "Completed",
            passed=score.passed,
            score=score.score,
            status=status,
            profile=profile,
            breakdown=score.breakdown,
            checks=score.checks,
        ),
        steps=steps,
        state={
            "initial": {a: s.model_dump() if s else None for a, s in initial.items()},
            "final": {a: s.model_dump() if s else None for a, s in final.items()},
        },
        usage=Usage.of_steps(steps),
    )
    session_file = str(write_session(log_dir, session)) if log_dir is not None else None
    result = EpisodeResult(
        benchmark_id=benchmark.id,
        epoch=epoch,
        execution_id=execution_id,
        seed=seed,
        run_seed=seed if run_seed is None else run_seed,
        agent=agent.name,
        profile=profile,
        status=status,
        score=score.score,
        passed=score.passed,
        breakdown=score.breakdown,
        duration_ms=duration_ms,
        session_file=session_file,
        error=error,
        expected_outcome=benchmark.expected_outcome,
        signatures=tuple(t.signature for t in transactions if t.signature),
        usage=session.usage,
    )
    emit(
        {
            "event": "episode_finished",
            "execution_id": execution_id,
            "benchmark_id": benchmark.id,
            "status": status,
            "score": score.score,
            "passed": score.passed,
        }
    )
    return result
