"""A LiteSVM chain with a reev Lend market built by real transactions (the program is loaded
into every LiteSVMChain at LEND_PROGRAM_ID).

Two reserves, as the default market: index 0 a 6-decimal "USDC", index 1 a 9-decimal "SOL",
with the default market's configs and prices. A `LendingModel` mirrors the chain; `check`
compares every reserve and obligation with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from solders.account import Account
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from reev.chain.protocol import TxResult
from reev.constants import TOKEN_PROGRAM
from reev.defi.lend import instructions as lend
from reev.defi.lend.layout import (
    LEND_PROGRAM_ID,
    MARKET_LEN,
    ORACLE_LEN,
    RESERVE_LEN,
    ObligationState,
    OracleState,
    ReserveConfig,
    ReserveState,
    obligation_address,
)
from reev.defi.lend.model import LendingModel, ObligationModel, OracleModel, ReserveModel
from reev.defi.lend.reader import read_market

from .amm_env import AmmEnv, Mint

USD = 10**8
CONFIGS = (
    ReserveConfig(8000, 8500, 500, 8000, 0, 800, 10_000, 150),
    ReserveConfig(7500, 8000, 500, 8000, 0, 700, 20_000, 150),
)
DECIMALS = (6, 9)
PRICES = (USD, 150 * USD)


@dataclass
class Wallet:
    keypair: Keypair
    assets: list[Pubkey]
    shares: list[Pubkey]
    name: str = ""

    @property
    def pubkey(self) -> Pubkey:
        return self.keypair.pubkey()


@dataclass
class LendEnv:
    env: AmmEnv = field(default_factory=AmmEnv)

    def __post_init__(self) -> None:
        self.chain = self.env.chain
        self.admin = self.env.payer
        market = self.env.keypair()
        self.market = market.pubkey()
        rent = self.chain.rent_exempt_minimum
        self.env.ok(
            lend.create_market(self.admin.pubkey(), self.market, 5000, rent(MARKET_LEN)), [market]
        )
        self.mints = [self.env.mint(decimals=d) for d in DECIMALS]
        self.reserves: list[Pubkey] = []
        self.oracles: list[Pubkey] = []
        for mint, config, price in zip(self.mints, CONFIGS, PRICES, strict=True):
            reserve, oracle, share = self.env.keypair(), self.env.keypair(), self.env.keypair()
            self.reserves.append(reserve.pubkey())
            self.oracles.append(oracle.pubkey())
            self.set_oracle(len(self.oracles) - 1, price)
            ixs = lend.create_reserve(
                self.admin.pubkey(), self.market, reserve.pubkey(), mint.address, share.pubkey(),
                oracle.pubkey(), config, decimals=mint.decimals, reserve_rent=rent(RESERVE_LEN),
                share_mint_rent=rent(82),
            )  # fmt: skip
            self.env.ok(ixs, [reserve, share])
        slot = self.slot
        self.model = LendingModel(
            [ReserveModel(c, d, slot) for c, d in zip(CONFIGS, DECIMALS, strict=True)],
            [OracleModel(p, slot) for p in PRICES],
            5000,
            slot,
        )

    @property
    def slot(self) -> int:
        return self.chain.svm.get_clock().slot

    def set_oracle(self, index: int, price: int) -> None:
        data = OracleState(self.mints[index].address, price, self.slot).encode()
        lamports = self.chain.rent_exempt_minimum(ORACLE_LEN)
        self.chain.set_account(
            self.oracles[index], Account(lamports, data, LEND_PROGRAM_ID, False, 0)
        )

    def advance(self, slots: int, refresh_prices: bool = True) -> None:
        self.chain.warp_to_slot(self.slot + slots)
        self.model.advance(slots, refresh_prices=refresh_prices)
        if refresh_prices:
            for i, oracle in enumerate(self.model.oracles):
                self.set_oracle(i, oracle.price)

    def set_price(self, index: int, price: int) -> None:
        self.set_oracle(index, price)
        self.model.set_price(index, price)

    def state(self, index: int) -> ReserveState:
        account = self.chain.get_account(self.reserves[index])
        assert account is not None
        return ReserveState.decode(bytes(account.data))

    def obligation_of(self, wallet: Wallet) -> Pubkey:
        return obligation_address(self.market, wallet.pubkey)[0]

    def wallet(self, name: str, amounts: tuple[int, int] = (0, 0)) -> Wallet:
        """A funded wallet with asset accounts holding `amounts`, share accounts and an
        obligation."""
        kp = self.env.keypair()
        self.env.fund(kp.pubkey())
        assets = [
            self.env.token_account(kp.pubkey(), m, a)
            for m, a in zip(self.mints, amounts, strict=True)
        ]
        shares = [
            self.env.token_account(
                kp.pubkey(), Mint(self.state(i).share_mint, TOKEN_PROGRAM, m.decimals)
            )
            for i, m in enumerate(self.mints)
        ]
        self.env.ok([lend.init_obligation(kp.pubkey(), self.market)], [kp])
        return Wallet(kp, assets, shares, name)

    def pairs(self, owner: str, *acted: int) -> list[tuple[Pubkey, Pubkey]]:
        return [(self.reserves[i], self.oracles[i]) for i in self.model.pairs(owner, *acted)]

    def send(self, wallet: Wallet, ix: Instruction) -> TxResult:
        return self.env.send([ix], [wallet.keypair])

    def balance(self, account: Pubkey) -> int:
        return self.env.balance(account)

    def check(self, wallets: list[Wallet]) -> None:
        """Every reserve and obligation on chain equals the model's."""
        for i, model in enumerate(self.model.reserves):
            got = self.state(i)
            on_chain = (got.last_update_slot, got.available, got.borrowed, got.supply_shares, got.borrow_shares, got.total_collateral)  # fmt: skip
            modelled = (model.last_update_slot, model.available, model.borrowed, model.supply_shares, model.borrow_shares, model.total_collateral)  # fmt: skip
            assert on_chain == modelled, f"reserve {i}"
        view = read_market(self.chain, self.market, self.slot).model()
        assert view.reserves == self.model.reserves  # the reader sees what the program wrote
        for wallet in wallets:
            held = view.obligations.get(str(wallet.pubkey), ObligationModel())
            assert held == self.model.obligations.get(wallet.name, ObligationModel()), wallet.name
            account = self.chain.get_account(self.obligation_of(wallet))
            assert account is not None
            state = ObligationState.decode(bytes(account.data))
            expected = self.model.obligations.get(wallet.name, ObligationModel())
            assert list(state.collateral) == expected.collateral, wallet.name
            assert list(state.borrow_shares) == expected.borrow_shares, wallet.name
