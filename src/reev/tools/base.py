"""Tool definitions and the context they act on.

A tool is a name, a pydantic parameter model (its JSON schema is what an LLM sees) and a
handler. Action tools *stage* instructions on the context; `submit_transaction` sends what is
staged as one transaction. The deterministic agent and LLM agents call the same tools through
`call_tool`, so a benchmark's reference solution proves the task is solvable with exactly the
interface an LLM gets.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from reev.chain.accounts import AccountState, MintInfo
from reev.chain.fork import ChainDataUnavailable
from reev.chain.observe import read_account
from reev.chain.protocol import Chain, TxResult
from reev.constants import ATA_PROGRAM
from reev.errors import AgentError
from reev.units import AmountError

ToolKind = Literal["action", "query", "submit"]


class ToolError(AgentError):
    """A mistake the agent made; returned to it as a tool error so it can recover."""


class ToolParams(BaseModel):
    """Base of every tool's parameters: unknown arguments are a schema violation."""

    model_config = ConfigDict(extra="forbid")


@dataclass
class StagedInstruction:
    instruction: Instruction
    tool: str
    summary: str


@dataclass
class ToolContext:
    """What a tool may touch: the chain, the user's wallet, and the staging area."""

    chain: Chain
    user: Keypair
    signers: dict[Pubkey, Keypair] = field(default_factory=dict)
    staged: list[StagedInstruction] = field(default_factory=list)
    transactions: list[TxResult] = field(default_factory=list)
    created_accounts: int = 0  # accounts create_account has derived keys for (next index)

    @property
    def wallet(self) -> Pubkey:
        return self.user.pubkey()

    def stage(self, tool: str, summary: str, *instructions: Instruction) -> dict[str, Any]:
        for ix in instructions:
            self.staged.append(StagedInstruction(ix, tool, summary))
        return {
            "status": "staged",
            "summary": summary,
            "instructions_added": len(instructions),
            "staged_instructions": len(self.staged),
            "next": "call submit_transaction to execute the staged instructions",
        }

    def submit(self) -> TxResult:
        """Send everything staged as one transaction (fee payer: the user's wallet)."""
        if not self.staged:
            raise ToolError("nothing is staged: call an action tool before submit_transaction")
        instructions = [s.instruction for s in self.staged]
        self.staged = []
        signers = list(self.signers.values())
        result = self.chain.send(instructions, self.user, signers)
        self.transactions.append(result)
        return result

    def account(self, address: Pubkey) -> AccountState | None:
        return read_account(self.chain, address)

    def address(self, value: str, field_name: str) -> Pubkey:
        try:
            return Pubkey.from_string(value.strip())
        except (ValueError, AttributeError):
            raise ToolError(
                f"{field_name}: {value!r} is not a valid Solana address (base58)"
            ) from None

    def mint(self, value: str, field_name: str = "mint") -> tuple[Pubkey, MintInfo, Pubkey]:
        """A mint address → (mint, its decoded state, its token program); anything else is an
        agent error that says what the address is instead."""
        mint = self.address(value, field_name)
        state = self.account(mint)
        if state is None or state.mint is None:
            if state is not None and state.token is not None:
                raise ToolError(
                    f"{field_name}: {mint} is a token account (of mint {state.token.mint}), not a mint"
                )
            raise ToolError(f"{field_name}: {mint} is not a token mint on this chain")
        return mint, state.mint, Pubkey.from_string(state.owner)

    def is_staged_creation(self, address: Pubkey) -> bool:
        """Whether an instruction already staged will create `address` (idempotent ATA)."""
        for staged in self.staged:
            ix = staged.instruction
            if (
                ix.program_id == ATA_PROGRAM
                and len(ix.accounts) > 1
                and ix.accounts[1].pubkey == address
            ):
                return True
        return False


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    params: type[ToolParams]
    handler: Callable[[ToolContext, Any], dict[str, Any]]
    kind: ToolKind

    def json_schema(self) -> dict[str, Any]:
        """The parameters' JSON schema. Built once per tool (pydantic rebuilt it on every model
        call: 1,431 times in one run, issue 18); callers must not mutate what they get."""
        return _json_schema(self.params)

    def openai_schema(self) -> dict[str, Any]:
        """The function-calling definition sent to OpenAI-compatible models. Its parameters are
        `json_schema()`'s (built once per tool); a subclass that brings its own schema (an MCP
        server's tool) overrides `json_schema` and is offered with it."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.json_schema(),
            },
        }


@functools.cache
def _json_schema(params: type[ToolParams]) -> dict[str, Any]:
    schema = params.model_json_schema()
    schema.pop("title", None)
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)
    return schema


class ToolOutcome(BaseModel):
    """The result of one tool call as recorded and as returned to the agent."""

    tool: str
    args: dict[str, Any]
    ok: bool
    result: dict[str, Any] | None = None
    error: str | None = None
    error_kind: (
        Literal["unknown_tool", "invalid_arguments", "tool_error", "internal_error"] | None
    ) = None

    def for_agent(self) -> dict[str, Any]:
        return self.result if self.ok and self.result is not None else {"error": self.error}


def _describe_validation(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "arguments"
        message = "unexpected argument" if error["type"] == "extra_forbidden" else error["msg"]
        parts.append(f"{where}: {message}")
    return "; ".join(parts)


def run_tool(tools: dict[str, Tool], ctx: ToolContext, name: str, args: Any) -> ToolOutcome:
    """Validate and run one tool call; every agent mistake becomes a recorded tool error.

    `args` may be the JSON text a model sent: parsing it here keeps "malformed JSON" one more
    recorded, recoverable mistake rather than a crash in each agent.
    """
    if isinstance(args, str):
        text = args.strip() or "{}"
        try:
            args = json.loads(text)
        except json.JSONDecodeError as exc:
            return ToolOutcome(
                tool=name,
                args={"_raw": text[:2000]},
                ok=False,
                error=f"arguments are not valid JSON ({exc.msg} at position {exc.pos})",
                error_kind="invalid_arguments",
            )
    safe_args = args if isinstance(args, dict) else {"_raw": args}
    tool = tools.get(name)
    if tool is None:
        known = ", ".join(sorted(tools))
        return ToolOutcome(
            tool=name,
            args=safe_args,
            ok=False,
            error=f"unknown tool {name!r}; available tools: {known}",
            error_kind="unknown_tool",
        )
    if not isinstance(args, dict):
        return ToolOutcome(
            tool=name,
            args=safe_args,
            ok=False,
            error="arguments must be a JSON object",
            error_kind="invalid_arguments",
        )
    try:
        params = tool.params.model_validate(args)
    except ValidationError as exc:
        return ToolOutcome(
            tool=name,
            args=args,
            ok=False,
            error=_describe_validation(exc),
            error_kind="invalid_arguments",
        )
    try:
        result = tool.handler(ctx, params)
    except (ToolError, AmountError) as exc:
        return ToolOutcome(tool=name, args=args, ok=False, error=str(exc), error_kind="tool_error")
    except ChainDataUnavailable:
        raise  # the chain, not the agent, is missing something: the episode stops (runner)
    except Exception as exc:  # a bug in a tool: recorded, the episode goes on
        return ToolOutcome(
            tool=name,
            args=args,
            ok=False,
            error=f"internal error in {name}: {type(exc).__name__}: {exc}",
            error_kind="internal_error",
        )
    return ToolOutcome(tool=name, args=args, ok=True, result=result)
