"""Token administration tools: checked transfers, delegates, burning, minting, freezing and
authorities, for both the SPL Token and the Token-2022 program.

The token program is always the one that owns the mint (as `spl_transfer` does), so one tool
serves both programs. Amount-carrying instructions use the *checked* forms (TransferChecked,
ApproveChecked, BurnChecked, MintToChecked): the program verifies the mint and its decimals,
which both programs support and Token-2022 mints with extensions require.

Authorities are checked before anything is staged: a request the user cannot sign for (minting
without being the mint authority, freezing without being the freeze authority, changing an
authority one does not hold) is a tool error that names the actual authority, never a
transaction doomed to fail.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import Field
from solders.pubkey import Pubkey
from spl.token.instructions import (
    AuthorityType,
    approve_checked,
    burn_checked,
    freeze_account,
    mint_to_checked,
    revoke,
    set_authority,
    thaw_account,
    transfer_checked,
)
from spl.token.models import (
    ApproveCheckedParams,
    BurnCheckedParams,
    FreezeAccountParams,
    MintToCheckedParams,
    RevokeParams,
    SetAuthorityParams,
    ThawAccountParams,
    TransferCheckedParams,
)

from reev.chain.accounts import ACCOUNT_LEN, AccountState
from reev.constants import TOKEN_2022_PROGRAM
from reev.tools.base import ToolContext, ToolError, ToolParams
from reev.tools.registry import tool
from reev.tools.token import (
    SplTransferParams,
    destination_for,
    token_account_for,
    with_transfer_fee,
)
from reev.units import format_ui_amount, to_base_units

# Token-2022 extension type of an account whose owner can never change (every Token-2022
# associated token account carries it).
_IMMUTABLE_OWNER_EXTENSION = 7


# --------------------------------------------------------------------------- shared checks


def _require_owner(ctx: ToolContext, address: Pubkey, state: AccountState, field_name: str) -> None:
    assert state.token is not None
    if state.token.owner != str(ctx.wallet):
        raise ToolError(
            f"{field_name}: token account {address} belongs to {state.token.owner}, not to your "
            "wallet; only its owner can do this"
        )


def _require_owner_or_delegate(
    ctx: ToolContext, address: Pubkey, state: AccountState, field_name: str
) -> None:
    assert state.token is not None
    if str(ctx.wallet) not in (state.token.owner, state.token.delegate):
        raise ToolError(
            f"{field_name}: token account {address} belongs to {state.token.owner} and your wallet "
            "is not its delegate, so you cannot move or burn its tokens"
        )


def _staged_touches(ctx: ToolContext, address: Pubkey) -> bool:
    return any(
        meta.pubkey == address for staged in ctx.staged for meta in staged.instruction.accounts
    )


def _has_immutable_owner(ctx: ToolContext, address: Pubkey, program: Pubkey) -> bool:
    """Whether a Token-2022 account carries the ImmutableOwner extension (TLV after the
    account-type byte)."""
    if program != TOKEN_2022_PROGRAM:
        return False
    account = ctx.chain.get_account(address)
    data = bytes(account.data) if account is not None else b""
    offset = ACCOUNT_LEN + 1
    while offset + 4 <= len(data):
        kind = int.from_bytes(data[offset : offset + 2], "little")
        length = int.from_bytes(data[offset + 2 : offset + 4], "little")
        if kind == _IMMUTABLE_OWNER_EXTENSION:
            return True
        if kind == 0:  # uninitialized padding: no more extensions
            return False
        offset += 4 + length
    return False


# --------------------------------------------------------------------------- transfer_checked


class TransferCheckedToolParams(SplTransferParams):
    """Same parameters as spl_transfer; only the instruction differs."""


@tool("transfer_checked", TransferCheckedToolParams, "action")
def transfer_checked_tool(ctx: ToolContext, p: TransferCheckedToolParams) -> dict:
    """Stage a TransferChecked of SPL tokens (Token or Token-2022) from your wallet: like
    spl_transfer, but always the checked instruction, in which the token program verifies the
    mint and its decimals. The amount is in token units and may not have more decimals than
    the mint. A recipient wallet without a token account for the mint gets one (you pay its
    rent). On a Token-2022 mint with a transfer fee the recipient receives the amount minus the
    fee (the result says how much)."""
    mint, info, program = ctx.mint(p.mint)
    amount = to_base_units(p.amount, info.decimals)
    source, source_state = token_account_for(ctx, p.source, mint, program, "source")
    _require_owner_or_delegate(ctx, source, source_state, "source")
    destination, instructions = destination_for(ctx, p.recipient, mint, program)
    instructions.append(
        transfer_checked(
            TransferCheckedParams(
                program_id=program,
                source=source,
                mint=mint,
                dest=destination,
                owner=ctx.wallet,
                amount=amount,
                decimals=info.decimals,
            )
        )
    )
    ui_amount = format_ui_amount(amount, info.decimals)
    summary = f"transfer (checked) {ui_amount} of mint {mint} to {destination}"
    result = ctx.stage("transfer_checked", summary, *instructions)
    return with_transfer_fee(ctx, result, mint, amount, info.decimals)


# --------------------------------------------------------------------------- delegates


class ApproveDelegateParams(ToolParams):
    token_account: str | None = Field(
        default=None,
        description="Your token account to approve the delegate on; defaults to your associated "
        "token account for the mint",
    )
    delegate: str = Field(description="Address that may spend the tokens on your behalf")
    mint: str = Field(description="Mint address of the token")
    amount: Decimal = Field(
        description="Most the delegate may spend, in token units (e.g. 100 USDC), not base units"
    )


@tool("approve_delegate", ApproveDelegateParams, "action")
def approve_delegate(ctx: ToolContext, p: ApproveDelegateParams) -> dict:
    """Stage approving a delegate on one of your token accounts (ApproveChecked, Token or
    Token-2022): the delegate may then transfer or burn up to `amount` tokens from it. A token
    account has at most one delegate: approving replaces any previous delegate and allowance.
    The amount is in token units and may not have more decimals than the mint."""
    mint, info, program = ctx.mint(p.mint)
    amount = to_base_units(p.amount, info.decimals)
    account, state = token_account_for(ctx, p.token_account, mint, program)
    _require_owner(ctx, account, state, "token_account")
    delegate = ctx.address(p.delegate, "delegate")
    if delegate == ctx.wallet:
        raise ToolError("delegate: that is your own wallet, which already owns the account")
    ix = approve_checked(
        ApproveCheckedParams(
            program_id=program,
            source=account,
            mint=mint,
            delegate=delegate,
            owner=ctx.wallet,
            amount=amount,
            decimals=info.decimals,
        )
    )
    summary = (
        f"approve {delegate} to spend up to {format_ui_amount(amount, info.decimals)} of mint "
        f"{mint} from {account}"
    )
    return ctx.stage("approve_delegate", summary, ix)


class RevokeDelegateParams(ToolParams):
    token_account: str | None = Field(
        default=None,
        description="Your token account whose delegate is revoked; defaults to your associated "
        "token account for the mint",
    )
    mint: str = Field(description="Mint address of the token")


@tool("revoke_delegate", RevokeDelegateParams, "action")
def revoke_delegate(ctx: ToolContext, p: RevokeDelegateParams) -> dict:
    """Stage revoking the delegate of one of your token accounts (Token or Token-2022): the
    delegate loses any remaining allowance. Refused when the account has no delegate."""
    mint, _, program = ctx.mint(p.mint)
    account, state = token_account_for(ctx, p.token_account, mint, program)
    _require_owner(ctx, account, state, "token_account")
    assert state.token is not None
    if state.token.delegate is None and not _staged_touches(ctx, account):
        raise ToolError(f"token_account: {account} has no delegate; there is nothing to revoke")
    ix = revoke(RevokeParams(program_id=program, account=account, owner=ctx.wallet))
    previous = state.token.delegate or "the staged delegate"
    return ctx.stage("revoke_delegate", f"revoke delegate {previous} of {account}", ix)


# --------------------------------------------------------------------------- supply


class BurnTokensParams(ToolParams):
    mint: str = Field(description="Mint address of the token")
    amount: Decimal = Field(description="Amount to burn in token units (e.g. 2.5), not base units")
    token_account: str | None = Field(
        default=None,
        description="Token account to burn from; defaults to your associated token account",
    )


@tool("burn_tokens", BurnTokensParams, "action")
def burn_tokens(ctx: ToolContext, p: BurnTokensParams) -> dict:
    """Stage burning tokens from one of your token accounts (BurnChecked, Token or
    Token-2022): they are destroyed and the mint's supply falls by the same amount. This cannot
    be undone. The amount is in token units and may not have more decimals than the mint."""
    mint, info, program = ctx.mint(p.mint)
    amount = to_base_units(p.amount, info.decimals)
    account, state = token_account_for(ctx, p.token_account, mint, program)
    _require_owner_or_delegate(ctx, account, state, "token_account")
    ix = burn_checked(
        BurnCheckedParams(
            program_id=program,
            mint=mint,
            account=account,
            owner=ctx.wallet,
            amount=amount,
            decimals=info.decimals,
        )
    )
    summary = f"burn {format_ui_amount(amount, info.decimals)} of mint {mint} from {account}"
    return ctx.stage("burn_tokens", summary, ix)


class MintTokensParams(ToolParams):
    mint: str = Field(description="Mint address of the token; you must be its mint authority")
    amount: Decimal = Field(description="Amount to mint in token units (e.g. 1000), not base units")
    recipient: str = Field(
        description="Wallet that receives the new tokens (its associated token account is used, "
        "and created if missing) or an existing token account of the mint"
    )


@tool("mint_tokens", MintTokensParams, "action")
def mint_tokens(ctx: ToolContext, p: MintTokensParams) -> dict:
    """Stage minting new tokens of a mint whose mint authority is your wallet (MintToChecked,
    Token or Token-2022); the supply grows by the amount. A recipient wallet without a token
    account for the mint gets one (you pay its rent). The amount is in token units and may not
    have more decimals than the mint."""
    mint, info, program = ctx.mint(p.mint)
    if info.mint_authority is None:
        raise ToolError(
            f"mint: {mint} has no mint authority (its supply is fixed): nobody can mint it"
        )
    if info.mint_authority != str(ctx.wallet):
        raise ToolError(
            f"mint: you are not the mint authority of {mint} (its mint authority is "
            f"{info.mint_authority}), so you cannot mint it"
        )
    amount = to_base_units(p.amount, info.decimals)
    destination, instructions = destination_for(ctx, p.recipient, mint, program)
    instructions.append(
        mint_to_checked(
            MintToCheckedParams(
                program_id=program,
                mint=mint,
                dest=destination,
                mint_authority=ctx.wallet,
                amount=amount,
                decimals=info.decimals,
            )
        )
    )
    summary = f"mint {format_ui_amount(amount, info.decimals)} of mint {mint} to {destination}"
    return ctx.stage("mint_tokens", summary, *instructions)


# --------------------------------------------------------------------------- freeze / thaw


class FreezeParams(ToolParams):
    token_account: str = Field(
        description="The token account to act on, or a wallet (its associated token account for "
        "the mint is used)"
    )
    mint: str = Field(description="Mint of the token account; you must be its freeze authority")


def _freeze_authority_checked(
    ctx: ToolContext, p: FreezeParams, want: Literal["initialized", "frozen"], verb: str
) -> tuple[Pubkey, Pubkey, Pubkey]:
    mint, info, program = ctx.mint(p.mint)
    if info.freeze_authority is None:
        raise ToolError(f"mint: {mint} has no freeze authority, so its accounts cannot be {verb}")
    if info.freeze_authority != str(ctx.wallet):
        raise ToolError(
            f"mint: you are not the freeze authority of {mint} (its freeze authority is "
            f"{info.freeze_authority}), so you cannot freeze or thaw its accounts"
        )
    account, state = token_account_for(ctx, p.token_account, mint, program)
    assert state.token is not None
    if state.token.state != want and not _staged_touches(ctx, account):
        raise ToolError(f"token_account: {account} is already {verb}")
    return mint, program, account


@tool("freeze_token_account", FreezeParams, "action")
def freeze_token_account(ctx: ToolContext, p: FreezeParams) -> dict:
    """Stage freezing a token account of a mint whose freeze authority is your wallet (Token or
    Token-2022): a frozen account can neither send, receive, burn nor be closed until it is
    thawed."""
    mint, program, account = _freeze_authority_checked(ctx, p, "initialized", "frozen")
    ix = freeze_account(
        FreezeAccountParams(program_id=program, account=account, mint=mint, authority=ctx.wallet)
    )
    return ctx.stage("freeze_token_account", f"freeze token account {account}", ix)


@tool("thaw_token_account", FreezeParams, "action")
def thaw_token_account(ctx: ToolContext, p: FreezeParams) -> dict:
    """Stage thawing a frozen token account of a mint whose freeze authority is your wallet
    (Token or Token-2022), so that it can be used again."""
    mint, program, account = _freeze_authority_checked(ctx, p, "frozen", "thawed")
    ix = thaw_account(
        ThawAccountParams(program_id=program, account=account, mint=mint, authority=ctx.wallet)
    )
    return ctx.stage("thaw_token_account", f"thaw token account {account}", ix)


# --------------------------------------------------------------------------- authorities

AuthorityName = Literal["mint_tokens", "freeze_account", "account_owner", "close_account"]
_AUTHORITY_TYPES: dict[str, AuthorityType] = {
    "mint_tokens": AuthorityType.MINT_TOKENS,
    "freeze_account": AuthorityType.FREEZE_ACCOUNT,
    "account_owner": AuthorityType.ACCOUNT_OWNER,
    "close_account": AuthorityType.CLOSE_ACCOUNT,
}
_MINT_AUTHORITIES = ("mint_tokens", "freeze_account")
_ACCOUNT_AUTHORITIES = ("account_owner", "close_account")


class SetTokenAuthorityParams(ToolParams):
    target: str = Field(description="The mint or token account whose authority changes")
    authority_type: AuthorityName = Field(
        description="Which authority: mint_tokens or freeze_account (of a mint), account_owner "
        "or close_account (of a token account)"
    )
    new_authority: str | None = Field(
        description="Address of the new authority, or null to remove the authority for good "
        "(not allowed for account_owner)"
    )


@tool("set_token_authority", SetTokenAuthorityParams, "action")
def set_token_authority(ctx: ToolContext, p: SetTokenAuthorityParams) -> dict:
    """Stage changing an authority you hold (SetAuthority, Token or Token-2022). On a mint:
    `mint_tokens` (who may mint) or `freeze_account` (who may freeze accounts). On a token
    account: `account_owner` (who owns it and its tokens; any delegate is
    cleared) or `close_account` (who may close it). `new_authority: null` removes the authority
    permanently: a mint without mint authority has a fixed supply forever."""
    target = ctx.address(p.target, "target")
    state = ctx.account(target)
    if state is None or (state.mint is None and state.token is None):
        raise ToolError(f"target: {target} is neither a token mint nor a token account")
    program = Pubkey.from_string(state.owner)
    if p.new_authority is not None and not p.new_authority.strip():
        raise ToolError("new_authority: give an address, or null to remove the authority")
    new_authority = (
        ctx.address(p.new_authority, "new_authority") if p.new_authority is not None else None
    )

    current: str | None
    if state.mint is not None:
        if p.authority_type not in _MINT_AUTHORITIES:
            raise ToolError(
                f"authority_type: {target} is a mint, whose authorities are mint_tokens and "
                f"freeze_account; {p.authority_type} applies to token accounts"
            )
        current = (
            state.mint.mint_authority
            if p.authority_type == "mint_tokens"
            else state.mint.freeze_authority
        )
        if current is None:
            raise ToolError(
                f"target: mint {target} has no {p.authority_type} authority; a removed authority "
                "can never be set again"
            )
    else:
        assert state.token is not None
        if p.authority_type not in _ACCOUNT_AUTHORITIES:
            raise ToolError(
                f"authority_type: {target} is a token account, whose authorities are account_owner "
                f"and close_account; {p.authority_type} applies to mints"
            )
        if p.authority_type == "account_owner":
            current = state.token.owner
            if new_authority is None:
                raise ToolError(
                    "new_authority: a token account always has an owner; give the new owner's "
                    "address (to get rid of the account, close it instead)"
                )
        else:
            current = state.token.close_authority or state.token.owner
    if current != str(ctx.wallet):
        raise ToolError(
            f"target: the {p.authority_type} authority of {target} is {current}, not your wallet, "
            "so you cannot change it"
        )
    if p.authority_type == "account_owner" and _has_immutable_owner(ctx, target, program):
        raise ToolError(
            f"target: {target} has an immutable owner (every Token-2022 associated token account "
            "does), so its owner cannot change; transfer its tokens instead"
        )
    if new_authority is not None and str(new_authority) == current:
        raise ToolError(
            f"new_authority: {new_authority} already is the {p.authority_type} authority"
        )

    ix = set_authority(
        SetAuthorityParams(
            program_id=program,
            account=target,
            authority=_AUTHORITY_TYPES[p.authority_type],
            current_authority=ctx.wallet,
            new_authority=new_authority,
        )
    )
    change = f"to {new_authority}" if new_authority else "removed"
    summary = f"{p.authority_type} authority of {target} {change}"
    return ctx.stage("set_token_authority", summary, ix)
