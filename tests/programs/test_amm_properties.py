"""Random operation sequences on the AMM program and on the Python model, side by side.

Each example opens a fresh pool (random fee, optionally a Token-2022 transfer-fee mint on one
side), makes a first deposit, then runs a random sequence of add / remove / swap exact in /
swap exact out by two users, with limits drawn around the model's answer so that slippage
failures are exercised too. After every operation:

* the program succeeds exactly when the model does, with the model's error code otherwise, and
  a failure changes no account;
* what the users are debited and credited equals the model's numbers to the base unit, and the
  pool's reserves and LP supply equal the model's;
* through a swap k = R_a · R_b never decreases;
* at the end everybody withdraws all liquidity, and no mint has more in the users' hands than
  they started with: no sequence creates value.

Chains are reused across examples (one plain, one with a transfer-fee mint); every example gets a new pool,
so examples do not see each other's state. 1,000 sequences in all, derandomised for CI.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from reev.defi.amm.model import AmmModelError, PoolModel, TransferFee

from .amm_env import (
    AmmEnv,
    Mint,
    Pool,
    Trader,
    add_liquidity_ix,
    custom_error,
    remove_liquidity_ix,
    swap_ix,
)

pytestmark = pytest.mark.slow

FEE = TransferFee(basis_points=150, maximum_fee=40_000)
START = 10**17  # every user's balance of each mint: operations never run out of funds
EXAMPLES = {"plain": 500, "fee": 500}  # 1,000 sequences in all


@dataclass
class World:
    """A chain with two mints (the first with a transfer fee in the "fee" layout) and three
    funded users; each example adds its own pool and LP accounts to it."""

    env: AmmEnv
    mints: tuple[Mint, Mint]
    users: list[tuple[Keypair, Pubkey, Pubkey]] = field(default_factory=list)


_WORLDS: dict[str, World] = {}


def world(layout: str) -> World:
    if layout not in _WORLDS:
        env = AmmEnv()
        x = env.mint(fee=FEE) if layout == "fee" else env.mint()
        _WORLDS[layout] = World(env, (x, env.mint(decimals=9)))
    return _WORLDS[layout]


Operation = tuple[Any, ...]  # (kind, user index, fields of that kind)

amounts = st.one_of(
    st.integers(0, 20), st.integers(0, 10**6), st.integers(0, 10**12), st.integers(0, 10**15)
)
slack = st.integers(-2, 2)  # a limit just around the model's answer
operation = st.one_of(
    st.tuples(st.just("add"), st.integers(0, 1), amounts, amounts, slack),
    st.tuples(st.just("remove"), st.integers(0, 1), st.integers(0, 100), slack, slack),
    st.tuples(st.just("swap_in"), st.integers(0, 1), st.sampled_from("ab"), amounts, slack),
    st.tuples(st.just("swap_out"), st.integers(0, 1), st.sampled_from("ab"), amounts, slack),
)


class Run:
    """One example: a pool on the world's chain, its model, and the users' LP accounts."""

    def __init__(self, w: World, fee_bps: int, reserve_a: int, reserve_b: int) -> None:
        self.env = env = w.env
        x, y = w.mints
        self.pool: Pool = env.create_pool(x, y, fee_bps)
        if not w.users:
            for _ in range(3):
                keypair = env.keypair()
                env.fund(keypair.pubkey(), 10**12)
                w.users.append(
                    (
                        keypair,
                        env.token_account(keypair.pubkey(), self.pool.mint_a, START),
                        env.token_account(keypair.pubkey(), self.pool.mint_b, START),
                    )
                )
        self.users = [
            Trader(kp, a, b, env.token_account(kp.pubkey(), env.lp_mint(self.pool)))
            for kp, a, b in w.users
        ]
        self.model = PoolModel(
            fee_bps=fee_bps,
            transfer_fee_a=self.pool.mint_a.fee,
            transfer_fee_b=self.pool.mint_b.fee,
        )
        state = env.state(self.pool)
        self.vaults = (state.vault_a, state.vault_b)
        self.start = self.holdings()
        provider = self.users[2]
        self.apply(
            add_liquidity_ix(env, self.pool, provider, reserve_a, reserve_b),
            provider,
            lambda m: m.add_liquidity(reserve_a, reserve_b, 0),
            "add",
        )

    def holdings(self) -> tuple[int, int]:
        """What the users hold of mint A and of mint B."""
        return (
            sum(self.env.balance(u.a) for u in self.users),
            sum(self.env.balance(u.b) for u in self.users),
        )

    def watched(self, user: Trader) -> list[Pubkey]:
        return [self.pool.address, user.a, user.b, user.lp, *self.vaults]

    def snapshot(self, user: Trader) -> list[tuple[int, bytes]]:
        out = []
        for address in self.watched(user):
            account = self.env.chain.get_account(address)
            assert account is not None
            out.append((account.lamports, bytes(account.data)))
        return out

    def apply(
        self, ix: Instruction, user: Trader, on_model: Callable[[PoolModel], Any], kind: str
    ) -> None:
        before = self.snapshot(user)
        balances = (self.env.balance(user.a), self.env.balance(user.b), self.env.balance(user.lp))
        k_before = self.model.reserve_a * self.model.reserve_b
        try:
            expected = on_model(self.model)
            code = None
        except AmmModelError as error:
            expected, code = None, error.code
        result = self.env.send([ix], [user.keypair])
        if code is not None:
            assert not result.success, (
                f"{kind}: the model fails with {code.name}, the program succeeded"
            )
            assert custom_error(result) == code, (kind, code, result.logs[-3:])
            assert self.snapshot(user) == before, f"{kind}: a failed transaction changed state"
            return
        assert result.success, (kind, expected, result.error, result.logs[-3:])
        after = (self.env.balance(user.a), self.env.balance(user.b), self.env.balance(user.lp))
        delta = tuple(new - old for new, old in zip(after, balances, strict=True))
        if kind == "add":
            taken_a, taken_b, lp = expected
            assert delta == (-taken_a, -taken_b, lp)
        elif kind == "remove":
            out_a, out_b = expected
            assert delta[:2] == (out_a, out_b)
        else:
            debited, credited = expected
            side = kind[-1]
            d_in, d_out = (delta[0], delta[1]) if side == "a" else (delta[1], delta[0])
            assert (d_in, d_out) == (-debited, credited)
            assert self.model.reserve_a * self.model.reserve_b >= k_before, "k decreased"
        state = self.env.state(self.pool)
        assert (state.reserve_a, state.reserve_b, state.lp_supply) == (
            self.model.reserve_a,
            self.model.reserve_b,
            self.model.lp_supply,
        )
        assert (self.env.balance(self.vaults[0]), self.env.balance(self.vaults[1])) == (
            state.reserve_a,
            state.reserve_b,
        )

    def step(self, op: Operation) -> None:
        kind, who = op[0], self.users[op[1]]
        env, pool, model = self.env, self.pool, self.model
        probe = PoolModel(**{**model.__dict__})  # the model's answer without committing it
        if kind == "add":
            _, _, max_a, max_b, s = op
            try:
                lp = probe.add_liquidity(max_a, max_b, 0)[2]
            except AmmModelError:
                lp = 0
            min_lp = max(lp + s, 0)
            self.apply(
                add_liquidity_ix(env, pool, who, max_a, max_b, min_lp),
                who,
                lambda m: m.add_liquidity(max_a, max_b, min_lp),
                "add",
            )
        elif kind == "remove":
            _, _, percent, s_a, s_b = op
            lp = env.balance(who.lp) * percent // 100
            out_a = out_b = 0  # the bounds apply to what leaves the vaults (before any fee)
            if 0 < lp <= model.lp_supply:
                out_a = lp * model.reserve_a // model.lp_supply
                out_b = lp * model.reserve_b // model.lp_supply
            min_a, min_b = max(out_a + s_a, 0), max(out_b + s_b, 0)
            self.apply(
                remove_liquidity_ix(env, pool, who, lp, min_a, min_b),
                who,
                lambda m: m.remove_liquidity(lp, min_a, min_b),
                "remove",
            )
        elif kind == "swap_in":
            _, _, side, amount, s = op
            try:
                credited = probe.swap_exact_in(side, amount, 0)[1]
            except AmmModelError:
                credited = 0
            min_out = max(credited + s, 0)
            self.apply(
                swap_ix(env, pool, who, side, amount, min_out),
                who,
                lambda m: m.swap_exact_in(side, amount, min_out),
                f"swap_in_{side}",
            )
        else:
            _, _, side, amount, s = op
            try:
                debited = probe.swap_exact_out(side, amount, 2**64 - 1)[0]
            except AmmModelError:
                debited = 2**64 - 1
            max_in = min(max(debited + s, 0), 2**64 - 1)
            self.apply(
                swap_ix(env, pool, who, side, amount, max_in, exact_in=False),
                who,
                lambda m: m.swap_exact_out(side, amount, max_in),
                f"swap_out_{side}",
            )

    def finish(self) -> None:
        for user in self.users:
            lp = self.env.balance(user.lp)
            if lp:
                self.apply(
                    remove_liquidity_ix(self.env, self.pool, user, lp, 0, 0),
                    user,
                    partial(PoolModel.remove_liquidity, lp=lp, min_a=0, min_b=0),
                    "remove",
                )
        assert self.model.lp_supply == 0
        end = self.holdings()
        assert end[0] <= self.start[0] and end[1] <= self.start[1], "a sequence created value"
        # what is missing is exactly the pool's dust plus the transfer fees withheld
        if self.pool.mint_a.fee is None:
            assert end[0] + self.model.reserve_a == self.start[0]
        if self.pool.mint_b.fee is None:
            assert end[1] + self.model.reserve_b == self.start[1]


def _run(layout: str, fee_bps: int, reserves: tuple[int, int], ops: list[Operation]) -> None:
    run = Run(world(layout), fee_bps, *reserves)
    for op in ops:
        run.step(op)
    run.finish()


reserve = st.one_of(st.integers(1, 1_000), st.integers(1_000, 10**9), st.integers(10**9, 10**15))
fees = st.sampled_from([0, 1, 5, 30, 100, 997, 9_999])
sequences = st.lists(operation, min_size=1, max_size=8)


def _settings(layout: str) -> settings:
    return settings(
        max_examples=EXAMPLES[layout],
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )


@_settings("plain")
@given(fee_bps=fees, reserves=st.tuples(reserve, reserve), ops=sequences)
def test_sequences_agree_with_the_model(
    fee_bps: int, reserves: tuple[int, int], ops: list[Operation]
) -> None:
    _run("plain", fee_bps, reserves, ops)


@_settings("fee")
@given(fee_bps=fees, reserves=st.tuples(reserve, reserve), ops=sequences)
def test_sequences_with_a_transfer_fee_mint_agree_with_the_model(
    fee_bps: int,
    reserves: tuple[int, int],
    ops: list[Operation],
) -> None:
    _run("fee", fee_bps, reserves, ops)
