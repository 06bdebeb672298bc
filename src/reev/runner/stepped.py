"""`run_episode` driven from outside, one tool call at a time (the RL environments' engine).

The Gymnasium and verifiers environments do not re-implement set-up, tools, scoring or
recording: they run the runner's own `run_episode` with an agent that is only a channel. Each
time the runner hands that agent a step, the driver gets the step's `AgentTask`; each tool call
the driver sends goes through the step's `RecordingToolBox` (validated, executed, recorded,
traced); `finish_step` ends the agent's turn at the step as a final answer ends an LLM agent's,
and the runner then submits what is staged, moves to the next step, or scores the episode. The
runner's result (score, verified breakdown, session file) is `result` once it is done.

Ground truth stays where it is for every other agent: the channel agent does not declare
`uses_reference_solution`, so the runner never hands it the solution.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reev.agents.base import Agent, AgentTask, ToolBox
from reev.chain.litesvm import pooled_chain
from reev.chain.protocol import Chain
from reev.runner.episode import EpisodeResult, run_episode
from reev.scoring import Profile
from reev.spec.models import Benchmark, ToolCallSpec


@dataclass
class _Command:
    """A tool call for the open step (`tool` set), or the end of the agent's turn at it."""

    tool: str | None
    args: Any = None
    answer: str | None = None
    reply: asyncio.Future[dict[str, Any]] | None = None


@dataclass
class _Turn:
    """The agent's turn at one step, as the runner opened it."""

    task: AgentTask
    commands: asyncio.Queue[_Command] = field(default_factory=asyncio.Queue)
    closed: asyncio.Event = field(default_factory=asyncio.Event)


class _ChannelAgent(Agent):
    """An agent whose decisions come from outside: it passes each step to the driver and runs
    the tool calls the driver sends until the driver finishes the step."""

    def __init__(self, name: str):
        self.name = name
        self.turns: asyncio.Queue[_Turn] = asyncio.Queue()

    async def run_step(
        self, task: AgentTask, tools: ToolBox, reference: list[ToolCallSpec] | None = None
    ) -> None:
        turn = _Turn(task)
        await self.turns.put(turn)
        try:
            while True:
                command = await turn.commands.get()
                if command.tool is None:
                    tools.set_final_answer(command.answer)
                    return
                assert command.reply is not None
                try:
                    result = await tools.call(command.tool, command.args)
                except Exception as exc:  # the runner records it; the caller hears of it too
                    command.reply.set_result({"error": f"{type(exc).__name__}: {exc}"})
                    raise
                command.reply.set_result(result)
        finally:
            turn.closed.set()


class SteppedEpisode:
    """One episode of `benchmark` whose agent is the caller.

    `start()` and `finish_step()` return the next step's task, or None when the episode is over
    (then `result` is the runner's `EpisodeResult`). `call()` runs one tool at the open step.
    All three must be awaited on one event loop. No runner time limit applies by default: an
    environment's clock is its turn counter, not the wall clock of a trainer that may pause.
    """

    def __init__(
        self,
        benchmark: Benchmark,
        *,
        seed: int,
        agent_name: str = "external",
        profile: Profile = "verified",
        log_dir: Path | None = None,
        execution_id: str | None = None,
        step_timeout_s: float | None = None,
        chain_factory: Callable[[], Chain] = pooled_chain,
    ):
        self.benchmark = benchmark
        self.seed = seed
        self._agent = _ChannelAgent(agent_name)
        self._options: dict[str, Any] = {
            "seed": seed,
            "profile": profile,
            "log_dir": log_dir,
            "execution_id": execution_id,
            "step_timeout_s": step_timeout_s,
            "chain_factory": chain_factory,
        }
        self._runner: asyncio.Task[EpisodeResult] | None = None
        self._turn: _Turn | None = None
        self.result: EpisodeResult | None = None

    @property
    def task(self) -> AgentTask | None:
        """The open step's task (None before `start` and after the end)."""
        return self._turn.task if self._turn is not None else None

    @property
    def done(self) -> bool:
        return self.result is not None

    async def start(self) -> AgentTask | None:
        if self._runner is not None:
            raise RuntimeError("this episode has already started")
        self._runner = asyncio.create_task(
            run_episode(self.benchmark, self._agent, **self._options)
        )
        return await self._advance()

    async def call(self, tool: str, args: Any) -> dict[str, Any]:
        """Run one tool at the open step; its result as an agent sees it (`{"error": …}` for
        any mistake). `args` may be a dict or a JSON string, as for any agent."""
        turn = self._open_turn()
        reply: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        await turn.commands.put(_Command(tool=tool, args=args, reply=reply))
        closed: asyncio.Future[Any] = asyncio.ensure_future(turn.closed.wait())
        try:
            await asyncio.wait({reply, closed}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            closed.cancel()
        if reply.done():
            return reply.result()
        return {"error": "the step ended before the call ran"}

    @property
    def step_closed(self) -> bool:
        """The runner ended the open step by itself (a chain failure, a declared step timeout):
        the caller should `finish_step()` to move on."""
        return self._turn is not None and self._turn.closed.is_set()

    async def finish_step(self, answer: str | None = None) -> AgentTask | None:
        """End the agent's turn at the open step (staged instructions are then submitted by the
        runner, as for every agent); the next step's task, or None at the end."""
        turn = self._open_turn()
        if not turn.closed.is_set():
            await turn.commands.put(_Command(tool=None, answer=answer))
        return await self._advance()

    async def finish(self) -> EpisodeResult:
        """End this step and every later one without further actions; the scored result."""
        while not self.done:
            await self.finish_step()
        assert self.result is not None
        return self.result

    async def cancel(self) -> None:
        """Drop the episode unscored (a reset or close in the middle of it)."""
        if self._runner is not None and not self._runner.done():
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
        self._turn = None

    def _open_turn(self) -> _Turn:
        if self._turn is None:
            raise RuntimeError(
                "no step is open: the episode is over" if self.done else "call start() first"
            )
        return self._turn

    async def _advance(self) -> AgentTask | None:
        """Wait for the runner's next step, or for the episode's end."""
        assert self._runner is not None
        self._turn = None
        waiting: asyncio.Future[Any] = asyncio.ensure_future(self._agent.turns.get())
        try:
            await asyncio.wait({waiting, self._runner}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not waiting.done():
                waiting.cancel()
        if waiting.done() and not waiting.cancelled():
            self._turn = waiting.result()
            return self._turn.task
        self.result = self._runner.result()
        return None
