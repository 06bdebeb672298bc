"""The router: the best direct or two-hop route over the chain's AMM pools, and its instructions.

Quotes are exact to the base unit: each hop runs the AMM's own integer math
(`reev.defi.amm.model`) on the pool's reserves, and a Token-2022 transfer fee is taken wherever
the program's `TransferChecked` would take it (from what the user sends to a vault and from
what a vault sends to the user; a fee-charging intermediate mint pays twice). The same chain
state always gives the same quote: among the candidates, the best output (ExactIn) or the least
input (ExactOut) wins, then the route with fewer hops, then the byte-wise smaller pool
addresses.

Price impact compares the route's price without fees (output per input after the pool and
transfer fees are taken out) with its spot price (the product of each pool's R_out / R_in): a
fraction, `"0.01"` is 1%, as Jupiter's `priceImpactPct`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Literal

from solders.instruction import Instruction
from solders.pubkey import Pubkey
from spl.token.instructions import (
    create_idempotent_associated_token_account,
    get_associated_token_address,
)

from reev.chain.accounts import decode_mint
from reev.chain.protocol import Chain
from reev.chain.token2022 import gross_for_net
from reev.chain.wsol import unwrap_instruction, wrap_instructions
from reev.constants import NATIVE_MINT, U64_MAX
from reev.defi.amm.instructions import swap_exact_in, swap_exact_out
from reev.defi.amm.layout import AMM_PROGRAM_ID, POOL_LEN, AmmError, PoolState
from reev.defi.amm.model import (
    BPS,
    AmmModelError,
    TransferFee,
    swap_fee,
    swap_in,
    swap_out,
)
from reev.errors import InputError

SwapMode = Literal["ExactIn", "ExactOut"]
SWAP_MODES: tuple[SwapMode, ...] = ("ExactIn", "ExactOut")
AMM_LABEL = "reev AMM"


class NoRoute(InputError):
    """No pool path between the two mints can fill the amount."""


class SwapError(InputError):
    """A quote cannot be turned into instructions for this user (a missing input account, a
    pool that changed)."""


@dataclass(frozen=True)
class Hop:
    """One swap of a route. `amount_in` leaves the user's input account, `amount_out` reaches
    the user's output account (after any transfer fee); `pool_out` leaves the pool's vault;
    `fee_amount` is the pool's fee, in the input mint."""

    pool: Pubkey
    input_mint: Pubkey
    output_mint: Pubkey
    amount_in: int
    amount_out: int
    fee_amount: int
    fee_bps: int
    pool_out: int = 0


@dataclass(frozen=True)
class Quote:
    input_mint: Pubkey
    output_mint: Pubkey
    swap_mode: SwapMode
    in_amount: int
    out_amount: int
    other_amount_threshold: int  # ExactIn: least output; ExactOut: most input
    slippage_bps: int
    price_impact_pct: str
    hops: tuple[Hop, ...] = field(default_factory=tuple)


def pools_on(chain: Chain) -> list[tuple[Pubkey, PoolState]]:
    """Every initialised pool account of the AMM, sorted by address."""
    found = []
    for address, account in chain.accounts_owned_by(AMM_PROGRAM_ID):
        if len(account.data) != POOL_LEN:
            continue
        try:
            found.append((address, PoolState.decode(bytes(account.data))))
        except ValueError:
            continue  # an account being created, or not a pool
    return sorted(found, key=lambda item: bytes(item[0]))


class _Fees:
    """Transfer-fee configs of the mints a quote touches (read once per quote)."""

    def __init__(self, chain: Chain) -> None:
        self.chain = chain
        self.cache: dict[Pubkey, TransferFee | None] = {}

    def of(self, mint: Pubkey) -> TransferFee | None:
        if mint not in self.cache:
            account = self.chain.get_account(mint)
            config = None
            if account is not None:
                info = decode_mint(bytes(account.data))
                bps, maximum = info.transfer_fee_basis_points, info.transfer_fee_maximum
                if bps is not None and maximum is not None:
                    config = TransferFee(bps, maximum)
            self.cache[mint] = config
        return self.cache[mint]

    def on(self, mint: Pubkey, amount: int) -> int:
        config = self.of(mint)
        return config.on(amount) if config is not None else 0


Route = tuple[tuple[Pubkey, PoolState], ...]


def _routes(pools: list[tuple[Pubkey, PoolState]], source: Pubkey, target: Pubkey) -> list[Route]:
    routes: list[Route] = []
    for entry in pools:
        if {entry[1].mint_a, entry[1].mint_b} == {source, target}:
            routes.append((entry,))
    for first in pools:
        state = first[1]
        if source not in (state.mint_a, state.mint_b):
            continue
        middle = state.other_mint(source)
        if middle == target:
            continue
        for second in pools:
            if second[0] != first[0] and {second[1].mint_a, second[1].mint_b} == {middle, target}:
                routes.append((first, second))
    return routes


def _exact_in(route: Route, source: Pubkey, amount: int, fees: _Fees) -> tuple[Hop, ...]:
    hops = []
    mint = source
    for address, state in route:
        output = state.other_mint(mint)
        r_in, r_out = state.reserves_for(mint)
        arrived = amount - fees.on(mint, amount)
        out = swap_out(arrived, r_in, r_out, state.fee_bps)
        credited = out - fees.on(output, out)
        if credited <= 0:
            raise AmmModelError(AmmError.INSUFFICIENT_LIQUIDITY, "the transfer fee takes it all")
        hops.append(
            Hop(
                address,
                mint,
                output,
                amount,
                credited,
                swap_fee(arrived, state.fee_bps),
                state.fee_bps,
                out,
            )
        )
        mint, amount = output, credited
    return tuple(hops)


def _exact_out(route: Route, source: Pubkey, amount: int, fees: _Fees) -> tuple[Hop, ...] | None:
    mints = [source]
    for _, state in route:
        mints.append(state.other_mint(mints[-1]))
    hops: list[Hop] = []
    want = amount  # what the user's account of the hop's output must be credited
    for index in range(len(route) - 1, -1, -1):
        address, state = route[index]
        mint_in, mint_out = mints[index], mints[index + 1]
        if fees.of(mint_in) is not None:
            return None  # the program refuses exact out from a transfer-fee mint
        config = fees.of(mint_out)
        pool_out = gross_for_net(want, config.basis_points, config.maximum_fee) if config else want
        r_in, r_out = state.reserves_for(mint_in)
        needed = swap_in(pool_out, r_in, r_out, state.fee_bps)
        hops.insert(
            0,
            Hop(
                address,
                mint_in,
                mint_out,
                needed,
                want,
                swap_fee(needed, state.fee_bps),
                state.fee_bps,
                pool_out,
            ),
        )
        want = needed
    return tuple(hops)


def _impact(route: Route, hops: tuple[Hop, ...], fees: _Fees) -> Fraction:
    ratio = Fraction(1)
    for (_, state), hop in zip(route, hops, strict=True):
        r_in, r_out = state.reserves_for(hop.input_mint)
        arrived = hop.amount_in - fees.on(hop.input_mint, hop.amount_in)
        net = arrived - hop.fee_amount
        if net <= 0:
            return Fraction(1)
        ratio *= Fraction(hop.pool_out * r_in, net * r_out)
    return max(Fraction(0), 1 - ratio)


def format_fraction(value: Fraction) -> str:
    """A fraction as a plain decimal string, 12 significant digits, no exponent."""
    with localcontext() as ctx:
        ctx.prec = 12
        number = Decimal(value.numerator) / Decimal(value.denominator)
    text = format(number, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def best_quote(
    chain: Chain,
    input_mint: Pubkey,
    output_mint: Pubkey,
    amount: int,
    swap_mode: SwapMode = "ExactIn",
    slippage_bps: int = 50,
) -> Quote:
    """The best quote over direct and two-hop routes; `NoRoute` when none can fill `amount`
    (ExactIn: what the user sends; ExactOut: what the user must receive)."""
    if swap_mode not in SWAP_MODES:
        raise ValueError(f"swap_mode must be ExactIn or ExactOut, not {swap_mode!r}")
    if not 0 <= slippage_bps <= BPS:
        raise ValueError(f"slippage_bps must be between 0 and {BPS}, not {slippage_bps}")
    if not 0 < amount <= U64_MAX:
        raise ValueError(f"amount must be between 1 and {U64_MAX} base units, not {amount}")
    if input_mint == output_mint:
        raise NoRoute("the input and output mints are the same")
    fees = _Fees(chain)
    candidates: list[tuple[tuple, Route, tuple[Hop, ...]]] = []
    for route in _routes(pools_on(chain), input_mint, output_mint):
        try:
            if swap_mode == "ExactIn":
                hops = _exact_in(route, input_mint, amount, fees)
            else:
                found = _exact_out(route, input_mint, amount, fees)
                if found is None:
                    continue
                hops = found
        except AmmModelError:
            continue
        pools = tuple(bytes(address) for address, _ in route)
        key = (
            (-hops[-1].amount_out, len(hops), pools)
            if swap_mode == "ExactIn"
            else (hops[0].amount_in, len(hops), pools)
        )
        candidates.append((key, route, hops))
    if not candidates:
        raise NoRoute(
            f"no pool route from {input_mint} to {output_mint} can fill {amount} base units "
            f"({swap_mode})"
        )
    _, route, hops = min(candidates, key=lambda item: item[0])
    in_amount, out_amount = hops[0].amount_in, hops[-1].amount_out
    if swap_mode == "ExactIn":
        threshold = out_amount * (BPS - slippage_bps) // BPS
    else:
        threshold = min(U64_MAX, -(-in_amount * (BPS + slippage_bps) // BPS))
    return Quote(
        input_mint=input_mint,
        output_mint=output_mint,
        swap_mode=swap_mode,
        in_amount=in_amount,
        out_amount=out_amount,
        other_amount_threshold=threshold,
        slippage_bps=slippage_bps,
        price_impact_pct=format_fraction(_impact(route, hops, fees)),
        hops=hops,
    )


def swap_instructions(
    chain: Chain, user: Pubkey, quote: Quote, wrap_and_unwrap_sol: bool = True
) -> list[Instruction]:
    """The instructions that execute `quote` for `user` (who signs and pays), in order:

    - native SOL in (with `wrap_and_unwrap_sol`): the user's wSOL account is created if
      missing, funded with the input (ExactOut: the most input) and synced;
    - the user's account of each output and intermediate mint is created (idempotent) when
      missing;
    - the hops. ExactIn: the first hop's output is the second's input, exactly; the slippage
      bound (`other_amount_threshold`) is the last hop's minimum out, and a first hop must
      deliver what the quote says (a two-hop route tolerates no change of its first pool).
      ExactOut: each hop buys exactly what the next needs; the bound is the first hop's most in;
    - native SOL in or out: the wSOL account is closed, its lamports (the rest of the input,
      the output, its rent) return to the wallet; likewise when SOL was only the intermediate
      and its account was created here.
    """
    states: dict[Pubkey, PoolState] = {}
    for hop in quote.hops:
        account = chain.get_account(hop.pool)
        if account is None or account.owner != AMM_PROGRAM_ID:
            raise SwapError(f"pool {hop.pool} no longer exists")
        states[hop.pool] = PoolState.decode(bytes(account.data))
    programs: dict[Pubkey, Pubkey] = {}
    for hop in quote.hops:
        state = states[hop.pool]
        programs[hop.input_mint] = state.token_program_of(hop.input_mint)
        programs[hop.output_mint] = state.token_program_of(hop.output_mint)

    def account_of(mint: Pubkey) -> Pubkey:
        return get_associated_token_address(user, mint, programs[mint])

    instructions: list[Instruction] = []
    created: set[Pubkey] = set()

    def ensure(mint: Pubkey) -> None:
        address = account_of(mint)
        if address not in created and chain.get_account(address) is None:
            instructions.append(
                create_idempotent_associated_token_account(user, user, mint, programs[mint])
            )
            created.add(address)

    native_in = wrap_and_unwrap_sol and quote.input_mint == NATIVE_MINT
    native_out = wrap_and_unwrap_sol and quote.output_mint == NATIVE_MINT
    if native_in:
        ensure(NATIVE_MINT)
        lamports = quote.in_amount if quote.swap_mode == "ExactIn" else quote.other_amount_threshold
        instructions += wrap_instructions(user, account_of(NATIVE_MINT), lamports)
    elif chain.get_account(account_of(quote.input_mint)) is None:
        raise SwapError(
            f"you hold no token account for the input mint {quote.input_mint} (your associated "
            f"token account {account_of(quote.input_mint)} does not exist)"
        )
    last = len(quote.hops) - 1
    for index, hop in enumerate(quote.hops):
        ensure(hop.output_mint)
        state = states[hop.pool]
        accounts = (account_of(hop.input_mint), account_of(hop.output_mint))
        if quote.swap_mode == "ExactIn":
            minimum = quote.other_amount_threshold if index == last else hop.amount_out
            instructions.append(
                swap_exact_in(
                    user, hop.pool, state, hop.input_mint, *accounts, hop.amount_in, minimum
                )
            )
        else:
            maximum = quote.other_amount_threshold if index == 0 else hop.amount_in
            instructions.append(
                swap_exact_out(
                    user, hop.pool, state, hop.input_mint, *accounts, hop.pool_out, maximum
                )
            )
    native_middle = (
        wrap_and_unwrap_sol
        and any(hop.output_mint == NATIVE_MINT for hop in quote.hops[:-1])
        and account_of(NATIVE_MINT) in created
    )
    if native_in or native_out or native_middle:
        instructions.append(unwrap_instruction(user))
    return instructions
