"""The agent protocol: what an agent is given, and what it acts through.

An agent sees an `AgentTask` (the request with real addresses and an observation of the chain)
and acts only by calling tools on a `ToolBox`. Nothing in either carries the ground truth. The
one exception is explicit: an agent that sets `uses_reference_solution` (the deterministic
oracle) is handed the benchmark's `solution` for the step as a separate argument; the runner
never passes it to any other agent.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Protocol

from pydantic import BaseModel, Field

from reev.chain.accounts import AccountState
from reev.chain.protocol import TxResult
from reev.spec.models import ToolCallSpec
from reev.tools.base import Tool


class Observation(BaseModel):
    """What the agent may know about the chain before it acts."""

    wallet: str
    key_map: dict[str, str] = Field(description="Names the benchmark declares → addresses")
    accounts: list[AccountState] = Field(description="States of the named accounts and your token accounts")
    last_transaction: TxResult | None = None


class AgentTask(BaseModel):
    """One step of work for an agent (a single-step benchmark has one)."""

    benchmark_id: str
    step: int
    step_count: int
    prompt: str
    observation: Observation


class AgentError(Exception):
    """The agent could not do its job (no solution, model unreachable, …)."""


class ToolBox(Protocol):
    """How an agent acts: every call is validated, executed and recorded by the runner."""

    @property
    def tools(self) -> list[Tool]: ...

    async def call(self, name: str, args: Any) -> dict[str, Any]:
        """Run a tool; returns its result, or `{"error": ...}` for any mistake."""
        ...


class Agent(ABC):
    name: str = "agent"
    uses_reference_solution: bool = False

    @abstractmethod
    async def run_step(
        self, task: AgentTask, tools: ToolBox, reference: list[ToolCallSpec] | None = None
    ) -> None:
        """Act on one step. Raise `AgentError` when the agent itself fails."""
