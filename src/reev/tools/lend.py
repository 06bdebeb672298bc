"""Lending tools with the original reev's Jupiter Lend names, acting on reev Lend.

`jupiter_lend_earn_*` and `jupiter_earn` are the original's Earn tools (vault deposits and
shares); `lend_*` and `get_lend_positions` borrow against collateral. They act on reev's own
lending program (docs/lending.md), not on Jupiter Lend; docs/tools.md ("Lending") is the
contract. Previews and positions come from the reference model (`reev.defi.lend.model`) of the
market as the chain holds it, accrued to the current slot, so they are the program's own
numbers.
"""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal

from pydantic import Field
from solders.instruction import Instruction
from solders.pubkey import Pubkey
from spl.token.instructions import get_associated_token_address

from reev.chain.wsol import unwrap_instruction, wrap_instructions
from reev.constants import NATIVE_MINT, TOKEN_PROGRAM, U64_MAX
from reev.defi.lend import instructions as lend
from reev.defi.lend.earn import EarnError, EarnOperation, earn_plan
from reev.defi.lend.layout import LEND_PROGRAM_ID, OBLIGATION_LEN, ReserveState, obligation_address
from reev.defi.lend.model import WAD, LendingModel, LendModelError, borrow_apr
from reev.defi.lend.reader import LendStateError, MarketView, markets_on
from reev.tools.base import ToolContext, ToolError, ToolParams
from reev.tools.registry import tool
from reev.tools.token import ensure_associated_account
from reev.units import AmountError, format_ui_amount, parse_base_units

CLOCK_SYSVAR = Pubkey.from_string("SysvarC1ock11111111111111111111111111111111")
USD_DECIMALS = 8
_LOG = re.compile(r"reev-lend (deposit|withdraw|mint|redeem) assets=(\d+) shares=(\d+)")

_WALLET = "Your wallet (optional; if given it must be your wallet)"
_ASSET = f"The asset's mint: USDC EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v or native SOL {NATIVE_MINT}"  # fmt: skip


def _slot(ctx: ToolContext) -> int:
    clock = ctx.chain.get_account(CLOCK_SYSVAR)
    return int.from_bytes(bytes(clock.data)[:8], "little") if clock else 0


def _check_wallet(ctx: ToolContext, value: str | None, field_name: str) -> None:
    if value is not None and ctx.address(value, field_name) != ctx.wallet:
        raise ToolError(
            f"{field_name}: {value} is not your wallet; you can only act for {ctx.wallet}"
        )


def _amount(value: int | str, field_name: str) -> int:
    try:
        amount = parse_base_units(value)
    except AmountError as exc:
        raise ToolError(
            f"{field_name}: {exc} (amounts are base units, e.g. 1500000 for 1.5 USDC)"
        ) from None
    if amount == 0:
        raise ToolError(f"{field_name}: must be greater than zero")
    return amount


def _market(ctx: ToolContext) -> MarketView:
    try:
        markets = markets_on(ctx.chain, _slot(ctx))
    except LendStateError as exc:
        raise ToolError(f"the lending market cannot be read: {exc}") from None
    if not markets:
        raise ToolError("no reev Lend market on this chain")
    return markets[0]


def _reserve(view: MarketView, value: str, field_name: str, ctx: ToolContext) -> int:
    mint = ctx.address(value, field_name)
    try:
        return view.index_of(mint)
    except LendStateError:
        assets = ", ".join(str(state.asset_mint) for _, state in view.reserves)
        raise ToolError(
            f"{field_name}: {mint} is not an asset of the lending market (assets: {assets})"
        ) from None


def _accrued(view: MarketView) -> LendingModel:
    return view.model().accrued()


def _ui(amount: int, decimals: int) -> str:
    return format_ui_amount(amount, decimals)


def _decimal(value: Fraction, places: int = 18) -> str:
    scaled = value.numerator * 10**places // value.denominator
    return str(Decimal(scaled).scaleb(-places).normalize()) if scaled else "0"


def _usd(value: int) -> str:
    return _ui(value, USD_DECIMALS)


def _asset_in(
    ctx: ToolContext, state: ReserveState, amount: int
) -> tuple[Pubkey, list[Instruction], list[Instruction]]:
    """The user's asset account to pay from, instructions before (wrapping SOL) and after
    (closing the wSOL account)."""
    if state.asset_mint == NATIVE_MINT:
        ata, before = ensure_associated_account(ctx, ctx.wallet, NATIVE_MINT, TOKEN_PROGRAM)
        before += wrap_instructions(ctx.wallet, ata, amount)
        return ata, before, [unwrap_instruction(ctx.wallet)]
    ata = get_associated_token_address(ctx.wallet, state.asset_mint, TOKEN_PROGRAM)
    held = ctx.account(ata)
    if held is None or held.token is None:
        raise ToolError(f"you hold no token account of {state.asset_mint} (expected {ata})")
    return ata, [], []


def _asset_out(
    ctx: ToolContext, state: ReserveState
) -> tuple[Pubkey, list[Instruction], list[Instruction]]:
    """The user's account receiving the asset (created when missing; SOL unwrapped after)."""
    ata, before = ensure_associated_account(ctx, ctx.wallet, state.asset_mint, TOKEN_PROGRAM)
    after = [unwrap_instruction(ctx.wallet)] if state.asset_mint == NATIVE_MINT else []
    return ata, before, after


def _share_balance(ctx: ToolContext, state: ReserveState) -> tuple[Pubkey, int]:
    ata = get_associated_token_address(ctx.wallet, state.share_mint, TOKEN_PROGRAM)
    held = ctx.account(ata)
    return ata, held.token.amount if held is not None and held.token is not None else 0


# --- Earn --------------------------------------------------------------------------------


class EarnAssetParams(ToolParams):
    asset_mint: str = Field(description=_ASSET)
    amount: int | str = Field(description="Assets in base units (1500000 = 1.5 USDC)")
    user_pubkey: str | None = Field(default=None, description=_WALLET)


class EarnSharesParams(ToolParams):
    asset: str = Field(description=_ASSET)
    shares: int | str = Field(description="Shares in base units (share mints have the asset's decimals)")  # fmt: skip
    user_pubkey: str | None = Field(default=None, description=_WALLET)
    signer: str | None = Field(default=None, description=_WALLET)


def _earn(
    ctx: ToolContext, name: str, asset: str, field: str, raw: int | str, what: EarnOperation
) -> dict[str, Any]:
    """Stage one Earn operation as `reev.defi.lend.earn` plans it (the HTTP API's plan too)."""
    view = _market(ctx)
    index = _reserve(view, asset, field, ctx)
    amount = _amount(raw, "amount" if what in ("deposit", "withdraw") else "shares")
    state = view.reserves[index][1]
    try:
        plan = earn_plan(ctx.chain, view.slot, ctx.wallet, what, state.asset_mint, amount)
    except EarnError as exc:
        raise ToolError(str(exc)) from None
    d = state.decimals
    summary = (
        f"{what} {_ui(plan.assets, d)} of {state.asset_mint} "
        f"({_ui(plan.shares, d)} shares of {state.share_mint})"
    )
    result = ctx.stage(name, summary, *plan.instructions)
    result["preview"] = {"assets": str(plan.assets), "shares": str(plan.shares)}
    return result


@tool("jupiter_lend_earn_deposit", EarnAssetParams, "action")
def jupiter_lend_earn_deposit(ctx: ToolContext, p: EarnAssetParams) -> dict[str, Any]:
    """Stage a deposit of `amount` assets (base units) into the asset's lending vault; you
    receive vault shares, floor(amount * (S + 1) / (T + 1)) (exactly `amount` at a share price
    of 1). Native SOL is wrapped and unwrapped for you; your share account is created when
    missing."""
    _check_wallet(ctx, p.user_pubkey, "user_pubkey")
    return _earn(ctx, "jupiter_lend_earn_deposit", p.asset_mint, "asset_mint", p.amount, "deposit")


@tool("jupiter_lend_earn_withdraw", EarnAssetParams, "action")
def jupiter_lend_earn_withdraw(ctx: ToolContext, p: EarnAssetParams) -> dict[str, Any]:
    """Stage a withdrawal of exactly `amount` assets (base units) from the asset's lending
    vault, burning ceil(amount * (S + 1) / (T + 1)) of your shares. Native SOL arrives as SOL.
    To empty a position that earned interest, redeem all your shares instead."""
    _check_wallet(ctx, p.user_pubkey, "user_pubkey")
    return _earn(ctx, "jupiter_lend_earn_withdraw", p.asset_mint, "asset_mint", p.amount, "withdraw")  # fmt: skip


@tool("jupiter_lend_earn_mint", EarnSharesParams, "action")
def jupiter_lend_earn_mint(ctx: ToolContext, p: EarnSharesParams) -> dict[str, Any]:
    """Stage minting exactly `shares` vault shares (base units) of the asset's lending vault,
    paying ceil(shares * (T + 1) / (S + 1)) assets."""
    _check_wallet(ctx, p.user_pubkey, "user_pubkey")
    _check_wallet(ctx, p.signer, "signer")
    return _earn(ctx, "jupiter_lend_earn_mint", p.asset, "asset", p.shares, "mint")


@tool("jupiter_lend_earn_redeem", EarnSharesParams, "action")
def jupiter_lend_earn_redeem(ctx: ToolContext, p: EarnSharesParams) -> dict[str, Any]:
    """Stage redeeming exactly `shares` of your vault shares (base units) for
    floor(shares * (T + 1) / (S + 1)) assets. Native SOL arrives as SOL."""
    _check_wallet(ctx, p.user_pubkey, "user_pubkey")
    _check_wallet(ctx, p.signer, "signer")
    return _earn(ctx, "jupiter_lend_earn_redeem", p.asset, "asset", p.shares, "redeem")


class JupiterEarnParams(ToolParams):
    operation: Literal["positions", "earnings", "both"] = Field(
        default="both", description="positions, earnings, or both"
    )
    position_address: str | None = Field(
        default=None, description="Only this vault: its asset mint or its share mint"
    )
    user_pubkey: str | None = Field(default=None, description=_WALLET)


def _flows(ctx: ToolContext, index_by_reserve: dict[str, int]) -> dict[int, tuple[int, int]]:
    """Per reserve index: (assets in, shares in) net of this episode's successful Earn
    transactions of the user. The program logs one line per Earn instruction, in instruction
    order; an Earn instruction is the Lend instruction whose account 1 is a reserve."""
    net: dict[int, tuple[int, int]] = {}
    lend_id = str(LEND_PROGRAM_ID)
    for tx in ctx.transactions:
        if not tx.success:
            continue
        earn = [
            index_by_reserve[ix.accounts[1].pubkey]
            for ix in tx.instructions
            if ix.program_id == lend_id
            and len(ix.accounts) > 1
            and ix.accounts[1].pubkey in index_by_reserve
        ]
        lines = [m for m in (_LOG.search(line) for line in tx.logs) if m]
        for index, match in zip(earn, lines, strict=False):
            kind, assets, shares = match.group(1), int(match.group(2)), int(match.group(3))
            a, s = net.get(index, (0, 0))
            sign = 1 if kind in ("deposit", "mint") else -1
            net[index] = (a + sign * assets, s + sign * shares)
    return net


@tool("jupiter_earn", JupiterEarnParams, "query")
def jupiter_earn(ctx: ToolContext, p: JupiterEarnParams) -> dict[str, Any]:
    """Your lending vault positions and earnings, accrued to now: per vault your shares, what
    they redeem for, the share price, supply and borrow APR; earnings = assets now minus what
    you deposited net of withdrawals (shares you held at the start count at price 1)."""
    _check_wallet(ctx, p.user_pubkey, "user_pubkey")
    view = _market(ctx)
    model = _accrued(view)
    indexes = list(range(len(view.reserves)))
    if p.position_address is not None:
        indexes = [_reserve(view, p.position_address, "position_address", ctx)]
    flows = _flows(ctx, {str(r): i for i, (r, _) in enumerate(view.reserves)})
    positions, earnings = [], []
    for i in indexes:
        _, state = view.reserves[i]
        reserve = model.reserves[i]
        _, shares = _share_balance(ctx, state)
        assets = reserve.assets_for_redeem(shares)
        d = state.decimals
        positions.append(
            {
                "asset_mint": str(state.asset_mint),
                "share_mint": str(state.share_mint),
                "decimals": d,
                "shares": str(shares),
                "shares_ui": _ui(shares, d),
                "assets": str(assets),
                "assets_ui": _ui(assets, d),
                "share_price": _decimal(reserve.share_price()),
                "supply_apr": _decimal(reserve.supply_apr()),
                "borrow_apr": _decimal(
                    Fraction(borrow_apr(reserve.config, reserve.available, reserve.borrowed), WAD)
                ),
                "total_assets": str(reserve.total_assets),
                "available_liquidity": str(reserve.available),
            }
        )
        paid_in, shares_in = flows.get(i, (0, 0))
        initial_shares = max(0, shares - shares_in)
        net_deposited = initial_shares + paid_in
        earnings.append(
            {
                "asset_mint": str(state.asset_mint),
                "share_mint": str(state.share_mint),
                "assets": str(assets),
                "net_deposited": str(net_deposited),
                "earnings": str(assets - net_deposited),
                "earnings_ui": _ui(assets - net_deposited, d)
                if assets >= net_deposited
                else "-" + _ui(net_deposited - assets, d),
            }
        )
    result: dict[str, Any] = {"user": str(ctx.wallet), "slot": view.slot}
    if p.operation in ("positions", "both"):
        result["positions"] = positions
    if p.operation in ("earnings", "both"):
        result["earnings"] = earnings
    return result


# --- Borrowing ---------------------------------------------------------------------------


class LendAmountParams(ToolParams):
    mint: str = Field(description=_ASSET)
    amount: int | str = Field(description="Base units of the asset (1500000 = 1.5 USDC)")
    user_pubkey: str | None = Field(default=None, description=_WALLET)


class LendRepayParams(ToolParams):
    mint: str = Field(description=_ASSET)
    amount: int | str = Field(
        description='Base units of the asset, or "all": exactly the whole debt, interest included'
    )
    user_pubkey: str | None = Field(default=None, description=_WALLET)


def _obligation(ctx: ToolContext, view: MarketView) -> Pubkey | None:
    address = obligation_address(view.address, ctx.wallet)[0]
    held = ctx.chain.get_account(address)
    return address if held is not None and len(held.data) == OBLIGATION_LEN else None


def _expected_error(exc: LendModelError) -> dict[str, Any]:
    """The program error the formulas predict, named as docs/lending.md names it."""
    return {"expected_error": exc.code.doc_name, "expected_error_code": int(exc.code)}


def _debt(model: LendingModel, owner: str, index: int) -> int:
    """The owner's debt in reserve `index` of an accrued model."""
    return model.reserves[index].debt(model.obligation(owner).borrow_shares[index])


def _hf(model: LendingModel, owner: str) -> str | None:
    factor = model.health(owner).health_factor
    return _decimal(factor) if factor is not None else None


@tool("lend_deposit_collateral", LendAmountParams, "action")
def lend_deposit_collateral(ctx: ToolContext, p: LendAmountParams) -> dict[str, Any]:
    """Stage depositing `amount` (base units) of an asset as collateral into your obligation,
    which is created first when you have none. Collateral earns nothing and backs borrowing up
    to each asset's LTV. Native SOL is wrapped for you."""
    _check_wallet(ctx, p.user_pubkey, "user_pubkey")
    view = _market(ctx)
    index = _reserve(view, p.mint, "mint", ctx)
    amount = _amount(p.amount, "amount")
    reserve, state = view.reserves[index]
    setup = []
    init = lend.init_obligation(ctx.wallet, view.address)
    if _obligation(ctx, view) is None and not any(s.instruction == init for s in ctx.staged):
        setup.append(init)
    source, before, after = _asset_in(ctx, state, amount)
    ix = lend.deposit_collateral(ctx.wallet, view.address, reserve, state, source, amount)
    summary = f"deposit {_ui(amount, state.decimals)} of {state.asset_mint} as collateral"
    result = ctx.stage("lend_deposit_collateral", summary, *setup, *before, ix, *after)
    model = view.model()
    owner = str(ctx.wallet)
    try:
        model.deposit_collateral(owner, index, amount)
    except LendModelError as exc:
        result["preview"] = _expected_error(exc)
        return result
    health = model.health(owner)
    result["preview"] = {
        "collateral": str(model.obligation(owner).collateral[index]),
        "health_factor": _hf(model, owner),
        "borrow_limit_usd": _usd(health.borrow_limit),
    }
    return result


def _out_tool(ctx: ToolContext, p: LendAmountParams, name: str, borrow: bool) -> dict[str, Any]:
    _check_wallet(ctx, p.user_pubkey, "user_pubkey")
    view = _market(ctx)
    index = _reserve(view, p.mint, "mint", ctx)
    amount = _amount(p.amount, "amount")
    if _obligation(ctx, view) is None:
        raise ToolError("you have no obligation yet: deposit collateral first (lend_deposit_collateral)")  # fmt: skip
    reserve, state = view.reserves[index]
    receiver, before, after = _asset_out(ctx, state)
    pairs = view.pairs(ctx.wallet, index)
    build = lend.borrow if borrow else lend.withdraw_collateral
    ix = build(ctx.wallet, view.address, reserve, state, receiver, amount, pairs)
    verb = "borrow" if borrow else "withdraw collateral"
    summary = f"{verb} {_ui(amount, state.decimals)} of {state.asset_mint}"
    result = ctx.stage(name, summary, *before, ix, *after)
    model, owner = view.model(), str(ctx.wallet)
    try:
        (model.borrow if borrow else model.withdraw_collateral)(owner, index, amount)
    except LendModelError as exc:
        result["preview"] = _expected_error(exc)
        return result
    preview: dict[str, Any] = {"amount": str(amount), "health_factor_after": _hf(model, owner)}
    if borrow:
        accrued = model.accrued()
        debt = _debt(accrued, owner, index)
        preview["debt_after"] = str(debt)
    result["preview"] = preview
    return result


@tool("lend_borrow", LendAmountParams, "action")
def lend_borrow(ctx: ToolContext, p: LendAmountParams) -> dict[str, Any]:
    """Stage borrowing `amount` (base units) of an asset against your collateral. The program
    refuses a borrow that leaves your debt above your borrow limit (BorrowLimitExceeded);
    get_lend_positions shows max_borrow. Native SOL arrives as SOL."""
    return _out_tool(ctx, p, "lend_borrow", borrow=True)


@tool("lend_withdraw_collateral", LendAmountParams, "action")
def lend_withdraw_collateral(ctx: ToolContext, p: LendAmountParams) -> dict[str, Any]:
    """Stage taking `amount` (base units) of your collateral back. The program refuses a
    withdrawal that leaves your health factor below 1 (Unhealthy)."""
    return _out_tool(ctx, p, "lend_withdraw_collateral", borrow=False)


@tool("lend_repay", LendRepayParams, "action")
def lend_repay(ctx: ToolContext, p: LendRepayParams) -> dict[str, Any]:
    """Stage repaying debt in an asset: `amount` base units, or "all" for exactly the whole
    debt, interest included (the program takes no more). Native SOL is wrapped for you."""
    _check_wallet(ctx, p.user_pubkey, "user_pubkey")
    view = _market(ctx)
    index = _reserve(view, p.mint, "mint", ctx)
    everything = isinstance(p.amount, str) and p.amount.strip().lower() == "all"
    amount = U64_MAX if everything else _amount(p.amount, "amount")
    obligation = _obligation(ctx, view)
    model, owner = view.model(), str(ctx.wallet)
    accrued = model.accrued()
    reserve, state = view.reserves[index]
    debt = _debt(accrued, owner, index)
    if obligation is None or debt == 0:
        raise ToolError(f"you owe nothing in {state.asset_mint}")
    paying = min(amount, debt)
    source, before, after = _asset_in(ctx, state, paying)
    ix = lend.repay(ctx.wallet, obligation, reserve, state, source, amount)
    summary = f"repay {'all ' if everything else ''}{_ui(paying, state.decimals)} of {state.asset_mint}"  # fmt: skip
    result = ctx.stage("lend_repay", summary, *before, ix, *after)
    try:
        repaid, _ = model.repay(owner, index, amount)
    except LendModelError as exc:
        result["preview"] = _expected_error(exc)
        return result
    accrued = model.accrued()
    result["preview"] = {
        "repaid": str(repaid),
        "debt_after": str(_debt(accrued, owner, index)),
        "health_factor_after": _hf(model, owner),
    }
    return result


class LendPositionsParams(ToolParams):
    user_pubkey: str | None = Field(default=None, description=_WALLET)


@tool("get_lend_positions", LendPositionsParams, "query")
def get_lend_positions(ctx: ToolContext, p: LendPositionsParams) -> dict[str, Any]:
    """Your borrowing position, accrued to now at the oracles' prices: collateral and debt per
    asset with USD values, health factor (liquidation limit / debt; null without debt), LTV,
    each collateral's liquidation price, and the most you can borrow of each asset."""
    _check_wallet(ctx, p.user_pubkey, "user_pubkey")
    view = _market(ctx)
    model, owner = _accrued(view), str(ctx.wallet)
    obligation = _obligation(ctx, view)
    ob = model.obligations.get(owner)
    health = model.health(owner)
    assets = []
    for i, (_, state) in enumerate(view.reserves):
        reserve = model.reserves[i]
        price = model.oracles[i].price
        scale = 10**state.decimals
        collateral = ob.collateral[i] if ob else 0
        debt = reserve.debt(ob.borrow_shares[i]) if ob else 0
        liq = model.liquidation_price(owner, i)
        assets.append(
            {
                "mint": str(state.asset_mint),
                "decimals": state.decimals,
                "price_usd": _usd(price),
                "collateral": str(collateral),
                "collateral_ui": _ui(collateral, state.decimals),
                "collateral_value_usd": _usd(collateral * price // scale),
                "debt": str(debt),
                "debt_ui": _ui(debt, state.decimals),
                "debt_value_usd": _usd(-(-debt * price // scale)),
                "liquidation_price_usd": _decimal(liq / 10**USD_DECIMALS, 8)
                if liq is not None
                else None,
                "max_borrow": str(model.max_borrow(owner, i)) if obligation else "0",
                "ltv_bps": state.config.ltv_bps,
                "liquidation_threshold_bps": state.config.liquidation_threshold_bps,
            }
        )
    ltv = health.ltv
    return {
        "user": str(ctx.wallet),
        "obligation": str(obligation) if obligation else None,
        "assets": assets,
        "collateral_value_usd": _usd(health.collateral_value),
        "borrow_limit_usd": _usd(health.borrow_limit),
        "liquidation_limit_usd": _usd(health.liquidation_limit),
        "debt_value_usd": _usd(health.debt_value),
        "health_factor": _hf(model, owner),
        "ltv": _decimal(ltv) if ltv is not None else None,
    }
