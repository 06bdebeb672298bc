"""Query tools: read the live chain; they never stage anything."""

from __future__ import annotations

from pydantic import Field
from spl.token.instructions import get_associated_token_address

from reev.chain.accounts import AccountState
from reev.chain.observe import token_accounts_of
from reev.tools.base import ToolContext, ToolParams
from reev.tools.registry import tool
from reev.units import SOL_DECIMALS, format_ui_amount


def token_summary(state: AccountState) -> dict:
    token = state.token
    assert token is not None
    summary = {
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
    tokens a wallet holds in its associated token account."""
    address = ctx.address(p.address, "address")
    state = ctx.account(address)
    if p.mint is None:
        if state is not None and state.token is not None:
            return token_summary(state)
        lamports = state.lamports if state else 0
        return {
            "address": str(address),
            "sol": format_ui_amount(lamports, SOL_DECIMALS),
            "lamports": lamports,
            "exists": state is not None,
        }
    mint, decimals, program = ctx.mint(p.mint)
    if state is not None and state.token is not None:
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
    return token_summary(account_state)


class GetWalletOverviewParams(ToolParams):
    pass


@tool("get_wallet_overview", GetWalletOverviewParams, "query")
def get_wallet_overview(ctx: ToolContext, p: GetWalletOverviewParams) -> dict:
    """Your wallet address, its SOL balance and every token account it owns."""
    state = ctx.account(ctx.wallet)
    lamports = state.lamports if state else 0
    return {
        "wallet": str(ctx.wallet),
        "sol": format_ui_amount(lamports, SOL_DECIMALS),
        "lamports": lamports,
        "token_accounts": [token_summary(s) for s in token_accounts_of(ctx.chain, ctx.wallet)],
    }
