"""One episode: fresh chain, initial state, the agent's steps, scoring, session file.

Ground truth stays on this side of the `Agent` boundary: tasks carry only the prompt with real
addresses and an observation of named (declared) accounts; the reference solution is passed
only to an agent that declares `uses_reference_solution`. An `EndpointAgent` gets the step's
chain served over JSON-RPC (`reev.runner.endpoint`), never the chain object.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Status, StatusCode, Tracer
from solders.pubkey import Pubkey

from reev.agents.base import Agent, AgentError, AgentTask, EndpointAgent, Observation
from reev.chain.accounts import AccountState
from reev.chain.fork import ChainDataUnavailable
from reev.chain.litesvm import pooled_chain
from reev.chain.observe import read_account, token_accounts_of
from reev.chain.protocol import Chain, Releasable, TimeTravel, TxResult
from reev.defi.lend import events as lend_events
from reev.errors import InputError
from reev.events import EpisodeFinished, EpisodeStarted, ExecutionStatus
from reev.runner.endpoint import serve_endpoint
from reev.runner.session import (
    FinalResult,
    ForkRecord,
    SessionFile,
    StepRecord,
    Usage,
    write_session,
)
from reev.runner.toolbox import EventSink, RecordingToolBox
from reev.scoring import Breakdown, Check, Profile, Score, addresses_to_capture, score_episode
from reev.setup import build_initial_state
from reev.spec.models import Benchmark, FlowStep, ToolCallSpec, step_reference
from reev.spec.placeholders import KeyMap, resolve_placeholders
from reev.telemetry.tracing import NOOP_TRACER, set_span_attributes
from reev.tools import ToolContext


def episode_seed(run_seed: int, benchmark_id: str, epoch: int) -> int:
    """Every (benchmark, epoch) gets its own seed, derived from the run seed: any episode can be
    re-run alone, and no two episodes of a run share keys."""
    digest = hashlib.sha256(f"{run_seed}/{benchmark_id}/{epoch}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


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
    checks: list[Check] = field(default_factory=list)  # what the scorer looked at (the session's)

    @classmethod
    def without_episode(
        cls,
        benchmark_id: str,
        epoch: int,
        *,
        run_seed: int,
        agent: str,
        profile: str,
        status: ExecutionStatus,
        error: str,
        expected_outcome: str = "pass",
        execution_id: str = "",
    ) -> EpisodeResult:
        """The result of a planned episode that has none of its own (never started, cut off,
        its process lost): score 0, no session file, `error` saying why. Runs record these
        rather than drop the episode, so a results file always covers the whole plan."""
        return cls(
            benchmark_id=benchmark_id,
            epoch=epoch,
            execution_id=execution_id,
            seed=episode_seed(run_seed, benchmark_id, epoch),
            agent=agent,
            profile=profile,
            status=status,
            score=0.0,
            passed=False,
            breakdown=Breakdown(),
            duration_ms=0.0,
            session_file=None,
            error=error,
            expected_outcome=expected_outcome,
            run_seed=run_seed,
        )

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
            "status": str(self.status),
            "expected_outcome": self.expected_outcome,
            "breakdown": self.breakdown.model_dump(),
            "duration_ms": round(self.duration_ms, 3),
            "session_file": self.session_file,
            "error": self.error,
            "usage": self.usage.model_dump(),
        }


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


EXECUTION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
DEFAULT_STEP_TIMEOUT_S = 600.0


def check_execution_id(execution_id: str) -> str:
    """Execution ids name files: no separators, no leading dot, at most 128 characters."""
    if not EXECUTION_ID.fullmatch(execution_id):
        raise InputError(
            f"invalid execution id {execution_id!r}: use letters, digits and . _ : - (at most 128)"
        )
    return execution_id


class Episode:
    """The state of one running episode; `run_episode` drives it start to end."""

    def __init__(
        self,
        benchmark: Benchmark,
        agent: Agent,
        *,
        seed: int,
        execution_id: str,
        step_timeout_s: float | None,
        epoch: int = 0,
        chain_factory: Callable[[], Chain],
        on_event: EventSink | None,
        tracer: Tracer,
        episode_context: Context,
    ):
        self.benchmark = benchmark
        self.agent = agent
        self.seed = seed
        self.epoch = epoch
        self.execution_id = execution_id
        self.step_timeout_s = step_timeout_s
        self.chain_factory = chain_factory
        self.on_event = on_event
        self.tracer = tracer
        self.episode_context = episode_context
        self.steps: list[StepRecord] = []
        self.status = ExecutionStatus.COMPLETED
        self.error: str | None = None
        self.keys: KeyMap | None = None
        self.ctx: ToolContext | None = None
        self.chain: Chain | None = None
        self.watched: list[str] = []
        self.initial: dict[str, AccountState | None] = {}
        self.final: dict[str, AccountState | None] = {}

    def fail(self, status: ExecutionStatus, error: str) -> None:
        """Record the first thing that broke the run; later problems do not overwrite it."""
        if self.status is ExecutionStatus.COMPLETED:
            self.status, self.error = status, error

    def set_up(self) -> bool:
        """Fresh chain with the initial state. False (and recorded) when the benchmark is unusable."""
        try:
            self.keys = resolve_placeholders(self.benchmark, self.seed)
            chain = self.chain = self.chain_factory()
            build_initial_state(chain, self.benchmark, self.keys)
            self.watched = addresses_to_capture(self.benchmark, self.keys)
            self.initial = capture(chain, self.watched)
        except ChainDataUnavailable as exc:
            self.fail(ExecutionStatus.FAILED, f"chain data unavailable: {exc}")
            return False
        except InputError as exc:  # PlaceholderError, SetupError, AmountError
            self.fail(ExecutionStatus.FAILED, f"invalid benchmark: {exc}")
            return False
        # Only the user's wallet signs (plus accounts the agent's own tools create): other
        # wallets' keys exist to build the initial state, never to act for the agent.
        self.ctx = ToolContext(chain=chain, user=self.keys.user)
        return True

    def _blocked_by(self, flow_step: FlowStep, outcome: dict[int, bool]) -> str | None:
        for ref in flow_step.depends_on:
            target = step_reference(ref)
            if target is not None and not outcome.get(target, False):
                return f"depends on step {target}, which did not succeed"
        return None

    async def run_steps(self) -> None:
        assert self.keys is not None and self.ctx is not None
        outcome: dict[int, bool] = {}  # step number → completed with every transaction succeeding
        halted = False
        for flow_step in _steps(self.benchmark):
            record = StepRecord(
                step=flow_step.step,
                description=flow_step.description,
                prompt=self.keys.substitute(flow_step.prompt),
            )
            self.steps.append(record)
            blocked = (
                "an earlier critical step failed"
                if halted
                else self._blocked_by(flow_step, outcome)
            )
            if blocked:
                record.status, record.error = "skipped", blocked
                outcome[flow_step.step] = False
                continue
            await self._run_step(flow_step, record)
            succeeded = record.status == "completed" and all(t.success for t in record.transactions)
            outcome[flow_step.step] = succeeded
            if flow_step.critical and not succeeded and self.benchmark.is_flow:
                halted = True

    async def _run_step(self, flow_step: FlowStep, record: StepRecord) -> None:
        assert self.keys is not None and self.ctx is not None
        ctx = self.ctx
        started = time.perf_counter()
        if flow_step.advance_epochs:
            # Time passes before the step: stake warms up or cools down (LiteSVMChain).
            if not isinstance(ctx.chain, TimeTravel):
                record.status, record.error = "failed", "this chain cannot advance epochs"
                self.fail(ExecutionStatus.FAILED, f"step {flow_step.step}: {record.error}")
                return
            ctx.chain.advance_epochs(flow_step.advance_epochs)
            lend_events.republish(ctx.chain)  # the oracle network kept publishing
        try:
            for event in flow_step.events:
                if event.set_price is not None:
                    mint = self.keys.resolve(event.set_price.mint)
                    lend_events.set_price(ctx.chain, mint, event.set_price.oracle_price)
                else:
                    lend_events.advance_slots(
                        ctx.chain, event.slots, stale_prices=event.stale_prices
                    )
        except lend_events.EventError as exc:
            record.status, record.error = "failed", str(exc)
            self.fail(ExecutionStatus.FAILED, f"step {flow_step.step}: {exc}")
            return
        record.observation = observe(
            ctx.chain, self.keys, ctx.transactions[-1] if ctx.transactions else None
        )
        task = AgentTask(
            benchmark_id=self.benchmark.id,
            step=flow_step.step,
            step_count=self.benchmark.step_count,
            prompt=record.prompt,
            observation=record.observation,
            epoch=self.epoch,
        )
        span = self.tracer.start_span("step", context=self.episode_context)
        toolbox = RecordingToolBox(
            ctx,
            record,
            execution_id=self.execution_id,
            tracer=self.tracer,
            step_span=span,
            sink=self.on_event,
        )
        reference = _reference(flow_step, self.keys) if self.agent.uses_reference_solution else None
        timeout = flow_step.timeout if flow_step.timeout is not None else self.step_timeout_s
        try:
            await asyncio.wait_for(self._act(task, toolbox, reference), timeout=timeout)
        except TimeoutError:
            record.status, record.error = "timeout", f"step timed out after {timeout} s"
            self.fail(ExecutionStatus.TIMEOUT, f"step {flow_step.step}: {record.error}")
        except AgentError as exc:
            record.status, record.error = "failed", str(exc)
        except ChainDataUnavailable as exc:
            record.status, record.error = "failed", f"chain data unavailable: {exc}"
        except Exception as exc:  # a bug in an agent must not take the suite down
            record.status, record.error = "failed", f"agent crashed: {type(exc).__name__}: {exc}"
        if record.status == "failed":
            self.fail(ExecutionStatus.FAILED, f"step {flow_step.step}: {record.error}")
        toolbox.end_turn()
        if ctx.staged and record.status == "completed":
            try:
                await toolbox.call("submit_transaction", {}, auto=True)
            except ChainDataUnavailable as exc:
                record.status, record.error = "failed", f"chain data unavailable: {exc}"
                self.fail(ExecutionStatus.FAILED, f"step {flow_step.step}: {record.error}")
        ctx.staged = []
        record.duration_ms = (time.perf_counter() - started) * 1000
        set_span_attributes(
            span,
            reev__execution_id=self.execution_id,
            reev__step=flow_step.step,
            reev__step__prompt=record.prompt,
            reev__step__status=record.status,
            reev__step__error=record.error,
            reev__step__tool_calls=len(record.tool_calls),
            reev__step__transactions=len(record.transactions),
        )
        if record.status != "completed":
            span.set_status(Status(StatusCode.ERROR, record.error))
        span.end()

    async def _act(
        self, task: AgentTask, toolbox: RecordingToolBox, reference: list[ToolCallSpec] | None
    ) -> None:
        """The agent's turn at a step: through tools, or over the chain served as an endpoint."""
        if not isinstance(self.agent, EndpointAgent):
            await self.agent.run_step(task, toolbox, reference)
            return
        assert self.ctx is not None
        async with serve_endpoint(self.ctx.chain, self.ctx.user) as served:
            try:
                await self.agent.run_step_at(task, toolbox, served.endpoint)
            except Exception:
                if served.node.chain_error is None:
                    raise
            finally:
                # Also when the step's time limit cancelled the agent: what it sent counts.
                for tx in served.transactions():
                    toolbox.record_transaction(tx)
            # A fork's snapshot lacked an account the agent asked for: the chain, not the
            # agent, was missing something, whatever the agent made of the error it got.
            if served.node.chain_error is not None:
                raise served.node.chain_error

    def score(self, profile: Profile) -> Score:
        empty = Score(profile=profile, score=0.0, passed=False, breakdown=Breakdown())
        if self.ctx is None or self.keys is None:
            return empty
        try:
            self.final = capture(self.ctx.chain, self.watched)
        except ChainDataUnavailable as exc:
            self.fail(ExecutionStatus.FAILED, f"chain data unavailable: {exc}")
            return empty
        try:
            score = score_episode(
                self.benchmark, self.keys, self.initial, self.final, self.ctx.transactions, profile
            )
        except InputError as exc:  # PlaceholderError, AmountError
            self.fail(ExecutionStatus.FAILED, f"invalid benchmark: cannot score: {exc}")
            return empty
        return (
            score
            if self.status is ExecutionStatus.COMPLETED
            else score.model_copy(update={"passed": False})
        )

    @property
    def transactions(self) -> list[TxResult]:
        return list(self.ctx.transactions) if self.ctx else []


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
    step_timeout_s: float | None = DEFAULT_STEP_TIMEOUT_S,
    chain_factory: Callable[[], Chain] = pooled_chain,
    on_event: EventSink | None = None,
    tracer: Tracer = NOOP_TRACER,
    parent: Context | None = None,
    session_file: Path | None = None,
) -> EpisodeResult:
    """Run one benchmark once. Never raises for agent or benchmark problems: they are recorded.

    `step_timeout_s` bounds a step that declares no `timeout` of its own. The session file goes
    to `session_file` when given (a run directory names it by benchmark and epoch), else to
    `log_dir/sessions/session_<execution_id>.json`; no `log_dir` and no `session_file`: none.
    """
    execution_id = check_execution_id(execution_id) if execution_id else str(uuid.uuid4())
    run_seed = seed if run_seed is None else run_seed
    started_at = _now()
    started = time.perf_counter()
    emit = on_event or (lambda event: None)
    emit(EpisodeStarted(execution_id=execution_id, benchmark_id=benchmark.id))

    episode_span = tracer.start_span("episode", context=parent)
    episode = Episode(
        benchmark,
        agent,
        seed=seed,
        epoch=epoch,
        execution_id=execution_id,
        step_timeout_s=step_timeout_s,
        chain_factory=chain_factory,
        on_event=on_event,
        tracer=tracer,
        episode_context=trace.set_span_in_context(episode_span),
    )
    try:
        if episode.set_up():
            await episode.run_steps()
    finally:
        await agent.aclose()
    score = episode.score(profile)
    # Scored: its VM may serve the next episode. Not in a `finally`: after an exception the VM
    # is simply dropped, never reused in a state nobody checked.
    if isinstance(episode.chain, Releasable):
        episode.chain.release()
    keys = episode.keys

    duration_ms = (time.perf_counter() - started) * 1000
    session = SessionFile(
        execution_id=execution_id,
        benchmark_id=benchmark.id,
        agent=agent.name,
        seed=seed,
        run_seed=run_seed,
        epoch=epoch,
        profile=profile,
        started_at=started_at,
        finished_at=_now(),
        duration_ms=duration_ms,
        error=episode.error,
        prompt=keys.substitute(benchmark.prompt) if keys else benchmark.prompt,
        key_map={name: str(addr) for name, addr in keys.addresses.items()} if keys else {},
        final_result=FinalResult(
            success=episode.status is ExecutionStatus.COMPLETED,
            passed=score.passed,
            score=score.score,
            status=episode.status,
            profile=profile,
            breakdown=score.breakdown,
            checks=score.checks,
        ),
        steps=episode.steps,
        state={
            "initial": {a: s.model_dump() if s else None for a, s in episode.initial.items()},
            "final": {a: s.model_dump() if s else None for a, s in episode.final.items()},
        },
        usage=Usage.of_steps(episode.steps),
        fork=ForkRecord.of(episode.chain),
    )
    written: str | None = None
    if session_file is not None or log_dir is not None:
        written = str(write_session(log_dir, session, path=session_file))
    set_span_attributes(
        episode_span,
        reev__execution_id=execution_id,
        reev__benchmark_id=benchmark.id,
        reev__agent=agent.name,
        reev__seed=seed,
        reev__run_seed=run_seed,
        reev__epoch=epoch,
        reev__profile=profile,
        reev__prompt=session.prompt,
        reev__status=episode.status,
        reev__score=score.score,
        reev__score__state=score.breakdown.state,
        reev__score__instruction=score.breakdown.instruction,
        reev__score__transaction=score.breakdown.transaction,
        reev__passed=score.passed,
        reev__error=episode.error,
        reev__session_file=written,
    )
    if episode.status is not ExecutionStatus.COMPLETED:
        episode_span.set_status(Status(StatusCode.ERROR, episode.error))
    episode_span.end()
    result = EpisodeResult(
        benchmark_id=benchmark.id,
        epoch=epoch,
        execution_id=execution_id,
        seed=seed,
        run_seed=run_seed,
        agent=agent.name,
        profile=profile,
        status=episode.status,
        score=score.score,
        passed=score.passed,
        breakdown=score.breakdown,
        duration_ms=duration_ms,
        session_file=written,
        error=episode.error,
        expected_outcome=benchmark.expected_outcome,
        signatures=tuple(t.signature for t in episode.transactions if t.signature),
        usage=session.usage,
        checks=score.checks,
    )
    emit(
        EpisodeFinished(
            execution_id=execution_id,
            benchmark_id=benchmark.id,
            status=episode.status,
            score=score.score,
            passed=score.passed,
        )
    )
    return result
