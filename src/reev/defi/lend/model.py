"""A reference model of reev Lend's integer math (docs/lending.md, "Math" and "Instructions").

Pure Python integers with the program's rounding and u64 limits exactly: every product goes
through `mul_div` / `mul_div_up` (the program's 128-bit helper) and every result that would
not fit a u64 raises `MathOverflow`, as the program does. Where the program fails, the model
raises `LendModelError(code)` after checking the same things in the same order, and a failing
operation changes nothing (the transaction would be rolled back, accrual included).

The model knows the program's state only: reserves, oracles, obligations and the clock. Token
balances of users are the caller's (the share balance a withdrawal is checked against is an
argument). Tools use it to show values accrued to the current slot without writing the chain;
tests run random operation sequences on it and on the program side by side.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from functools import wraps
from typing import Concatenate, ParamSpec, TypeVar

from reev.constants import U64_MAX
from reev.defi.lend.layout import MAX_RESERVES, LendError, ReserveConfig, ReserveState
from reev.errors import ChainError

WAD = 10**18
BPS = 10_000
SLOTS_PER_YEAR = 78_840_000  # 400 ms per slot, 365 days
PRICE_DECIMALS = 8
RATE_UNIT = 10**14  # one basis point as a WAD


class LendModelError(ChainError):
    """The operation fails on chain with `custom program error: code`."""

    def __init__(self, code: LendError, detail: str = "") -> None:
        super().__init__(code.name + (f": {detail}" if detail else ""))
        self.code = code


def _u64(value: int) -> int:
    if value > U64_MAX:
        raise LendModelError(LendError.MATH_OVERFLOW, f"{value} does not fit a u64")
    return value


def mul_div(a: int, b: int, c: int) -> int:
    """floor(a·b / c) of u64s with a 128-bit product; MathOverflow when it exceeds a u64."""
    return _u64(a * b // c)


def mul_div_up(a: int, b: int, c: int) -> int:
    """ceil(a·b / c) of u64s with a 128-bit product; MathOverflow when it exceeds a u64."""
    return _u64(-(-a * b // c))


def add(a: int, b: int) -> int:
    """a + b, checked like the program's additions."""
    return _u64(a + b)


def borrow_apr(config: ReserveConfig, available: int, borrowed: int) -> int:
    """The kink curve's borrow APR as a WAD at utilisation `borrowed / (available + borrowed)`."""
    total = add(available, borrowed)
    utilisation = mul_div(borrowed, WAD, total) if total else 0
    kink = config.kink_bps * RATE_UNIT
    if utilisation <= kink:
        return config.base_rate_bps * RATE_UNIT + mul_div(
            config.slope1_bps * RATE_UNIT, utilisation, kink
        )
    return (config.base_rate_bps + config.slope1_bps) * RATE_UNIT + mul_div(
        config.slope2_bps * RATE_UNIT, utilisation - kink, WAD - kink
    )


def interest(config: ReserveConfig, available: int, borrowed: int, slots: int) -> int:
    """What `slots` slots of accrual add to the debt: floor(B · floor(apr·Δ / year) / WAD)."""
    if slots <= 0 or borrowed == 0:
        return 0
    growth = mul_div(borrow_apr(config, available, borrowed), slots, SLOTS_PER_YEAR)
    return mul_div(borrowed, growth, WAD)


@dataclass
class ReserveModel:
    """One reserve's config and totals (the fields the math uses)."""

    config: ReserveConfig
    decimals: int
    last_update_slot: int = 0
    available: int = 0
    borrowed: int = 0
    supply_shares: int = 0
    borrow_shares: int = 0
    total_collateral: int = 0

    @classmethod
    def from_state(cls, state: ReserveState) -> ReserveModel:
        return cls(
            config=state.config,
            decimals=state.decimals,
            last_update_slot=state.last_update_slot,
            available=state.available,
            borrowed=state.borrowed,
            supply_shares=state.supply_shares,
            borrow_shares=state.borrow_shares,
            total_collateral=state.total_collateral,
        )

    @property
    def total_assets(self) -> int:
        return self.available + self.borrowed

    def accrue(self, slot: int) -> int:
        """Accrue interest up to `slot` (one interval, simple within it); returns the interest."""
        gained = interest(self.config, self.available, self.borrowed, slot - self.last_update_slot)
        self.borrowed = add(self.borrowed, gained)
        self.last_update_slot = max(self.last_update_slot, slot)
        return gained

    # Earn conversions: ERC-4626 with a virtual share and asset, rounding in the vault's favour.
    def shares_for_deposit(self, assets: int) -> int:
        return mul_div(assets, add(self.supply_shares, 1), add(self.total_assets, 1))

    def assets_for_mint(self, shares: int) -> int:
        return mul_div_up(shares, add(self.total_assets, 1), add(self.supply_shares, 1))

    def shares_for_withdraw(self, assets: int) -> int:
        return mul_div_up(assets, add(self.supply_shares, 1), add(self.total_assets, 1))

    def assets_for_redeem(self, shares: int) -> int:
        return mul_div(shares, add(self.total_assets, 1), add(self.supply_shares, 1))

    def share_price(self) -> Fraction:
        """(total_assets + 1) / (supply_shares + 1): never decreases."""
        return Fraction(self.total_assets + 1, self.supply_shares + 1)

    # Borrow shares: no virtual offset, rounding against the borrower.
    def debt(self, shares: int) -> int:
        return mul_div_up(shares, self.borrowed, self.borrow_shares) if self.borrow_shares else 0

    def shares_for_borrow(self, amount: int) -> int:
        if self.borrow_shares == 0 or self.borrowed == 0:
            return amount
        return mul_div_up(amount, self.borrow_shares, self.borrowed)

    def supply_apr(self) -> Fraction:
        """The lenders' APR (a fraction of 1): borrow APR × utilisation; no protocol fee."""
        total = self.total_assets
        if total == 0:
            return Fraction(0)
        apr = borrow_apr(self.config, self.available, self.borrowed)
        return Fraction(apr, WAD) * Fraction(self.borrowed, total)


@dataclass
class OracleModel:
    """A price account: USD per whole token × 10^8 and its publish slot."""

    price: int
    publish_slot: int = 0


@dataclass
class ObligationModel:
    """A user's collateral and borrow shares per reserve index."""

    collateral: list[int] = field(default_factory=lambda: [0] * MAX_RESERVES)
    borrow_shares: list[int] = field(default_factory=lambda: [0] * MAX_RESERVES)

    def positions(self) -> tuple[int, ...]:
        return tuple(i for i in range(MAX_RESERVES) if self.collateral[i] or self.borrow_shares[i])


@dataclass(frozen=True)
class Health:
    """An obligation's values in USD × 10^8 (docs/lending.md, "Values, borrow limit, health")."""

    collateral_value: int
    borrow_limit: int
    liquidation_limit: int
    debt_value: int

    @property
    def health_factor(self) -> Fraction | None:
        """liquidation limit / debt; None (infinite) without debt."""
        return Fraction(self.liquidation_limit, self.debt_value) if self.debt_value else None

    @property
    def ltv(self) -> Fraction | None:
        """debt / collateral value; None without collateral."""
        if self.collateral_value == 0:
            return None
        return Fraction(self.debt_value, self.collateral_value)

    @property
    def healthy(self) -> bool:
        """HF ≥ 1: not liquidatable, and a collateral withdrawal may leave it so."""
        return self.debt_value <= self.liquidation_limit

    @property
    def within_borrow_limit(self) -> bool:
        return self.debt_value <= self.borrow_limit


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _atomic(
    method: Callable[Concatenate[LendingModel, _P], _R],
) -> Callable[Concatenate[LendingModel, _P], _R]:
    """Run a model operation all-or-nothing, as a failing transaction is rolled back. The
    state is restored in place, so a caller's references to reserves stay the model's."""

    @wraps(method)
    def run(self: LendingModel, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        saved = copy.deepcopy(self)
        try:
            return method(self, *args, **kwargs)
        except BaseException:
            self._restore(saved)
            raise

    return run


@dataclass
class LendingModel:
    """One market: reserves (by index), their oracles, obligations (by owner) and the clock.

    Each instruction method accrues exactly the reserves the program accrues, checks what the
    program checks, in its order, and either succeeds or raises and changes nothing.
    """

    reserves: list[ReserveModel]
    oracles: list[OracleModel]
    close_factor_bps: int = 5_000
    slot: int = 0
    obligations: dict[str, ObligationModel] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.reserves) != len(self.oracles) or len(self.reserves) > MAX_RESERVES:
            raise ValueError(f"one oracle per reserve, at most {MAX_RESERVES} reserves")
        if not 1 <= self.close_factor_bps <= BPS:
            raise LendModelError(LendError.INVALID_CONFIG, "close_factor_bps must be 1..10000")
        for reserve in self.reserves:
            problem = reserve.config.problem()
            if problem:
                raise LendModelError(LendError.INVALID_CONFIG, problem)

    def _restore(self, saved: LendingModel) -> None:
        for mine, theirs in [
            *zip(self.reserves, saved.reserves, strict=True),
            *zip(self.oracles, saved.oracles, strict=True),
        ]:
            mine.__dict__.update(theirs.__dict__)
        for owner in list(self.obligations):
            if owner not in saved.obligations:
                del self.obligations[owner]
        for owner, ob in saved.obligations.items():
            self.obligations.setdefault(owner, ob).__dict__.update(ob.__dict__)
        self.slot, self.close_factor_bps = saved.slot, saved.close_factor_bps

    # --- environment (not instructions: they never fail with a program error) ---
    def advance(self, slots: int, *, refresh_prices: bool = True) -> None:
        """Move the clock; oracles are re-published at the new slot unless told otherwise.
        Nothing accrues: interest is applied by the next instruction touching a reserve."""
        if slots < 0:
            raise ValueError("the clock does not go back")
        self.slot += slots
        if refresh_prices:
            for oracle in self.oracles:
                oracle.publish_slot = self.slot

    def set_price(self, index: int, price: int) -> None:
        """An oracle publishes `price` (USD × 10^8 per whole token) at the current slot."""
        self.oracles[index].price = price
        self.oracles[index].publish_slot = self.slot

    def obligation(self, owner: str) -> ObligationModel:
        """The owner's obligation (InitObligation is implied: an empty one when absent)."""
        return self.obligations.setdefault(owner, ObligationModel())

    # --- helpers shared by the instructions ---
    def _price(self, index: int) -> int:
        oracle = self.oracles[index]
        if oracle.price == 0:
            raise LendModelError(LendError.INVALID_PRICE, f"reserve {index}: price is zero")
        age = max(0, self.slot - oracle.publish_slot)
        if age > self.reserves[index].config.max_price_age_slots:
            raise LendModelError(
                LendError.STALE_PRICE, f"reserve {index}: price is {age} slots old"
            )
        return oracle.price

    def pairs(self, owner: str, *acted: int) -> tuple[int, ...]:
        """The reserve indexes an instruction's (reserve, oracle) pairs must name: the
        obligation's positions before it plus the reserves it acts on, ascending."""
        held = self.obligations.get(owner)
        positions = held.positions() if held else ()
        return tuple(sorted(set(positions) | set(acted)))

    def _refresh(self, indexes: Iterable[int]) -> dict[int, int]:
        """Accrue each pair's reserve and read its price (in pair order)."""
        prices = {}
        for i in indexes:
            self.reserves[i].accrue(self.slot)
            prices[i] = self._price(i)
        return prices

    def _health(self, ob: ObligationModel, prices: dict[int, int]) -> Health:
        cv = limit = threshold = debt = 0
        for i in ob.positions():
            reserve = self.reserves[i]
            scale = 10**reserve.decimals
            value = mul_div(ob.collateral[i], prices[i], scale)
            cv = add(cv, value)
            limit = add(limit, mul_div(value, reserve.config.ltv_bps, BPS))
            threshold = add(
                threshold, mul_div(value, reserve.config.liquidation_threshold_bps, BPS)
            )
            debt = add(debt, mul_div_up(reserve.debt(ob.borrow_shares[i]), prices[i], scale))
        return Health(cv, limit, threshold, debt)

    def _repay_shares(self, reserve: ReserveModel, shares: int, amount: int) -> tuple[int, int]:
        """(repaid, shares burnt) for paying up to `amount` of the debt of `shares`."""
        owed = reserve.debt(shares)
        if amount >= owed:
            return owed, shares
        burnt = mul_div(amount, reserve.borrow_shares, reserve.borrowed)
        if burnt == 0:
            raise LendModelError(LendError.ZERO_SHARES, f"repaying {amount} burns no share")
        return amount, burnt

    def _apply_repay(
        self, reserve: ReserveModel, ob: ObligationModel, index: int, repaid: int, burnt: int
    ) -> None:
        available = add(reserve.available, repaid)
        reserve.borrowed -= min(repaid, reserve.borrowed)
        reserve.available = available
        reserve.borrow_shares -= burnt
        ob.borrow_shares[index] -= burnt

    # --- read-only views (accrued to the current slot on a copy; prices not checked) ---
    def accrued(self) -> LendingModel:
        """A copy with every reserve accrued to the current slot (what readers show)."""
        view = copy.deepcopy(self)
        for reserve in view.reserves:
            reserve.accrue(view.slot)
        return view

    def health(self, owner: str) -> Health:
        """The owner's position now (interest accrued, prices as published, even if stale)."""
        view = self.accrued()
        ob = view.obligations.get(owner, ObligationModel())
        return view._health(ob, {i: o.price for i, o in enumerate(view.oracles)})

    def liquidation_price(self, owner: str, index: int) -> Fraction | None:
        """The price of reserve `index` (USD × 10^8, other prices fixed) at which the
        liquidation limit equals the debt; None when that price's fall cannot make the position
        liquidatable (or it has no collateral there). Unrounded: the linear equation of the
        docs, for display."""
        view = self.accrued()
        ob = view.obligations.get(owner)
        if ob is None or ob.collateral[index] == 0:
            return None
        other_t = Fraction(0)
        other_d = Fraction(0)
        for i in ob.positions():
            if i == index:
                continue
            r = view.reserves[i]
            price = Fraction(view.oracles[i].price, 10**r.decimals)
            other_t += ob.collateral[i] * price * r.config.liquidation_threshold_bps / BPS
            other_d += r.debt(ob.borrow_shares[i]) * price
        r = view.reserves[index]
        scale = 10**r.decimals
        slope = Fraction(ob.collateral[index] * r.config.liquidation_threshold_bps, BPS * scale)
        slope -= Fraction(r.debt(ob.borrow_shares[index]), scale)
        if slope <= 0 or other_d <= other_t:
            return None
        return (other_d - other_t) / slope

    # --- instructions ---
    @_atomic
    def accrue_interest(self, index: int) -> int:
        """`AccrueInterest`: returns the interest added."""
        return self.reserves[index].accrue(self.slot)

    @_atomic
    def deposit(self, index: int, assets: int) -> int:
        """`Deposit` of `assets`: returns the shares minted (rounded down)."""
        if assets == 0:
            raise LendModelError(LendError.ZERO_AMOUNT, "assets is zero")
        reserve = self.reserves[index]
        reserve.accrue(self.slot)
        shares = reserve.shares_for_deposit(assets)
        if shares == 0:
            raise LendModelError(LendError.ZERO_SHARES, f"{assets} assets buy no share")
        available, supply = add(reserve.available, assets), add(reserve.supply_shares, shares)
        add(available, reserve.borrowed)
        reserve.available, reserve.supply_shares = available, supply
        return shares

    @_atomic
    def mint(self, index: int, shares: int) -> int:
        """`Mint` of exactly `shares`: returns the assets taken (rounded up)."""
        if shares == 0:
            raise LendModelError(LendError.ZERO_AMOUNT, "shares is zero")
        reserve = self.reserves[index]
        reserve.accrue(self.slot)
        assets = reserve.assets_for_mint(shares)
        available, supply = add(reserve.available, assets), add(reserve.supply_shares, shares)
        add(available, reserve.borrowed)
        reserve.available, reserve.supply_shares = available, supply
        return assets

    @_atomic
    def withdraw(self, index: int, assets: int, share_balance: int) -> int:
        """`Withdraw` of exactly `assets`: returns the shares burnt (rounded up)."""
        if assets == 0:
            raise LendModelError(LendError.ZERO_AMOUNT, "assets is zero")
        reserve = self.reserves[index]
        reserve.accrue(self.slot)
        shares = reserve.shares_for_withdraw(assets)
        if shares > share_balance:
            raise LendModelError(
                LendError.INSUFFICIENT_SHARES, f"burns {shares}, the account holds {share_balance}"
            )
        if assets > reserve.available:
            raise LendModelError(
                LendError.INSUFFICIENT_LIQUIDITY, f"{assets} > available {reserve.available}"
            )
        reserve.available -= assets
        reserve.supply_shares -= shares
        return shares

    @_atomic
    def redeem(self, index: int, shares: int, share_balance: int) -> int:
        """`Redeem` of exactly `shares`: returns the assets paid (rounded down)."""
        if shares == 0:
            raise LendModelError(LendError.ZERO_AMOUNT, "shares is zero")
        reserve = self.reserves[index]
        reserve.accrue(self.slot)
        if shares > share_balance:
            raise LendModelError(
                LendError.INSUFFICIENT_SHARES,
                f"redeems {shares}, the account holds {share_balance}",
            )
        assets = reserve.assets_for_redeem(shares)
        if assets == 0:
            raise LendModelError(LendError.ZERO_ASSETS, f"{shares} shares are worth nothing")
        if assets > reserve.available:
            raise LendModelError(
                LendError.INSUFFICIENT_LIQUIDITY, f"{assets} > available {reserve.available}"
            )
        reserve.available -= assets
        reserve.supply_shares -= shares
        return assets

    @_atomic
    def deposit_collateral(self, owner: str, index: int, amount: int) -> None:
        """`DepositCollateral`: no accrual, no price."""
        if amount == 0:
            raise LendModelError(LendError.ZERO_AMOUNT, "amount is zero")
        reserve = self.reserves[index]
        ob = self.obligation(owner)
        total = add(reserve.total_collateral, amount)
        ob.collateral[index] = add(ob.collateral[index], amount)
        reserve.total_collateral = total

    @_atomic
    def withdraw_collateral(self, owner: str, index: int, amount: int) -> Health:
        """`WithdrawCollateral`: only if the position stays healthy (D ≤ T). Returns its health."""
        if amount == 0:
            raise LendModelError(LendError.ZERO_AMOUNT, "amount is zero")
        prices = self._refresh(self.pairs(owner, index))
        ob = self.obligation(owner)
        if amount > ob.collateral[index]:
            raise LendModelError(
                LendError.INSUFFICIENT_COLLATERAL, f"{amount} > collateral {ob.collateral[index]}"
            )
        ob.collateral[index] -= amount
        self.reserves[index].total_collateral -= amount
        after = self._health(ob, prices)
        if not after.healthy:
            raise LendModelError(
                LendError.UNHEALTHY, f"debt {after.debt_value} > limit {after.liquidation_limit}"
            )
        return after

    @_atomic
    def borrow(self, owner: str, index: int, amount: int) -> Health:
        """`Borrow`: only if the debt stays within the borrow limit (D ≤ L). Returns health."""
        if amount == 0:
            raise LendModelError(LendError.ZERO_AMOUNT, "amount is zero")
        prices = self._refresh(self.pairs(owner, index))
        reserve = self.reserves[index]
        if amount > reserve.available:
            raise LendModelError(
                LendError.INSUFFICIENT_LIQUIDITY, f"{amount} > available {reserve.available}"
            )
        return self._take_loan(self.obligation(owner), index, amount, prices)

    def _take_loan(
        self, ob: ObligationModel, index: int, amount: int, prices: dict[int, int]
    ) -> Health:
        """Borrow's effect after its liquidity check: new shares, totals, the limit check."""
        reserve = self.reserves[index]
        shares = reserve.shares_for_borrow(amount)
        ob.borrow_shares[index] = add(ob.borrow_shares[index], shares)
        reserve.borrow_shares = add(reserve.borrow_shares, shares)
        reserve.borrowed = add(reserve.borrowed, amount)
        reserve.available -= amount
        after = self._health(ob, prices)
        if not after.within_borrow_limit:
            raise LendModelError(
                LendError.BORROW_LIMIT_EXCEEDED,
                f"debt {after.debt_value} > limit {after.borrow_limit}",
            )
        return after

    @_atomic
    def repay(self, owner: str, index: int, amount: int) -> tuple[int, int]:
        """`Repay` of up to `amount` (U64_MAX: all): returns (repaid, shares burnt)."""
        if amount == 0:
            raise LendModelError(LendError.ZERO_AMOUNT, "amount is zero")
        reserve = self.reserves[index]
        reserve.accrue(self.slot)
        ob = self.obligation(owner)
        shares = ob.borrow_shares[index]
        if shares == 0:
            raise LendModelError(LendError.NO_DEBT, f"{owner} owes nothing in reserve {index}")
        repaid, burnt = self._repay_shares(reserve, shares, amount)
        self._apply_repay(reserve, ob, index, repaid, burnt)
        return repaid, burnt

    @_atomic
    def liquidate(
        self, owner: str, debt_index: int, collateral_index: int, repay: int, min_seize: int = 0
    ) -> tuple[int, int]:
        """`Liquidate` by anyone while HF < 1: returns (repaid, collateral seized)."""
        if repay == 0:
            raise LendModelError(LendError.ZERO_AMOUNT, "repay is zero")
        prices = self._refresh(self.pairs(owner, debt_index, collateral_index))
        ob = self.obligation(owner)
        debt_reserve = self.reserves[debt_index]
        coll_reserve = self.reserves[collateral_index]
        shares = ob.borrow_shares[debt_index]
        if shares == 0:
            raise LendModelError(LendError.NO_DEBT, f"{owner} owes nothing in reserve {debt_index}")
        if ob.collateral[collateral_index] == 0:
            raise LendModelError(
                LendError.INSUFFICIENT_COLLATERAL, f"no collateral in reserve {collateral_index}"
            )
        before = self._health(ob, prices)
        if before.healthy:
            raise LendModelError(
                LendError.NOT_LIQUIDATABLE,
                f"debt {before.debt_value} <= limit {before.liquidation_limit}",
            )
        owed = debt_reserve.debt(shares)
        most = mul_div(owed, self.close_factor_bps, BPS) or owed
        repaid = min(repay, most)
        value = mul_div(repaid, prices[debt_index], 10**debt_reserve.decimals)
        bonus = BPS + coll_reserve.config.liquidation_bonus_bps
        seize = mul_div(
            mul_div(value, bonus, BPS), 10**coll_reserve.decimals, prices[collateral_index]
        )
        if seize == 0:
            raise LendModelError(LendError.ZERO_ASSETS, f"repaying {repaid} seizes nothing")
        if seize > ob.collateral[collateral_index]:
            raise LendModelError(
                LendError.LIQUIDATION_TOO_LARGE,
                f"seize {seize} > collateral {ob.collateral[collateral_index]}",
            )
        if seize < min_seize:
            raise LendModelError(LendError.SLIPPAGE_EXCEEDED, f"seize {seize} < min {min_seize}")
        repaid, burnt = self._repay_shares(debt_reserve, shares, repaid)
        self._apply_repay(debt_reserve, ob, debt_index, repaid, burnt)
        ob.collateral[collateral_index] -= seize
        coll_reserve.total_collateral -= seize
        return repaid, seize

    def max_borrow(self, owner: str, index: int) -> int:
        """The largest amount `borrow(owner, index, ·)` accepts now (0 when none): what a tool
        offers as "the most you can borrow". Found by bisection on the borrow's own effect, so
        it is exact whatever the rounding (the accepted amounts are a range from 1)."""
        view = copy.deepcopy(self)
        try:
            prices = view._refresh(view.pairs(owner, index))
        except LendModelError:
            return 0
        accrued, ob = view.reserves[index], view.obligation(owner)
        low, high = 0, accrued.available
        while low < high:
            mid = (low + high + 1) // 2
            view.reserves[index] = copy.copy(accrued)
            try:
                view._take_loan(copy.deepcopy(ob), index, mid, prices)
            except LendModelError:
                high = mid - 1
            else:
                low = mid
        return low
