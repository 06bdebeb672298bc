"""reev Lend (src/reev/programs/lend/lend.c) on LiteSVM against the reference model
(docs/lending.md): worked cases, account errors, a strict deploy, random sequences."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from solders.account import Account
from solders.instruction import AccountMeta
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from spl.token.instructions import get_associated_token_address

from reev.chain.accounts import pack_mint, pack_token_account
from reev.chain.litesvm import LiteSVMChain
from reev.constants import TOKEN_PROGRAM
from reev.defi.lend import default_market
from reev.defi.lend import instructions as lend
from reev.defi.lend.layout import (
    RESERVE_LEN,
    LendError,
    ReserveConfig,
    reserve_authority,
    share_mint_data,
)
from reev.defi.lend.model import LendModelError
from reev.programs import LEND_PROGRAM_ID, reev_programs

from .amm_env import Mint, custom_error
from .deploy import deploy
from .lend_env import USD, LendEnv, Wallet

U64_MAX = 2**64 - 1


def test_earn_round_trip_matches_the_model() -> None:
    e = LendEnv()
    u = e.wallet("u", (1_000_000_000, 0))
    state = e.state(0)
    result = e.send(
        u, lend.deposit(u.pubkey, e.reserves[0], state, u.assets[0], u.shares[0], 500_000_000)
    )
    assert result.success, result.logs[-5:]
    print("Deposit CU", result.compute_units)
    assert e.model.deposit(0, 500_000_000) == e.balance(u.shares[0]) == 500_000_000
    assert e.send(
        u, lend.mint(u.pubkey, e.reserves[0], state, u.assets[0], u.shares[0], 10**8)
    ).success
    assert e.model.mint(0, 10**8) == 10**8
    bad = e.send(
        u, lend.withdraw(u.pubkey, e.reserves[0], state, u.shares[0], u.assets[0], 600_000_001)
    )
    assert custom_error(bad) == LendError.INSUFFICIENT_SHARES
    result = e.send(
        u, lend.redeem(u.pubkey, e.reserves[0], state, u.shares[0], u.assets[0], 600_000_000)
    )
    assert result.success, result.logs[-5:]
    print("Redeem CU", result.compute_units)
    assert e.model.redeem(0, 600_000_000, 600_000_000) == 600_000_000
    assert (e.balance(u.assets[0]), e.balance(u.shares[0])) == (1_000_000_000, 0)
    wrong = e.send(u, lend.deposit(u.pubkey, e.reserves[0], state, u.assets[1], u.shares[0], 1))
    assert custom_error(wrong) == LendError.WRONG_MINT
    e.check([u])


def test_borrow_accrue_liquidate_match_the_model() -> None:
    e = LendEnv()
    m = e.model
    lender = e.wallet("lender", (2_000_000_000, 0))
    s0, s1 = e.state(0), e.state(1)
    assert e.send(lender, lend.deposit(lender.pubkey, e.reserves[0], s0, lender.assets[0], lender.shares[0], 2_000_000_000)).success  # fmt: skip
    m.deposit(0, 2_000_000_000)
    bob = e.wallet("bob", (0, 10_000_000_000))
    result = e.send(
        bob, lend.deposit_collateral(bob.pubkey, e.market, e.reserves[1], s1, bob.assets[1], 10**10)
    )
    assert result.success, result.logs[-5:]
    print("DepositCollateral CU", result.compute_units)
    m.deposit_collateral("bob", 1, 10**10)
    limit = m.max_borrow("bob", 0)
    assert limit == 1_125_000_000
    borrow = lend.borrow(
        bob.pubkey, e.market, e.reserves[0], s0, bob.assets[0], limit + 1, e.pairs("bob", 0)
    )
    assert custom_error(e.send(bob, borrow)) == LendError.BORROW_LIMIT_EXCEEDED
    missing = lend.borrow(bob.pubkey, e.market, e.reserves[0], s0, bob.assets[0], 1, e.pairs("bob"))
    assert custom_error(e.send(bob, missing)) == LendError.MISSING_RESERVE
    result = e.send(bob, lend.borrow(bob.pubkey, e.market, e.reserves[0], s0, bob.assets[0], 10**9, e.pairs("bob", 0)))  # fmt: skip
    assert result.success, result.logs[-5:]
    print("Borrow CU", result.compute_units)
    m.borrow("bob", 0, 10**9)
    withdraw = lend.withdraw_collateral(bob.pubkey, e.market, e.reserves[1], s1, bob.assets[1], 1_666_666_667, e.pairs("bob", 1))  # fmt: skip
    assert custom_error(e.send(bob, withdraw)) == LendError.UNHEALTHY
    e.check([lender, bob])

    e.advance(7_884_000)
    assert e.send(lender, lend.accrue_interest(e.reserves[0])).success
    m.accrue_interest(0)
    e.check([lender, bob])
    assert e.state(0).borrowed > 10**9

    e.set_price(1, 120 * USD)
    liq = e.wallet("liq", (10**9, 0))
    ob = e.obligation_of(bob)
    accrued = m.accrued()
    debt = accrued.reserves[0].debt(accrued.obligation("bob").borrow_shares[0])
    ix = lend.liquidate(liq.pubkey, ob, e.market, (e.reserves[0], s0), (e.reserves[1], s1), liq.assets[0], liq.assets[1], U64_MAX, 0, e.pairs("bob", 0, 1))  # fmt: skip
    result = e.send(liq, ix)
    assert result.success, result.logs[-5:]
    print("Liquidate CU", result.compute_units)
    repaid, seized = m.liquidate("bob", 0, 1, U64_MAX)
    assert (e.balance(liq.assets[0]), e.balance(liq.assets[1])) == (10**9 - repaid, seized)
    # docs/lending.md "Liquidation", from the formula: the close factor (50 %) of the debt,
    # its USD value at 1.00, plus the SOL reserve's 5 % bonus, in SOL at 120 USD
    assert repaid == debt * 5_000 // 10_000
    value = repaid * USD // 10**6
    assert seized == value * (10_000 + 500) // 10_000 * 10**9 // (120 * USD)
    result = e.send(bob, lend.repay(bob.pubkey, ob, e.reserves[0], s0, bob.assets[0], U64_MAX))
    assert result.success, result.logs[-5:]
    print("Repay CU", result.compute_units)
    m.repay("bob", 0, U64_MAX)
    e.check([lender, bob, liq])


def test_the_program_passes_a_strict_deploy() -> None:
    e = LendEnv()
    result = deploy(
        e.chain, e.env.payer, reev_programs()[LEND_PROGRAM_ID], e.env.keypair(), e.env.keypair()
    )
    assert result.success, result.logs[-3:]


def test_a_share_mint_written_at_set_up_at_an_address_nobody_holds_the_key_of() -> None:
    """The jlUSDC / jlSOL path: the mint is written with set_account (its mint authority the
    reserve's PDA), then InitReserve names it; deposits mint real shares there."""
    e = LendEnv()
    mint = e.env.mint(decimals=6)
    oracle, reserve = e.env.keypair().pubkey(), e.env.keypair()
    e.oracles.append(oracle)
    e.mints.append(mint)
    e.set_oracle(2, USD)
    jl = Pubkey.from_string("9BEcn9aPEmhSPbPQeFGjidRiEKki46fVQDyPpSQXPA2D")
    rent = e.chain.rent_exempt_minimum
    wrong = pack_mint(decimals=6, supply=0, mint_authority=e.admin.pubkey(), freeze_authority=None)
    e.chain.set_account(jl, Account(rent(82), wrong, TOKEN_PROGRAM, False, 0))
    config = ReserveConfig(8000, 8500, 500, 8000, 0, 800, 10_000, 150)
    ixs = lend.create_reserve(e.admin.pubkey(), e.market, reserve.pubkey(), mint.address, jl, oracle, config, decimals=6, reserve_rent=rent(RESERVE_LEN), share_mint_rent=None)  # fmt: skip
    assert custom_error(e.env.send(ixs, [reserve])) == LendError.INVALID_SHARE_MINT
    data = share_mint_data(reserve.pubkey(), 6)
    e.chain.set_account(jl, Account(rent(82), data, TOKEN_PROGRAM, False, 0))
    result = e.env.send(ixs, [reserve])
    assert result.success, result.logs[-4:]
    e.reserves.append(reserve.pubkey())
    state = e.state(2)
    assert (state.share_mint, state.index) == (jl, 2)
    u = Wallet(e.env.keypair(), [], [])
    e.env.fund(u.pubkey)
    usdc = e.env.token_account(u.pubkey, mint, 50_000_000)
    shares = e.env.token_account(u.pubkey, Mint(jl, TOKEN_PROGRAM, 6))
    assert e.send(
        u, lend.deposit(u.pubkey, reserve.pubkey(), state, usdc, shares, 50_000_000)
    ).success
    assert e.balance(shares) == 50_000_000  # price exactly 1
    assert e.send(
        u, lend.withdraw(u.pubkey, reserve.pubkey(), state, shares, usdc, 50_000_000)
    ).success
    assert (e.balance(shares), e.balance(usdc)) == (0, 50_000_000)
    assert reserve_authority(reserve.pubkey())[0] != e.admin.pubkey()


def test_account_errors() -> None:
    e = LendEnv()
    s0, s1 = e.state(0), e.state(1)
    lender = e.wallet("lender", (10**9, 0))
    bob = e.wallet("bob", (0, 10**10))
    assert e.send(lender, lend.deposit(lender.pubkey, e.reserves[0], s0, lender.assets[0], lender.shares[0], 10**9)).success  # fmt: skip
    assert e.send(bob, lend.deposit_collateral(bob.pubkey, e.market, e.reserves[1], s1, bob.assets[1], 10**10)).success  # fmt: skip
    e.model.deposit(0, 10**9)
    e.model.deposit_collateral("bob", 1, 10**10)
    # someone else's shares
    stolen = lend.redeem(bob.pubkey, e.reserves[0], s0, lender.shares[0], bob.assets[0], 1)
    assert custom_error(e.send(bob, stolen)) == LendError.INVALID_TOKEN_ACCOUNT
    # borrowing against someone else's obligation: the obligation is the lender's PDA
    theirs = lend.borrow(
        lender.pubkey, e.market, e.reserves[0], s0, lender.assets[0], 1, e.pairs("lender", 0)
    )
    ix = type(theirs)(
        theirs.program_id,
        theirs.data,
        [AccountMeta(bob.pubkey, True, False), *theirs.accounts[1:]],
    )
    assert custom_error(e.send(bob, ix)) == LendError.UNAUTHORIZED
    # an oracle that is not the reserve's
    pairs = [(e.reserves[0], e.oracles[1]), (e.reserves[1], e.oracles[1])]
    wrong = lend.borrow(bob.pubkey, e.market, e.reserves[0], s0, bob.assets[0], 1, pairs)
    assert custom_error(e.send(bob, wrong)) == LendError.WRONG_ORACLE
    # a stale price
    e.advance(151, refresh_prices=False)
    stale = lend.borrow(
        bob.pubkey, e.market, e.reserves[0], s0, bob.assets[0], 1, e.pairs("bob", 0)
    )
    assert custom_error(e.send(bob, stale)) == LendError.STALE_PRICE
    # a second InitObligation
    assert (
        custom_error(e.send(bob, lend.init_obligation(bob.pubkey, e.market)))
        == LendError.ALREADY_INITIALIZED
    )
    # a reserve of the program that is not a reserve (the market account)
    fake = lend.accrue_interest(e.market)
    assert custom_error(e.send(bob, fake)) == LendError.INVALID_RESERVE
    e.check([lender, bob])


# ---- random sequences on the program and the model side by side ---------------------------

NAMES = ("l0", "b0", "b1", "liq")
fraction = st.integers(1, 10_000).map(lambda bps: -bps)
amounts = st.one_of(fraction, st.just(-10_000), st.integers(1, 10**13))
ix_ = st.sampled_from((0, 1))
operations = st.one_of(
    st.tuples(st.sampled_from(("deposit", "mint", "withdraw", "redeem")), st.sampled_from(NAMES), ix_, amounts),
    st.tuples(st.sampled_from(("collateral", "uncollateral", "borrow", "repay")), st.sampled_from(NAMES[1:3]), ix_, amounts),
    st.tuples(st.just("liquidate"), st.sampled_from(NAMES[1:3]), st.one_of(ix_, st.none()), st.one_of(ix_, st.none()), amounts),
    st.tuples(st.just("advance"), st.integers(0, 400_000), st.sampled_from((True,) * 9 + (False,))),
    st.tuples(st.just("price"), ix_, st.integers(0, 400)),
)  # fmt: skip


def _amount(x: int, ceiling: int) -> int:
    return x if x > 0 else max(1, ceiling * -x // 10_000)


def _step(e: LendEnv, wallets: dict[str, Wallet], op: tuple[Any, ...]) -> None:
    m = e.model
    kind = op[0]
    if kind == "advance":
        e.advance(op[1], op[2])
        return
    if kind == "price":
        i, dollars = op[1], op[2]
        e.set_price(i, (USD // 2 + USD * dollars // 400) if i == 0 else dollars * USD)
        return
    view = m.accrued()
    if kind == "liquidate":
        _, name, d, c, x = op
        owner, liq = wallets[name], wallets["liq"]
        held = view.obligation(name)
        if d is None:  # the largest debt and collateral
            d = max((0, 1), key=lambda k: view.reserves[k].debt(held.borrow_shares[k]))
        if c is None:
            c = max((0, 1), key=lambda k: held.collateral[k])
        owed = view.reserves[d].debt(view.obligation(name).borrow_shares[d])
        amount = _amount(x, max(owed, 1))
        ix = lend.liquidate(liq.pubkey, e.obligation_of(owner), e.market, (e.reserves[d], e.state(d)), (e.reserves[c], e.state(c)), liq.assets[d], liq.assets[c], amount, 0, e.pairs(name, d, c))  # fmt: skip
        signer = liq

        def model_call() -> dict[Any, int]:
            repaid, seized = m.liquidate(name, d, c, amount)
            return {liq.assets[d]: -repaid} | {liq.assets[c]: seized - (repaid if c == d else 0)}

    else:
        _, name, i, x = op
        w = wallets[name]
        st_ = e.state(i)
        reserve = e.reserves[i]
        before = view.reserves[i]
        signer = w
        if kind in ("deposit", "mint"):
            amount = _amount(x, 1000 * 10 ** (6 if i == 0 else 9))
            build = lend.deposit if kind == "deposit" else lend.mint
            ix = build(w.pubkey, reserve, st_, w.assets[i], w.shares[i], amount)
            call = m.deposit if kind == "deposit" else m.mint

            def model_call() -> dict[Any, int]:
                got = call(i, amount)
                paid, minted = (amount, got) if kind == "deposit" else (got, amount)
                return {w.assets[i]: -paid, w.shares[i]: minted}

        elif kind in ("withdraw", "redeem"):
            held = e.balance(w.shares[i])
            ceiling = before.assets_for_redeem(held) if kind == "withdraw" else held
            amount = _amount(x, max(1, ceiling))
            build = lend.withdraw if kind == "withdraw" else lend.redeem
            ix = build(w.pubkey, reserve, st_, w.shares[i], w.assets[i], amount)
            call = m.withdraw if kind == "withdraw" else m.redeem

            def model_call() -> dict[Any, int]:
                got = call(i, amount, held)
                paid, burnt = (amount, got) if kind == "withdraw" else (got, amount)
                return {w.assets[i]: paid, w.shares[i]: -burnt}

        elif kind == "collateral":
            amount = _amount(x, 100 * 10 ** (6 if i == 0 else 9))
            ix = lend.deposit_collateral(w.pubkey, e.market, reserve, st_, w.assets[i], amount)

            def model_call() -> dict[Any, int]:
                m.deposit_collateral(name, i, amount)
                return {w.assets[i]: -amount}

        elif kind == "uncollateral":
            amount = _amount(x, max(1, view.obligation(name).collateral[i]))
            ix = lend.withdraw_collateral(
                w.pubkey, e.market, reserve, st_, w.assets[i], amount, e.pairs(name, i)
            )

            def model_call() -> dict[Any, int]:
                m.withdraw_collateral(name, i, amount)
                return {w.assets[i]: amount}

        elif kind == "borrow":
            amount = _amount(x, max(1, view.max_borrow(name, i)))
            ix = lend.borrow(
                w.pubkey, e.market, reserve, st_, w.assets[i], amount, e.pairs(name, i)
            )

            def model_call() -> dict[Any, int]:
                m.borrow(name, i, amount)
                return {w.assets[i]: amount}

        else:  # repay
            owed = before.debt(view.obligation(name).borrow_shares[i])
            amount = U64_MAX if x == -10_000 else _amount(x, max(1, owed))
            ix = lend.repay(w.pubkey, e.obligation_of(w), reserve, st_, w.assets[i], amount)

            def model_call() -> dict[Any, int]:
                return {w.assets[i]: -m.repay(name, i, amount)[0]}

    watched = [*signer.assets, *signer.shares]
    before_balances = {a: e.balance(a) for a in watched}
    try:
        deltas = model_call()
        expected = None
    except LendModelError as error:
        deltas, expected = {}, error.code
    result = e.send(signer, ix)
    if expected is None:
        assert result.success, (op, result.error, result.logs[-4:])
    else:
        assert not result.success, op
        assert custom_error(result) == expected, (op, expected, result.logs[-4:])
    for account in watched:  # token balances move exactly as the model says (or not at all)
        assert e.balance(account) - before_balances[account] == deltas.get(account, 0), op


@pytest.mark.slow
@settings(
    max_examples=1000,  # as part 1's AMM: 1,000 program-versus-model sequences
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.lists(operations, max_size=20))
def test_random_sequences_agree_with_the_model(ops: list[tuple[Any, ...]]) -> None:
    e = LendEnv()
    big = (10**15, 10**17)
    wallets = {name: e.wallet(name, big) for name in NAMES}
    m = e.model
    prelude = [
        ("deposit", "l0", 0, 10_000 * 10**6),
        ("deposit", "l0", 1, 100 * 10**9),
        ("collateral", "b0", 1, 20 * 10**9),
        ("collateral", "b1", 0, 5_000 * 10**6),
        ("borrow", "b0", 0, 2_200 * 10**6),
        ("borrow", "b1", 1, 25 * 10**9),
    ]
    for op in prelude + ops:
        _step(e, wallets, op)
        e.check(list(wallets.values()))
    # the share mints' holders are exactly what the model counts as supply
    assert m.reserves[0].supply_shares == sum(e.balance(w.shares[0]) for w in wallets.values())
    assert m.reserves[1].supply_shares == sum(e.balance(w.shares[1]) for w in wallets.values())


def test_the_default_market_backs_initial_state_shares_at_price_one() -> None:
    """113: 50 jlUSDC handed out by initial_state are backed by 50 USDC, and withdrawing 50 USDC
    empties them; 112: the same with 0.1 jlSOL."""

    chain = LiteSVMChain()
    view = default_market.build_default_market(chain, chain.svm.get_clock().slot)
    assert [state.share_mint for _, state in view.reserves] == [
        default_market.JL_USDC_MINT,
        default_market.JL_SOL_MINT,
    ]
    user = Keypair.from_seed(bytes([3]) * 32)
    chain.set_account(user.pubkey(), Account(5 * 10**9, b"", Pubkey.default(), False, 0))
    rent = chain.rent_exempt_minimum(165)
    accounts = {}
    for index, (amount, own) in enumerate(((50_000_000, 10_000_000), (100_000_000, 0))):
        _, state = view.reserves[index]
        shares = get_associated_token_address(user.pubkey(), state.share_mint)
        data = pack_token_account(mint=state.share_mint, owner=user.pubkey(), amount=0)
        chain.set_account(shares, Account(rent, data, TOKEN_PROGRAM, False, 0))
        assets = get_associated_token_address(user.pubkey(), state.asset_mint)
        native = rent if index == 1 else None
        data = pack_token_account(
            mint=state.asset_mint, owner=user.pubkey(), amount=own, native_rent=native
        )
        chain.set_account(
            assets, Account(rent + (own if native else 0), data, TOKEN_PROGRAM, False, 0)
        )
        assert default_market.back_shares(chain, view, shares, amount) == amount
        accounts[index] = (shares, assets, amount)
    view = default_market.read_market(chain, view.address, chain.svm.get_clock().slot)
    for index, (shares, assets, amount) in accounts.items():
        reserve, state = view.reserves[index]
        assert (state.available, state.supply_shares) == (amount, amount)
        ix = lend.withdraw(user.pubkey(), reserve, state, shares, assets, amount)
        result = chain.send([ix], user, [])
        assert result.success, result.logs[-4:]
        account = chain.get_account(shares)
        assert account is not None and int.from_bytes(bytes(account.data)[64:72], "little") == 0
    usdc = chain.get_account(accounts[0][1])
    assert usdc is not None and int.from_bytes(bytes(usdc.data)[64:72], "little") == 60_000_000


def test_init_errors_and_a_prefunded_obligation() -> None:
    e = LendEnv()
    rent = e.chain.rent_exempt_minimum
    mint = e.mints[0]
    oracle = e.oracles[0]

    def reserve_ixs(config: ReserveConfig, signer: Pubkey) -> tuple[list[Any], list[Keypair]]:
        reserve, share = e.env.keypair(), e.env.keypair()
        ixs = lend.create_reserve(signer, e.market, reserve.pubkey(), mint.address, share.pubkey(), oracle, config, decimals=6, reserve_rent=rent(RESERVE_LEN), share_mint_rent=rent(82))  # fmt: skip
        return ixs, [reserve, share]

    config = ReserveConfig(8000, 8500, 500, 8000, 0, 800, 10_000, 150)
    ixs, signers = reserve_ixs(config, e.admin.pubkey())
    assert custom_error(e.env.send(ixs, signers)) == LendError.DUPLICATE_RESERVE
    bad = ReserveConfig(8500, 8500, 500, 8000, 0, 800, 10_000, 150)
    ixs, signers = reserve_ixs(bad, e.admin.pubkey())
    assert custom_error(e.env.send(ixs, signers)) == LendError.INVALID_CONFIG
    stranger = e.env.keypair()
    e.env.fund(stranger.pubkey())
    ixs, signers = reserve_ixs(config, stranger.pubkey())
    assert custom_error(e.chain.send(ixs, stranger, signers)) == LendError.UNAUTHORIZED
    again = lend.init_market(e.admin.pubkey(), e.market, 5000)
    assert custom_error(e.env.send([again])) == LendError.ALREADY_INITIALIZED
    # someone sent lamports to a user's obligation address first: it is still created
    user = e.env.keypair()
    e.env.fund(user.pubkey())
    obligation = e.obligation_of(Wallet(user, [], []))
    e.chain.set_account(obligation, Account(1_000, b"", Pubkey.default(), False, 0))
    result = e.chain.send([lend.init_obligation(user.pubkey(), e.market)], user, [])
    assert result.success, result.logs[-4:]
    account = e.chain.get_account(obligation)
    assert account is not None and account.owner == default_market.LEND_PROGRAM_ID
    assert account.lamports == rent(208)
