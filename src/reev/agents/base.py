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
from solders.keypair import Keypair

from reev.chain.accounts import AccountState
from reev.chain.protocol import Chain, TxResult
from reev.errors import AgentError as AgentError  # re-exported: agents import it from here
from reev.spec.models import ToolCallSpec
from reev.tools.base import Tool


class Observation(BaseModel):
    """What the agent may know about the chain before it acts."""

    wallet: str
    key_map: dict[str, str] = Field(description="Names the benchmark declares → addresses")
    accounts: list[AccountState] = Field(
        description="States of the named accounts and your token accounts"
    )
    last_transaction: TxResult | None = None


class AgentTask(BaseModel):
    """One step of work for an agent (a single-step benchmark has one)."""

    benchmark_id: str
    step: int
    step_count: int
    prompt: str
    observation: Observation


class ModelAttempt(BaseModel):
    """One HTTP attempt of a model call (retries make several)."""

    attempt: int
    ok: bool
    status_code: int | None = None
    error: str | None = None
    latency_ms: float = 0.0
    retry_after_s: float | None = None


class ModelCallRecord(BaseModel):
    """One model call: what was sent, what came back, what it cost."""

    index: int
    provider: str
    model: str
    request_messages: list[dict[str, Any]]
    tools: list[str] = Field(default_factory=list, description="Names of the tools offered")
    response: dict[str, Any] | None = None
    finish_reason: str | None = None
    latency_ms: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    attempts: list[ModelAttempt] = Field(default_factory=list)
    error: str | None = None


class ToolBox(Protocol):
    """How an agent acts: every call is validated, executed and recorded by the runner."""

    @property
    def tools(self) -> list[Tool]: ...

    async def call(self, name: str, args: Any) -> dict[str, Any]:
        """Run a tool; returns its result, or `{"error": ...}` for any mistake. `args` may be a
        JSON string as a model sent it: malformed JSON is an agent mistake like any other."""
        ...

    def record_model_call(self, record: ModelCallRecord) -> None:
        """Add a model call to the step's trace (and the run's usage)."""
        ...

    def set_final_answer(self, text: str | None) -> None:
        """The agent's closing words for the step, kept in the session file."""
        ...

    @property
    def chain(self) -> Chain:
        """The episode's chain, for agents that act on it themselves (`--agent-cmd`)."""
        ...

    @property
    def wallet_keypair(self) -> Keypair:
        """The user's keypair, the one key an agent may sign with."""
        ...

    def record_transaction(self, tx: TxResult) -> None:
        """Record (and score) a transaction the agent sent itself rather than through a tool."""
        ...


class Agent(ABC):
    name: str = "agent"
    uses_reference_solution: bool = False

    @abstractmethod
    async def run_step(
        self, task: AgentTask, tools: ToolBox, reference: list[ToolCallSpec] | None = None
    ) -> None:
        """Act on one step. Raise `AgentError` when the agent itself fails."""

    async def aclose(self) -> None:
        """Release what the agent holds (HTTP clients); called once when the episode ends."""
