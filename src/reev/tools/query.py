"""Query tools: read the live chain; they never stage anything."""

from __future__ import annotations

from typing import Any

from pydantic import Field
from solders.pubkey import Pubkey
from spl.token.instructions import get_associated_token_address

from reev.chain.accounts import AccountState, MintInfo
from reev.chain.observe import token_accounts_of
from reev.constants import SOL_DECIMALS, SYSTEM_PROGRAM
from reev.tools.base import ToolContext, ToolError, ToolParams
from reev.tools.registry import tool
from reev.units import format_ui_amount


def transfer_fee_summary(mint: MintInfo) -> dict | None:
    """A Token-2022 mint's transfer fee as an agent reads it, or None when it has none."""
    if mint.transfer_fee_basis_points is None or mint.transfer_fee_maximum is None:
        return None
    return {
        "basis_points": mint.transfer_fee_basis_points,
        "maximum_fee": format_ui_amount(mint.transfer_fee_maximum, mint.decimals),
        "maximum_fee_base_units": mint.transfer_fee_maximum,
        "rule": "every transfer withholds fee = min(ceil(amount_base_units * basis_points / "
        "10000), maximum_fee_base_units) in the recipient's account: the sender is debited the "
        "amount, the recipient receives amount - fee",
    }


def _summary(ctx: ToolContext, state: AccountState) -> dict:
    """`token_summary` plus the transfer fee of the account's mint, when it has one."""
    assert state.token is not None
    mint = ctx.account(Pubkey.from_string(state.token.mint))
    return token_summary(state, mint.mint if mint is not None else None)


def token_summary(state: AccountState, mint: MintInfo | None = None) -> dict:
    token = state.token
    assert token is not None
    summary: dict[str, Any] = {
        "token_account": state.address,
        "mint": token.mint,
        "amount": token.ui_amount,
        "amount_base_units": token.amount,
        "decimals": token.decimals,
        "program": state.owner,
    }
    if token.delegate:
        summary["delegate"] = token.delegate
        summary["delegated_amount_base_units"] = token.delegated_amount
    if token.state != "initialized":
        summary["state"] = token.state
    if token.withheld_amount is not None:
        summary["withheld_fees_base_units"] = token.withheld_amount
    fee = transfer_fee_summary(mint) if mint is not None else None
    if fee is not None:
        summary["transfer_fee"] = fee
    return summary


class GetBalanceParams(ToolParams):
    address: str = Field(description="Wallet or token account address")
    mint: str | None = Field(
        default=None,
        description="If given, the balance of this token for the wallet (its associated token account)",
    )


@tool("get_balance", GetBalanceParams, "query")
def get_balance(ctx: ToolContext, p: GetBalanceParams) -> dict:
    """Read a balance: SOL of any address, the tokens of a token account, or with `mint`, the
    tokens a wallet holds in its associated token account. For a Token-2022 mint with a
    transfer fee, also the fee (transfer_fee) and the fees withheld in the account."""
    address = ctx.address(p.address, "address")
    state = ctx.account(address)
    if p.mint is None:
        if state is not None and state.token is not None:
            return _summary(ctx, state)
        lamports = state.lamports if state else 0
        return {
            "address": str(address),
            "sol": format_ui_amount(lamports, SOL_DECIMALS),
            "lamports": lamports,
            "exists": state is not None,
        }
    mint, info, program = ctx.mint(p.mint)
    decimals = info.decimals
    account_state: AccountState | None
    if state is not None and state.token is not None:
        if state.token.mint != str(mint):
            raise ToolError(
                f"address: token account {address} holds mint {state.token.mint}, not {mint}"
            )
        account_state = state
    else:
        ata = get_associated_token_address(address, mint, program)
        account_state = ctx.account(ata)
        if account_state is None:
            return {
                "owner": str(address),
                "mint": str(mint),
                "token_account": str(ata),
                "exists": False,
                "amount": "0",
                "amount_base_units": 0,
                "decimals": decimals,
            }
    return _summary(ctx, account_state)


class GetWalletOverviewParams(ToolParams):
    pass


@tool("get_wallet_overview", GetWalletOverviewParams, "query")
def get_wallet_overview(ctx: ToolContext, p: GetWalletOverviewParams) -> dict:
    """Your wallet address, its SOL balance and every token account it owns (with the transfer
    fee of Token-2022 mints that charge one)."""
    state = ctx.account(ctx.wallet)
    lamports = state.lamports if state else 0
    return {
        "wallet": str(ctx.wallet),
        "sol": format_ui_amount(lamports, SOL_DECIMALS),
        "lamports": lamports,
        "token_accounts": [_summary(ctx, s) for s in token_accounts_of(ctx.chain, ctx.wallet)],
    }


class GetTokenAccountsParams(ToolParams):
    owner: str = Field(description="Wallet (or any address) whose token accounts are listed")


@tool("get_token_accounts", GetTokenAccountsParams, "query")
def get_token_accounts(ctx: ToolContext, p: GetTokenAccountsParams) -> dict:
    """Every token account owned by an address, of both token programs (SPL Token and
    Token-2022): address, mint, amount in token units and base units, decimals, program, and
    delegate or frozen state when set."""
    owner = ctx.address(p.owner, "owner")
    accounts = [_summary(ctx, s) for s in token_accounts_of(ctx.chain, owner)]
    return {"owner": str(owner), "count": len(accounts), "token_accounts": accounts}


class GetAccountInfoParams(ToolParams):
    address: str = Field(description="Any account address")


def _mint_summary(state: AccountState) -> dict:
    mint = state.mint
    assert mint is not None
    summary = {
        "decimals": mint.decimals,
        "supply": format_ui_amount(mint.supply, mint.decimals),
        "supply_base_units": mint.supply,
        "mint_authority": mint.mint_authority,
        "freeze_authority": mint.freeze_authority,
        "program": state.owner,
    }
    fee = transfer_fee_summary(mint)
    if fee is not None:
        summary["transfer_fee"] = fee
    return summary


@tool("get_account_info", GetAccountInfoParams, "query")
def get_account_info(ctx: ToolContext, p: GetAccountInfoParams) -> dict:
    """Read any account: whether it exists, its SOL balance (lamports), owner program, whether it
    is an executable program, its data length, and, for a token account or a mint, its decoded
    fields (mint, owner, amount, delegate, state; or decimals, supply and authorities). A null
    mint_authority means nobody can mint more."""
    address = ctx.address(p.address, "address")
    state = ctx.account(address)
    if state is None:
        return {"address": str(address), "exists": False, "lamports": 0, "sol": "0"}
    info: dict = {
        "address": str(address),
        "exists": True,
        "lamports": state.lamports,
        "sol": format_ui_amount(state.lamports, SOL_DECIMALS),
        "owner": state.owner,
        "executable": state.executable,
        "data_len": state.data_len,
    }
    if state.token is not None:
        info["kind"] = "token_account"
        token = _summary(ctx, state)
        token.pop("token_account")
        token["owner"] = state.token.owner
        if state.token.close_authority:
            token["close_authority"] = state.token.close_authority
        info["token_account"] = token
    elif state.mint is not None:
        info["kind"] = "mint"
        info["mint"] = _mint_summary(state)
    elif state.executable:
        info["kind"] = "program"
    else:
        system_owned = state.owner == str(SYSTEM_PROGRAM)
        info["kind"] = "wallet" if system_owned and state.data_len == 0 else "account"
    return info
