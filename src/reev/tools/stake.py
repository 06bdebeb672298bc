"""Native staking: open and delegate a stake account, deactivate it, withdraw from it, read it.

`stake_sol` opens the stake account at an address derived with a seed from the user's wallet,
`create_with_seed(wallet, "stake:<n>", Stake program)` with the lowest unused n, as
`solana create-stake-account --seed` and wallet apps do: the address is reproducible, only the
wallet signs, and a benchmark can name it (`address_derivation: {type: AccountWithSeed, …}`).

Stake moves with epochs: a delegation is `activating` in the epoch it is made and `active` from
the next one; a deactivated stake is `deactivating` until the epoch ends, then `inactive`, and
only then can everything be withdrawn. The tools check what the user can sign for (the staker
deactivates, the withdrawer withdraws) and what cannot work (a vote account that is not one,
less than the minimum delegation); whether the stake is still active when withdrawing is left
to the Stake program, which rejects the transaction (`withdrawable_lamports` and a `warning` say
so beforehand).
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field
from solders.pubkey import Pubkey
from solders.system_program import CreateAccountWithSeedParams, create_account_with_seed

from reev.chain.accounts import AccountState
from reev.chain.stake import (
    MINIMUM_DELEGATION,
    STAKE_ACCOUNT_LEN,
    STAKE_SEED_PREFIX,
    deactivate,
    delegate_stake,
    initialize,
    stake_account_address,
    withdraw,
    withdrawable_lamports,
)
from reev.constants import SOL_DECIMALS, STAKE_PROGRAM, VOTE_PROGRAM
from reev.tools.base import ToolContext, ToolError, ToolParams
from reev.tools.registry import tool
from reev.units import format_ui_amount, to_base_units


def _sol(lamports: int) -> str:
    return format_ui_amount(lamports, SOL_DECIMALS)


def stake_summary(state: AccountState) -> dict:
    """A stake account as the tools report it."""
    info = state.stake
    assert info is not None
    summary: dict = {
        "stake_account": state.address,
        "state": info.state,
        "epoch": info.epoch,
        "lamports": state.lamports,
        "sol": _sol(state.lamports),
        "staker": info.staker,
        "withdrawer": info.withdrawer,
        "rent_exempt_reserve_lamports": info.rent_exempt_reserve,
    }
    if info.kind == "delegated":
        summary.update(
            {
                "delegated_vote": info.delegated_vote,
                "stake_lamports": info.stake,
                "stake_sol": _sol(info.stake or 0),
                "activation_epoch": info.activation_epoch,
                "deactivation_epoch": info.deactivation_epoch,
                "effective_lamports": info.effective,
                "activating_lamports": info.activating,
                "deactivating_lamports": info.deactivating,
            }
        )
    summary["withdrawable_lamports"] = withdrawable_lamports(state.lamports, info)
    return summary


def _stake_account(ctx: ToolContext, value: str, field: str) -> tuple[Pubkey, AccountState]:
    address = ctx.address(value, field)
    state = ctx.account(address)
    if state is None:
        raise ToolError(f"{field}: there is no account at {address}")
    if state.owner != str(STAKE_PROGRAM) or state.stake is None:
        raise ToolError(f"{field}: {address} is not a stake account (owned by {state.owner})")
    if state.stake.kind not in ("initialized", "delegated"):
        raise ToolError(f"{field}: {address} is an uninitialized stake account")
    return address, state


def _is_staged(ctx: ToolContext, address: Pubkey) -> bool:
    return any(
        meta.pubkey == address for staged in ctx.staged for meta in staged.instruction.accounts
    )


class StakeSolParams(ToolParams):
    amount: Decimal = Field(
        description="SOL to stake (delegate), e.g. 2; at least 1 SOL. The stake account's "
        "rent-exempt reserve (0.00228288 SOL) is added on top and comes back on withdrawal"
    )
    vote_account: str = Field(description="Vote account of the validator to delegate to")


@tool("stake_sol", StakeSolParams, "action")
def stake_sol(ctx: ToolContext, p: StakeSolParams) -> dict:
    """Stage staking SOL with a validator: create a new stake account funded from your wallet
    with `amount` SOL plus its rent-exempt reserve, make your wallet its staker and withdrawer,
    and delegate it to `vote_account` (System CreateAccountWithSeed, Stake Initialize, Stake
    DelegateStake). The new address is returned as `stake_account`: your n-th stake account is
    create_with_seed(your wallet, "stake:<n>", Stake program). The stake is `activating` in the
    current epoch and `active` from the next one."""
    vote = ctx.address(p.vote_account, "vote_account")
    vote_state = ctx.account(vote)
    if vote_state is None:
        raise ToolError(f"vote_account: there is no account at {vote}")
    if vote_state.owner != str(VOTE_PROGRAM) or vote_state.executable:
        raise ToolError(
            f"vote_account: {vote} is not a vote account (owned by {vote_state.owner}); give the "
            "validator's vote account, not its identity or a wallet"
        )
    lamports = to_base_units(p.amount, SOL_DECIMALS)
    if lamports < MINIMUM_DELEGATION:
        raise ToolError(
            f"amount: the minimum delegation is {_sol(MINIMUM_DELEGATION)} SOL; {p.amount} SOL is "
            "too little"
        )
    index = 0
    while True:
        address = stake_account_address(ctx.wallet, index)
        if ctx.account(address) is None and not _is_staged(ctx, address):
            break
        index += 1
    seed = f"{STAKE_SEED_PREFIX}{index}"
    reserve = ctx.chain.rent_exempt_minimum(STAKE_ACCOUNT_LEN)
    create = create_account_with_seed(
        CreateAccountWithSeedParams(
            from_pubkey=ctx.wallet,
            to_pubkey=address,
            base=ctx.wallet,
            seed=seed,
            lamports=lamports + reserve,
            space=STAKE_ACCOUNT_LEN,
            owner=STAKE_PROGRAM,
        )
    )
    summary = f"stake {_sol(lamports)} SOL with vote account {vote} in new stake account {address}"
    result = ctx.stage(
        "stake_sol",
        summary,
        create,
        initialize(address, ctx.wallet, ctx.wallet),
        delegate_stake(address, vote, ctx.wallet),
    )
    result.update(
        stake_account=str(address),
        seed=seed,
        stake_lamports=lamports,
        rent_exempt_reserve_lamports=reserve,
    )
    return result


class DeactivateStakeParams(ToolParams):
    stake_account: str = Field(description="The stake account to deactivate (unstake)")


@tool("deactivate_stake", DeactivateStakeParams, "action")
def deactivate_stake(ctx: ToolContext, p: DeactivateStakeParams) -> dict:
    """Stage deactivating (unstaking) a delegated stake account whose staker is your wallet
    (Stake Deactivate). The stake is `deactivating` until the current epoch ends, then
    `inactive`; only then can withdraw_stake take it all. The SOL stays in the stake account."""
    address, state = _stake_account(ctx, p.stake_account, "stake_account")
    info = state.stake
    assert info is not None
    if info.kind != "delegated":
        raise ToolError(
            f"stake_account: {address} is not delegated (state {info.state}): nothing to deactivate"
        )
    if info.deactivation_epoch is not None:
        raise ToolError(
            f"stake_account: {address} was already deactivated in epoch {info.deactivation_epoch} "
            f"(state {info.state})"
        )
    if info.staker != str(ctx.wallet):
        raise ToolError(
            f"stake_account: its staker is {info.staker}, not your wallet; only the staker can "
            "deactivate it"
        )
    delegated = f"{_sol(info.stake or 0)} SOL delegated to {info.delegated_vote}"
    summary = f"deactivate stake account {address} ({delegated})"
    return ctx.stage("deactivate_stake", summary, deactivate(address, ctx.wallet))


class WithdrawStakeParams(ToolParams):
    stake_account: str = Field(description="The stake account to withdraw from")
    amount: Decimal | None = Field(
        default=None,
        description="SOL to withdraw; omit to withdraw everything, which closes the account "
        "(only possible once the stake is inactive)",
    )
    recipient: str | None = Field(
        default=None, description="Who receives the SOL; defaults to your wallet"
    )


@tool("withdraw_stake", WithdrawStakeParams, "action")
def withdraw_stake(ctx: ToolContext, p: WithdrawStakeParams) -> dict:
    """Stage withdrawing SOL from a stake account whose withdrawer is your wallet (Stake
    Withdraw), by default everything to your wallet, which closes the account. The Stake program
    only allows it once the stake is inactive (deactivated and the epoch over); while it is
    active, activating or deactivating, only lamports above the stake and the rent-exempt
    reserve can be withdrawn, and the transaction fails otherwise. `withdrawable_lamports` in
    the result (and get_stake_account) is what can be taken now."""
    address, state = _stake_account(ctx, p.stake_account, "stake_account")
    info = state.stake
    assert info is not None
    if info.withdrawer != str(ctx.wallet):
        raise ToolError(
            f"stake_account: its withdrawer is {info.withdrawer}, not your wallet; only the "
            "withdrawer can withdraw"
        )
    recipient = ctx.address(p.recipient, "recipient") if p.recipient is not None else ctx.wallet
    lamports = state.lamports if p.amount is None else to_base_units(p.amount, SOL_DECIMALS)
    if p.amount is not None and lamports <= 0:
        raise ToolError("amount: must be greater than zero")
    if lamports > state.lamports:
        raise ToolError(
            f"amount: the stake account holds {_sol(state.lamports)} SOL; cannot withdraw "
            f"{p.amount} SOL"
        )
    closes = lamports == state.lamports
    summary = f"withdraw {_sol(lamports)} SOL from stake account {address} to {recipient}"
    if closes:
        summary += " (closes it)"
    result = ctx.stage(
        "withdraw_stake", summary, withdraw(address, recipient, ctx.wallet, lamports)
    )
    withdrawable = withdrawable_lamports(state.lamports, info)
    result.update(
        withdraw_lamports=lamports, closes_account=closes, withdrawable_lamports=withdrawable
    )
    if lamports > withdrawable:
        result["warning"] = (
            f"the stake account is {info.state}: at most {withdrawable} lamports can be withdrawn "
            "now, so the Stake program will reject this withdrawal"
            + (
                " (deactivate it and wait for the epoch to end)"
                if info.deactivation_epoch is None
                else " (wait for the epoch to end)"
            )
        )
    return result


class GetStakeAccountParams(ToolParams):
    address: str = Field(description="Stake account address")


@tool("get_stake_account", GetStakeAccountParams, "query")
def get_stake_account(ctx: ToolContext, p: GetStakeAccountParams) -> dict:
    """Read a stake account: its state at the current epoch (initialized, activating, active,
    deactivating or inactive), lamports, staker, withdrawer, the vote account it is delegated
    to, the delegated stake and how much of it is effective, activation and deactivation
    epochs, and how many lamports can be withdrawn now."""
    address = ctx.address(p.address, "address")
    state = ctx.account(address)
    if state is None:
        return {"address": str(address), "exists": False, "lamports": 0, "sol": "0"}
    if state.owner != str(STAKE_PROGRAM) or state.stake is None:
        raise ToolError(f"address: {address} is not a stake account (owned by {state.owner})")
    return {"address": str(address), "exists": True, **stake_summary(state)}
