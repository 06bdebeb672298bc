"""A benchmark's pools at episode set-up: the declared `pools:`, or the default market.

The pools themselves are built by `reev.defi.pools` (real AMM transactions, then ordinary chain
state); this module turns the benchmark's declarations (placeholders, token units) into plans,
and reports a pool that cannot be built as a `SetupError`.
"""

from __future__ import annotations

from solders.account import Account

from reev.chain.accounts import decode_mint
from reev.chain.protocol import Chain
from reev.constants import SYSTEM_PROGRAM
from reev.defi.amm.layout import AMM_PROGRAM_ID
from reev.defi.market import install_default_market
from reev.defi.pools import (
    PoolError,
    PoolPlan,
    build_pool,
    ensure_known_mint,
    fund_creator,
    has_amm,
)
from reev.setup.errors import SetupError
from reev.spec.models import Benchmark
from reev.spec.placeholders import POOL_CREATOR, KeyMap
from reev.units import to_base_units


def declared_plans(chain: Chain, benchmark: Benchmark, keys: KeyMap) -> list[PoolPlan]:
    """The benchmark's `pools:` with reserves in base units (mints read from the chain)."""
    plans = []
    for declared in benchmark.pools:
        mints = (keys.resolve(declared.mints[0]), keys.resolve(declared.mints[1]))
        reserves = []
        for mint, reserve in zip(mints, declared.reserves, strict=True):
            ensure_known_mint(chain, mint)
            account = chain.get_account(mint)
            assert account is not None
            reserves.append(to_base_units(reserve, decode_mint(bytes(account.data)).decimals))
        pool = keys.resolve(declared.id)
        plans.append(
            PoolPlan(
                name=declared.id,
                keypair=keys.keypairs[pool],
                mints=mints,
                reserves=(reserves[0], reserves[1]),
                fee_bps=declared.fee_bps,
            )
        )
    return plans


def build_pools(chain: Chain, benchmark: Benchmark, keys: KeyMap) -> None:
    """The episode's pools: the declared ones, or the default market when none is declared.

    Called last by `reev.setup.build_initial_state`, once every declared mint exists."""
    try:
        if not benchmark.pools:
            install_default_market(chain)
            return
        if not has_amm(chain):
            raise SetupError(f"pools: reev's AMM ({AMM_PROGRAM_ID}) is not loaded on this chain")
        creator = keys.keypairs[keys.resolve(POOL_CREATOR)]
        fund_creator(chain, creator.pubkey())
        try:
            for plan in declared_plans(chain, benchmark, keys):
                build_pool(chain, plan, creator)
        finally:
            # the creator paid rents and fees; like every set-up payer its wallet does not
            # outlive set-up (its LP tokens stay in their account)
            chain.set_account(
                creator.pubkey(), Account(0, b"", SYSTEM_PROGRAM, executable=False, rent_epoch=0)
            )
    except PoolError as exc:
        raise SetupError(str(exc)) from None
