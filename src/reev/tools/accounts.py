"""Account and transaction-budget tools: creating a brand-new account, and priority fees.

`create_account` needs a keypair for the new address (it must sign its own creation). For
reproducibility the keypair is not random: the n-th account created in an episode is derived
from the user's wallet and n, so the same episode always creates the same addresses. The
environment holds these keys (`ToolContext.signers`), never the agent.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal

from pydantic import Field
from solders.compute_budget import set_compute_unit_limit, set_compute_unit_price
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.system_program import CreateAccountParams, create_account

from reev.constants import COMPUTE_BUDGET_PROGRAM, SOL_DECIMALS, SYSTEM_PROGRAM, U64_MAX
from reev.tools.base import ToolContext, ToolError, ToolParams
from reev.tools.registry import tool
from reev.units import format_ui_amount, to_base_units

MAX_ACCOUNT_DATA_LEN = 10 * 1024 * 1024  # Solana's MAX_PERMITTED_DATA_LENGTH
MAX_COMPUTE_UNIT_LIMIT = 1_400_000  # a transaction's compute-unit ceiling
MICRO_LAMPORTS_PER_LAMPORT = 1_000_000


def new_account_keypair(wallet: Pubkey, index: int) -> Keypair:
    """The keypair of the `index`-th account `wallet` creates: deterministic, so that an
    episode replays to the same addresses."""
    digest = hashlib.sha256(f"reev/new-account/{wallet}/{index}".encode()).digest()
    return Keypair.from_seed(digest)


class CreateAccountToolParams(ToolParams):
    lamports_sol: Decimal = Field(
        description="SOL to fund the new account with (in SOL, not lamports); at least the "
        "rent-exempt minimum for its size (0.00089088 SOL for 0 bytes)"
    )
    space: int = Field(
        default=0,
        ge=0,
        le=MAX_ACCOUNT_DATA_LEN,
        description="Bytes of data to allocate in the new account (default 0)",
    )
    owner: str | None = Field(
        default=None,
        description="Program that will own the new account; defaults to the System program (a "
        "plain wallet-like account)",
    )


@tool("create_account", CreateAccountToolParams, "action")
def create_account_tool(ctx: ToolContext, p: CreateAccountToolParams) -> dict:
    """Stage creating a brand-new account at a fresh address (System CreateAccount), funded
    from your wallet with `lamports_sol` SOL, with `space` bytes of zeroed data, owned by
    `owner` (default: the System program). The new address is returned as `new_account`; the
    environment holds its key and signs with it, so the transaction carries two signatures
    (fee 2 × 5000 lamports). The funding must cover the rent-exempt minimum for the size."""
    lamports = to_base_units(p.lamports_sol, SOL_DECIMALS)
    rent = ctx.chain.rent_exempt_minimum(p.space)
    if lamports < rent:
        raise ToolError(
            f"lamports_sol: an account of {p.space} bytes must hold at least "
            f"{format_ui_amount(rent, SOL_DECIMALS)} SOL ({rent} lamports, its rent-exempt "
            f"minimum); {p.lamports_sol} SOL is not enough"
        )
    owner = ctx.address(p.owner, "owner") if p.owner is not None else SYSTEM_PROGRAM
    if owner != SYSTEM_PROGRAM:
        program = ctx.account(owner)
        if program is None or not program.executable:
            raise ToolError(f"owner: {owner} is not a program on this chain")

    # The next index whose address is unused (the counter survives failed transactions; the
    # check also skips addresses that already exist).
    while True:
        keypair = new_account_keypair(ctx.wallet, ctx.created_accounts)
        ctx.created_accounts += 1
        address = keypair.pubkey()
        if address not in ctx.signers and ctx.account(address) is None:
            break
    ctx.signers[address] = keypair

    ix = create_account(
        CreateAccountParams(
            from_pubkey=ctx.wallet, to_pubkey=address, lamports=lamports, space=p.space, owner=owner
        )
    )
    summary = (
        f"create account {address} with {format_ui_amount(lamports, SOL_DECIMALS)} SOL, "
        f"{p.space} bytes, owned by {owner}"
    )
    result = ctx.stage("create_account", summary, ix)
    result["new_account"] = str(address)
    return result


class SetPriorityFeeParams(ToolParams):
    micro_lamports_per_cu: int = Field(
        ge=1,
        le=U64_MAX,
        description="Compute-unit price in micro-lamports (1 lamport = 1,000,000 micro-lamports) "
        "per compute unit",
    )
    compute_unit_limit: int | None = Field(
        default=None,
        ge=1,
        le=MAX_COMPUTE_UNIT_LIMIT,
        description="Most compute units the transaction may use (and is charged the price for); "
        "omit for the default limit",
    )


def _priority_fee(micro_lamports_per_cu: int, compute_unit_limit: int) -> int:
    """The prioritization fee in lamports: price × limit, in micro-lamports, rounded up."""
    return -(-micro_lamports_per_cu * compute_unit_limit // MICRO_LAMPORTS_PER_LAMPORT)


@tool("set_priority_fee", SetPriorityFeeParams, "action")
def set_priority_fee(ctx: ToolContext, p: SetPriorityFeeParams) -> dict:
    """Stage a priority fee for the next transaction (Compute Budget SetComputeUnitLimit when
    a limit is given, then SetComputeUnitPrice). The fee you pay becomes 5000 lamports per
    signature plus ceil(micro_lamports_per_cu × limit / 1,000,000) lamports, where the limit is
    compute_unit_limit if given, otherwise the default (200,000 per instruction of a deployed
    program such as SPL Token, 3,000 per builtin instruction such as System or Compute Budget).
    The fee is charged even if the transaction then fails, and a transaction that needs more
    compute units than its limit fails, so a limit must cover every instruction (a SOL transfer
    plus the two budget instructions use about 450). At most once per transaction."""
    for staged in ctx.staged:
        if staged.instruction.program_id == COMPUTE_BUDGET_PROGRAM:
            raise ToolError(
                "a priority fee is already staged for this transaction (a transaction may set its "
                "compute-unit price and limit once); submit it first"
            )
    price = p.micro_lamports_per_cu
    if p.compute_unit_limit is None:
        summary = f"priority fee {price} micro-lamports/CU, default compute-unit limit"
        return ctx.stage("set_priority_fee", summary, set_compute_unit_price(price))
    fee = _priority_fee(price, p.compute_unit_limit)
    summary = (
        f"priority fee {price} micro-lamports/CU, limit {p.compute_unit_limit} CU: {fee} "
        "lamports on top of the base fee"
    )
    result = ctx.stage(
        "set_priority_fee",
        summary,
        set_compute_unit_limit(p.compute_unit_limit),
        set_compute_unit_price(price),
    )
    result["priority_fee_lamports"] = fee
    return result
