"""SPL Token and Token-2022 tools."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field
from solders.pubkey import Pubkey
from spl.token.instructions import (
    close_account,
    create_idempotent_associated_token_account,
    get_associated_token_address,
    transfer,
    transfer_checked,
)
from spl.token.models import CloseAccountParams, TransferCheckedParams, TransferParams

from reev.chain.accounts import AccountState
from reev.chain.token2022 import mint_transfer_fee
from reev.constants import TOKEN_2022_PROGRAM, TOKEN_PROGRAMS
from reev.tools.base import ToolContext, ToolError, ToolParams
from reev.tools.registry import tool
from reev.units import format_ui_amount, to_base_units


def with_transfer_fee(
    ctx: ToolContext, result: dict, mint: Pubkey, amount: int, decimals: int
) -> dict:
    """Add the fee a Token-2022 transfer-fee mint withholds, and what the recipient receives."""
    state = ctx.account(mint)
    fee = mint_transfer_fee(state.mint, amount) if state is not None and state.mint else None
    if fee is not None:
        result["transfer_fee"] = format_ui_amount(fee, decimals)
        result["transfer_fee_base_units"] = fee
        result["recipient_receives"] = format_ui_amount(amount - fee, decimals)
        result["recipient_receives_base_units"] = amount - fee
        result["summary"] += (
            f" (transfer fee {result['transfer_fee']} withheld: the recipient receives "
            f"{result['recipient_receives']})"
        )
    return result


def ensure_associated_account(
    ctx: ToolContext, owner: Pubkey, mint: Pubkey, program: Pubkey
) -> tuple[Pubkey, list]:
    """The owner's ATA for `mint`, plus a create-idempotent instruction when it is missing."""
    ata = get_associated_token_address(owner, mint, program)
    if ctx.account(ata) is not None or ctx.is_staged_creation(ata):
        return ata, []
    return ata, [create_idempotent_associated_token_account(ctx.wallet, owner, mint, program)]


def token_account_for(
    ctx: ToolContext,
    value: str | None,
    mint: Pubkey,
    program: Pubkey,
    field_name: str = "token_account",
) -> tuple[Pubkey, AccountState]:
    """An existing token account of `mint`: the given token account, the associated token
    account of a given wallet, or (no value) the user's own associated token account."""
    if value is None:
        address = get_associated_token_address(ctx.wallet, mint, program)
        state = ctx.account(address)
        if state is None or state.token is None:
            raise ToolError(
                f"{field_name}: you hold no token account for mint {mint} (your associated token "
                f"account {address} does not exist); pass {field_name} if you hold another one"
            )
        return address, state
    address = ctx.address(value, field_name)
    state = ctx.account(address)
    if state is not None and state.mint is not None:
        raise ToolError(f"{field_name}: {address} is a token mint, not a token account")
    if state is None or Pubkey.from_string(state.owner) not in TOKEN_PROGRAMS:
        # A wallet: use its associated token account for the mint.
        ata = get_associated_token_address(address, mint, program)
        ata_state = ctx.account(ata)
        if ata_state is None or ata_state.token is None:
            raise ToolError(
                f"{field_name}: {address} is not a token account, and as a wallet it has no token "
                f"account for mint {mint} (its associated token account {ata} does not exist)"
            )
        address, state = ata, ata_state
    if state.token is None:
        raise ToolError(f"{field_name}: {address} is not a token account")
    if state.token.mint != str(mint):
        raise ToolError(
            f"{field_name}: token account {address} holds mint {state.token.mint}, not {mint}"
        )
    return address, state


def destination_for(
    ctx: ToolContext, value: str, mint: Pubkey, program: Pubkey, field_name: str = "recipient"
) -> tuple[Pubkey, list]:
    """Where tokens go: an existing token account of `mint`, or a wallet's associated token
    account (plus a create-idempotent instruction when it does not exist yet)."""
    recipient = ctx.address(value, field_name)
    state = ctx.account(recipient)
    if state is not None and Pubkey.from_string(state.owner) in TOKEN_PROGRAMS:
        if state.token is None:
            raise ToolError(
                f"{field_name}: {recipient} is a token mint, not a wallet or token account"
            )
        if state.token.mint != str(mint):
            raise ToolError(
                f"{field_name}: token account {recipient} holds mint {state.token.mint}, not {mint}"
            )
        return recipient, []
    if state is not None and state.executable:
        raise ToolError(f"{field_name}: {recipient} is a program, not a wallet or token account")
    return ensure_associated_account(ctx, recipient, mint, program)


class SplTransferParams(ToolParams):
    recipient: str = Field(
        description="Recipient wallet (its associated token account is used, and created if "
        "missing) or an existing token account of the same mint"
    )
    mint: str = Field(description="Mint address of the token")
    amount: Decimal = Field(description="Amount in token units (e.g. 1.5 USDC), not base units")
    source: str | None = Field(
        default=None,
        description="Token account to send from; defaults to your associated token account",
    )


@tool("spl_transfer", SplTransferParams, "action")
def spl_transfer(ctx: ToolContext, p: SplTransferParams) -> dict:
    """Stage a transfer of SPL tokens (Token or Token-2022) from your wallet. The amount is in
    token units and may not have more decimals than the mint. It is what you send: on a
    Token-2022 mint with a transfer fee the recipient receives the amount minus the fee (the
    result says how much)."""
    mint, info, program = ctx.mint(p.mint)
    decimals = info.decimals
    amount = to_base_units(p.amount, decimals)
    source, _ = token_account_for(ctx, p.source, mint, program, "source")
    destination, instructions = destination_for(ctx, p.recipient, mint, program)

    if program == TOKEN_2022_PROGRAM:
        # Token-2022 mints may carry extensions (fees, hooks) that require the checked form.
        ix = transfer_checked(
            TransferCheckedParams(
                program_id=program,
                source=source,
                mint=mint,
                dest=destination,
                owner=ctx.wallet,
                amount=amount,
                decimals=decimals,
            )
        )
    else:
        ix = transfer(
            TransferParams(
                program_id=program, source=source, dest=destination, owner=ctx.wallet, amount=amount
            )
        )
    instructions.append(ix)
    summary = f"transfer {format_ui_amount(amount, decimals)} of mint {mint} to {destination}"
    result = ctx.stage("spl_transfer", summary, *instructions)
    return with_transfer_fee(ctx, result, mint, amount, decimals)


class CreateTokenAccountParams(ToolParams):
    owner: str = Field(description="Wallet that will own the new token account")
    mint: str = Field(description="Mint address of the token")


@tool("create_token_account", CreateTokenAccountParams, "action")
def create_token_account(ctx: ToolContext, p: CreateTokenAccountParams) -> dict:
    """Stage the creation of the associated token account of `owner` for `mint` (you pay the
    rent). Does nothing harmful if it already exists."""
    owner = ctx.address(p.owner, "owner")
    mint, _, program = ctx.mint(p.mint)
    ata = get_associated_token_address(owner, mint, program)
    ix = create_idempotent_associated_token_account(ctx.wallet, owner, mint, program)
    result = ctx.stage("create_token_account", f"create token account {ata} for {owner}", ix)
    result["token_account"] = str(ata)
    return result


class CloseTokenAccountParams(ToolParams):
    token_account: str = Field(
        description="The token account to close (must be empty unless it is wrapped SOL)"
    )
    destination: str | None = Field(
        default=None, description="Where the reclaimed rent goes; defaults to your wallet"
    )


@tool("close_token_account", CloseTokenAccountParams, "action")
def close_token_account(ctx: ToolContext, p: CloseTokenAccountParams) -> dict:
    """Stage closing one of your token accounts; its rent (and, for wrapped SOL, its balance)
    goes to the destination."""
    account = ctx.address(p.token_account, "token_account")
    state = ctx.account(account)
    if state is None or state.token is None:
        raise ToolError(f"token_account: {account} is not an existing token account")
    destination = ctx.address(p.destination, "destination") if p.destination else ctx.wallet
    ix = close_account(
        CloseAccountParams(
            program_id=Pubkey.from_string(state.owner),
            account=account,
            dest=destination,
            owner=ctx.wallet,
        )
    )
    return ctx.stage("close_token_account", f"close token account {account}", ix)
