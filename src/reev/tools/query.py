"""Query tools: read the live chain; they never stage anything."""

from __future__ import annotations

from pydantic import Field
from spl.token.instructions import get_associated_token_address

from reev.chain.accounts import AccountState
from reev.chain.observe import token_accounts_of
from reev.programs import SYSTEM
from reev.tools.base import ToolContext, ToolError, ToolParams
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
        if state.token.mint != str(mint):
            raise ToolError(f"address: token account {address} holds mint {state.token.mint}, not {mint}")
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


class GetTokenAccountsParams(ToolParams):
    owner: str = Field(description="Wallet (or any address) whose token accounts are listed")


@tool("get_token_accounts", GetTokenAccountsParams, "query")
def get_token_accounts(ctx: ToolContext, p: GetTokenAccountsParams) -> dict:
    """Every token account owned by an address, of both token programs (SPL Token and
    Token-2022): address, mint, amount in token units and base units, decimals, program, and
    delegate or frozen state when set."""
    owner = ctx.address(p.owner, "owner")
    accounts = [token_summary(s) for s in token_accounts_of(ctx.chain, owner)]
    return {"owner": str(owner), "count": len(accounts), "token_accounts": accounts}


class GetAccountInfoParams(ToolParams):
    address: str = Field(description="Any account address")


def _mint_summary(state: AccountState) -> dict:
    mint = state.mint
    assert mint is not None
    return {
        "decimals": mint.decimals,
        "supply": format_ui_amount(mint.supply, mint.decimals),
        "supply_base_units": mint.supply,
        "mint_authority": mint.mint_authority,
        "freeze_authority": mint.freeze_authority,
        "program": state.owner,
    }


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
        token = token_summary(state)
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
        system_owned = state.owner == SYSTEM
        info["kind"] = "wallet" if system_owned and state.data_len == 0 else "account"
    return info
