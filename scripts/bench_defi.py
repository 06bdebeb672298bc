"""DeFi speed: compute units per AMM and reev Lend instruction, and swap and lending episodes
beside plain transfers.

Compute units are read from the program's own `consumed N of M compute units` log line, so
each figure is the AMM instruction alone (not the wSOL wrapping or ATA creation around it).
Episode rates run the deterministic agent through full episodes (placeholders, state set-up
with its pools or the default market, tools, scoring, session files): the swap benchmarks
(`--tags swap`) against one plain SOL transfer (001), measured in the same run. Machines here
are shared and noisy, so each rate is the best of a few repeats and the ratio is what to read.

    python scripts/bench_defi.py [--seconds 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import tempfile
import time
from pathlib import Path

from solders.account import Account
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from spl.token.instructions import create_idempotent_associated_token_account
from spl.token.instructions import get_associated_token_address as ata

from reev.chain.accounts import MINT_LEN, pack_mint, pack_token_account
from reev.chain.litesvm import LiteSVMChain
from reev.constants import SYSTEM_PROGRAM, TOKEN_PROGRAM
from reev.defi.amm.instructions import (
    add_liquidity,
    create_pool,
    remove_liquidity,
    swap_exact_in,
    swap_exact_out,
)
from reev.defi.amm.layout import AMM_PROGRAM_ID, POOL_LEN, PoolState, order_mints
from reev.defi.market import JUP, SOL, USDC, install_default_market
from reev.defi.router import best_quote, swap_instructions

ROOT = Path(__file__).resolve().parent.parent
_CONSUMED = re.compile(rf"Program {AMM_PROGRAM_ID} consumed (\d+) of")
SWAP_TARGET_CU = 12_000  # issue 14: a single-hop swap
# issue 15: a third of Kamino klend's on LiteSVM (deposit ~48,000 CU, borrow ~77,000 CU)
LEND_TARGETS_CU = {"Deposit": 16_000, "Borrow": 25_000}


def amm_units(logs: list[str]) -> list[int]:
    return [int(m.group(1)) for line in logs if (m := _CONSUMED.match(line))]


def compute_units() -> dict[str, int]:
    """Each AMM instruction once, on an embedded chain: new pool, liquidity, swaps."""
    chain = LiteSVMChain()
    install_default_market(chain)
    user = Keypair()
    me = user.pubkey()
    chain.set_account(me, Account(100 * 10**9, b"", SYSTEM_PROGRAM, False, 0))
    x, y = order_mints(Pubkey.new_unique(), Pubkey.new_unique())
    for mint in (x, y):
        data = pack_mint(decimals=6, supply=10**12, mint_authority=None, freeze_authority=None)
        chain.set_account(
            mint, Account(chain.rent_exempt_minimum(MINT_LEN), data, TOKEN_PROGRAM, False, 0)
        )
        token = pack_token_account(mint=mint, owner=me, amount=10**12)
        chain.set_account(
            ata(me, mint), Account(chain.rent_exempt_minimum(165), token, TOKEN_PROGRAM, False, 0)
        )

    figures: dict[str, int] = {}

    def send(name: str, instructions: list, *signers: Keypair) -> None:
        result = chain.send(instructions, user, list(signers))
        assert result.success, (name, result.error, result.logs[-5:])
        for index, units in enumerate(amm_units(result.logs)):
            figures[name if index == 0 else f"{name} (hop {index + 1})"] = units

    pool = Keypair()
    rent = chain.rent_exempt_minimum(POOL_LEN)
    send(
        "InitializePool",
        create_pool(me, pool.pubkey(), x, y, TOKEN_PROGRAM, TOKEN_PROGRAM, 30, rent),
        pool,
    )
    state = PoolState.decode(bytes(chain.get_account(pool.pubkey()).data))  # type: ignore[union-attr]
    lp = ata(me, state.lp_mint)
    create_lp = create_idempotent_associated_token_account(me, me, state.lp_mint, TOKEN_PROGRAM)
    accounts = (me, pool.pubkey(), state, ata(me, x), ata(me, y), lp)
    send("AddLiquidity (first)", [create_lp, add_liquidity(*accounts, 10**9, 2 * 10**9, 0)])
    send("AddLiquidity", [add_liquidity(*accounts, 10**8, 2 * 10**8, 0)])
    send("RemoveLiquidity", [remove_liquidity(*accounts, 10**7, 0, 0)])
    state = PoolState.decode(bytes(chain.get_account(pool.pubkey()).data))  # type: ignore[union-attr]
    send(
        "SwapExactIn",
        [swap_exact_in(me, pool.pubkey(), state, x, ata(me, x), ata(me, y), 10**6, 0)],
    )
    send(
        "SwapExactOut",
        [swap_exact_out(me, pool.pubkey(), state, x, ata(me, x), ata(me, y), 10**6, 10**9)],
    )
    sol, usdc, jup = (Pubkey.from_string(m) for m in (SOL, USDC, JUP))
    quote = best_quote(chain, sol, usdc, 10**8)
    send("SwapExactIn SOL→USDC (default market)", swap_instructions(chain, me, quote))
    quote = best_quote(chain, sol, jup, 10**8)
    assert len(quote.hops) == 2
    send("SwapExactIn SOL→USDC→JUP", swap_instructions(chain, me, quote))
    return figures


def lend_compute_units() -> dict[str, int]:
    """Each reev Lend instruction once on the default lending market (docs/lending.md): Earn
    deposits and withdrawals, collateral, a borrow, interest, a repayment and, after SOL falls
    from 150 to 100 USD, a liquidation by a second wallet (two pairs)."""
    from reev.defi.lend import instructions as lend
    from reev.defi.lend.default_market import DEFAULT_RESERVES as RESERVES
    from reev.defi.lend.default_market import build_default_market, oracle_address, write_oracle
    from reev.defi.lend.layout import LEND_PROGRAM_ID, ReserveState, obligation_address

    consumed = re.compile(rf"Program {LEND_PROGRAM_ID} consumed (\d+) of")
    chain = LiteSVMChain()
    slot = chain.svm.get_clock().slot
    view = build_default_market(chain, slot)
    (usdc_reserve, usdc_state), (sol_reserve, sol_state) = view.reserves
    usdc, wsol = usdc_state.asset_mint, sol_state.asset_mint
    figures: dict[str, int] = {}

    def wallet(usdc_amount: int, sol_amount: int) -> Keypair:
        owner = Keypair()
        me = owner.pubkey()
        chain.set_account(me, Account(100 * 10**9, b"", SYSTEM_PROGRAM, False, 0))
        rent = chain.rent_exempt_minimum(165)
        for mint, amount in ((usdc, usdc_amount), (wsol, sol_amount)):
            native = rent if mint == wsol else None
            data = pack_token_account(mint=mint, owner=me, amount=amount, native_rent=native)
            lamports = rent + amount if mint == wsol else rent
            chain.set_account(ata(me, mint), Account(lamports, data, TOKEN_PROGRAM, False, 0))
        for share in (usdc_state.share_mint, sol_state.share_mint):
            data = pack_token_account(mint=share, owner=me, amount=0)
            chain.set_account(ata(me, share), Account(rent, data, TOKEN_PROGRAM, False, 0))
        return owner

    def send(name: str, owner: Keypair, instructions: list) -> None:
        result = chain.send(instructions, owner, [])
        assert result.success, (name, result.error, result.logs[-5:])
        found = [int(m.group(1)) for line in result.logs if (m := consumed.match(line))]
        figures[name] = found[-1]

    def state(reserve: Pubkey) -> ReserveState:
        return ReserveState.decode(bytes(chain.get_account(reserve).data))  # type: ignore[union-attr]

    lender, borrower = wallet(10_000 * 10**6, 0), wallet(0, 100 * 10**9)
    me, them = lender.pubkey(), borrower.pubkey()
    my_usdc, my_shares = ata(me, usdc), ata(me, usdc_state.share_mint)
    send(
        "Deposit",
        lender,
        [lend.deposit(me, usdc_reserve, usdc_state, my_usdc, my_shares, 5_000 * 10**6)],
    )
    send(
        "Mint",
        lender,
        [lend.mint(me, usdc_reserve, state(usdc_reserve), my_usdc, my_shares, 10**6)],
    )
    send(
        "Withdraw",
        lender,
        [lend.withdraw(me, usdc_reserve, state(usdc_reserve), my_shares, my_usdc, 10**6)],
    )
    send(
        "Redeem",
        lender,
        [lend.redeem(me, usdc_reserve, state(usdc_reserve), my_shares, my_usdc, 10**6)],
    )
    market = view.address
    send("InitObligation", borrower, [lend.init_obligation(them, market)])
    send(
        "DepositCollateral",
        borrower,
        [
            lend.deposit_collateral(
                them, market, sol_reserve, sol_state, ata(them, wsol), 10 * 10**9
            )
        ],
    )
    pairs = [(usdc_reserve, usdc_state.oracle), (sol_reserve, sol_state.oracle)]
    send(
        "Borrow",
        borrower,
        [
            lend.borrow(
                them,
                market,
                usdc_reserve,
                state(usdc_reserve),
                ata(them, usdc),
                1_000 * 10**6,
                pairs,
            )
        ],
    )
    chain.warp_to_slot(slot + 100)
    for spec in RESERVES:
        write_oracle(chain, oracle_address(spec), spec.asset_mint, spec.price, slot + 100)
    send("AccrueInterest", lender, [lend.accrue_interest(usdc_reserve)])
    obligation = obligation_address(market, them)[0]
    send(
        "Repay",
        borrower,
        [
            lend.repay(
                them, obligation, usdc_reserve, state(usdc_reserve), ata(them, usdc), 10 * 10**6
            )
        ],
    )
    send(
        "WithdrawCollateral",
        borrower,
        [
            lend.withdraw_collateral(
                them, market, sol_reserve, state(sol_reserve), ata(them, wsol), 10**9, pairs
            )
        ],
    )
    sol_spec = next(r for r in RESERVES if r.asset_mint == wsol)
    write_oracle(chain, oracle_address(sol_spec), wsol, 100 * 10**8, slot + 100)  # SOL falls
    liquidator = wallet(1_000 * 10**6, 0)
    send("Liquidate", liquidator, [lend.liquidate(
        liquidator.pubkey(), obligation, market, (usdc_reserve, state(usdc_reserve)),
        (sol_reserve, state(sol_reserve)), ata(liquidator.pubkey(), usdc),
        ata(liquidator.pubkey(), wsol), 100 * 10**6, 0, pairs)])  # fmt: skip
    return figures


def rate(fn, seconds: float, repeats: int = 3) -> float:
    best = 0.0
    for _ in range(repeats):
        count, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds:
            fn()
            count += 1
        best = max(best, count / elapsed)
    return best


def episode_rate(benchmarks: list, seconds: float, log_dir: Path) -> float:
    from reev.agents import DeterministicAgent
    from reev.runner import run_suite

    def once() -> None:
        suite = asyncio.run(run_suite(benchmarks, DeterministicAgent, log_dir=log_dir))
        bad = [r for r in suite.results if r.status != "Completed" or not r.passed]
        assert not bad, [(r.benchmark_id, r.status) for r in bad]

    return rate(once, seconds) * len(benchmarks)


def market_cost(chains: int = 20) -> tuple[float, float]:
    """(ms for a fresh embedded chain, ms to copy the default market into one)."""
    install_default_market(LiteSVMChain())  # the once-per-process template
    start = time.perf_counter()
    fresh = [LiteSVMChain() for _ in range(chains)]
    bare = (time.perf_counter() - start) / chains
    start = time.perf_counter()
    for chain in fresh:
        install_default_market(chain)
    return bare * 1000, (time.perf_counter() - start) / chains * 1000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement repeat")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args()

    from reev.spec import load_many

    loaded, errors = load_many([ROOT / "benchmarks"])
    if errors:
        raise SystemExit("\n".join(map(str, errors)))
    swaps = [i.benchmark for i in loaded if "swap" in i.benchmark.tags]
    lends = [i.benchmark for i in loaded if "lend" in i.benchmark.tags]
    transfer = [i.benchmark for i in loaded if i.benchmark.id == "001-sol-transfer"]
    units = compute_units()
    lend_units = lend_compute_units()
    bare_ms, market_ms = market_cost()
    with tempfile.TemporaryDirectory() as tmp:
        plain = episode_rate(transfer, args.seconds, Path(tmp))
        swap = episode_rate(swaps, args.seconds, Path(tmp)) if swaps else 0.0
        lending = episode_rate(lends, args.seconds, Path(tmp)) if lends else 0.0

    print("compute units per AMM instruction:")
    for name, value in units.items():
        print(f"  {name:40s} {value:7d} CU")
    print(f"  (target: a single-hop swap <= {SWAP_TARGET_CU} CU)")
    print("compute units per reev Lend instruction:")
    for name, value in lend_units.items():
        target = LEND_TARGETS_CU.get(name)
        note = f"  (target <= {target})" if target else ""
        print(f"  {name:40s} {value:7d} CU{note}")
    print(f"fresh embedded chain:            {bare_ms:8.3f} ms")
    print(f"default market copied into it:   {market_ms:8.3f} ms")
    print(f"plain SOL transfer episodes:     {plain:8.1f} episodes/s")
    print(f"swap episodes ({len(swaps)} benchmarks):     {swap:8.1f} episodes/s")
    print(f"ratio swap / transfer:           {swap / plain:8.3f}")
    print(f"lending episodes ({len(lends)} benchmarks): {lending:8.1f} episodes/s")
    print(f"ratio lending / transfer:        {lending / plain:8.3f}")
    if args.json:
        figures = {
            "compute_units": units,
            "lend_compute_units": lend_units,
            "lend_episodes_per_s": round(lending, 1),
            "lend_benchmarks": len(lends),
            "fresh_chain_ms": round(bare_ms, 3),
            "default_market_copy_ms": round(market_ms, 3),
            "transfer_episodes_per_s": round(plain, 1),
            "swap_episodes_per_s": round(swap, 1),
            "swap_benchmarks": len(swaps),
            "ratio_swap_to_transfer": round(swap / plain, 3),
            "targets": {
                "single_hop_swap_cu": f"<= {SWAP_TARGET_CU}",
                **{f"lend_{k.lower()}_cu": f"<= {v}" for k, v in LEND_TARGETS_CU.items()},
            },
        }
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
