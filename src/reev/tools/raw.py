"""Raw instructions, for agents that build their own (remote agents, capable models)."""

from __future__ import annotations

from pydantic import Field, ValidationError

from reev.chain.instructions import InstructionRecord
from reev.tools.base import ToolContext, ToolError, ToolParams
from reev.tools.registry import tool

MAX_INSTRUCTIONS = 32


class StageInstructionsParams(ToolParams):
    instructions: list[dict] = Field(
        description="Instructions as {program_id, accounts: [{pubkey, is_signer, is_writable}], "
        "data (base58)}; they join the staged transaction"
    )


@tool("stage_instructions", StageInstructionsParams, "action")
def stage_instructions(ctx: ToolContext, p: StageInstructionsParams) -> dict:
    """Stage instructions you built yourself (reev instruction format: program_id, accounts with
    is_signer/is_writable, base58 data). Your wallet is the fee payer; it can sign."""
    if not p.instructions:
        raise ToolError("instructions: give at least one instruction")
    if len(p.instructions) > MAX_INSTRUCTIONS:
        raise ToolError(f"instructions: at most {MAX_INSTRUCTIONS} per call")
    built = []
    for index, raw in enumerate(p.instructions):
        try:
            built.append(InstructionRecord.model_validate(raw).to_instruction())
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'instruction'}: {e['msg']}"
                for e in exc.errors()
            )
            raise ToolError(f"instructions[{index}]: {problems}") from None
        except ValueError as exc:  # bad base58 in a pubkey or the data
            raise ToolError(f"instructions[{index}]: {exc}") from None
    return ctx.stage("stage_instructions", f"{len(built)} raw instruction(s)", *built)
