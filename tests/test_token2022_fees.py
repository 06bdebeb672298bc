"""Token-2022 mints with the transfer-fee extension, end to end, on a real LiteSVM chain.

The spec (`MintDeclaration.transfer_fee`), setup by real transactions (`reev.setup.token2022`),
decoding of the TLV extensions, the tools, the `TokenAccountWithheld` assertion and the
benchmarks 040-042. Expected values come from the fee rule (computed here with exact fractions)
and from sizes derived from the Token-2022 layout, never copied from an output; byte-level
checks read the raw account data at offsets computed from the extension layout, independently
of `reev.chain.accounts`.
"""

from __future__ import annotations

import math
import textwrap
from fractions import Fraction

import pytest
from solders.account import Account
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from spl.token.instructions import (
    close_account,
    get_associated_token_address,
    initialize_account3,
    initialize_mint2,
    initialize_transfer_fee_config,
    transfer,
    transfer_checked,
)
from spl.token.models import (
    CloseAccountParams,
    InitializeAccount3Params,
    InitializeMint2Params,
    InitializeTransferFeeConfigParams,
    TransferCheckedParams,
    TransferParams,
)

from helpers.chain_env import ChainEnv
from helpers.episodes import ScriptedAgent, run
from helpers.suite import benchmark
from reev.agents.base import AgentTask
from reev.agents.context import context_prompt
from reev.chain import LiteSVMChain
from reev.chain.accounts import AccountState, extensions
from reev.chain.observe import read_account
from reev.chain.token2022 import mint_space, token_account_space, transfer_fee
from reev.runner.episode import observe
from reev.scoring.assertions import evaluate_assertion
from reev.setup import SetupError
from reev.spec import BenchmarkError, parse_benchmark
from reev.spec.models import TokenAccountWithheld
from reev.tools import call_tool

TOKEN_2022 = "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb"
TOKEN_2022_ID = Pubkey.from_string(TOKEN_2022)
TOKEN = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"
SYSTEM = "11111111111111111111111111111111"
USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
LAMPORTS_PER_SIGNATURE = 5_000

DECIMALS = 6
FEE_BPS = 100  # 1%
MAX_FEE = 3_000_000  # 3 tokens: reached from 300 tokens on
USER_LAMPORTS = 2_000_000_000
USER_FEE = 2_000 * 10**DECIMALS
FRIEND_FEE = 5 * 10**DECIMALS
USER_PLAIN = 40 * 10**DECIMALS
FRIEND_ACCOUNT_LAMPORTS = 3_000_000  # above the rent: setup must top the account up

# Token-2022 layout, from the program's source (extension.rs, transfer_fee/mod.rs):
BASE_ACCOUNT_LEN = 165  # a mint's 82 bytes are padded to this before the account-type byte
ACCOUNT_TYPE_OFFSET = 165
TLV_START = 166
TLV_HEADER = 4  # u16 type, u16 length
TRANSFER_FEE_CONFIG, TRANSFER_FEE_AMOUNT, IMMUTABLE_OWNER = 1, 2, 7
TRANSFER_FEE_CONFIG_LEN = 32 + 32 + 8 + 2 * (8 + 8 + 2)  # two authorities, withheld, two fees
TRANSFER_FEE_AMOUNT_LEN = 8
# Token-2022 `TokenError` codes (the enum order in the program).
MINT_REQUIRED_FOR_TRANSFER = "0x1f"  # TokenError 31: a plain Transfer on a fee mint
ACCOUNT_HAS_WITHHELD_FEES = "0x23"  # TokenError 35


def expected_fee(amount: int, bps: int = FEE_BPS, maximum: int = MAX_FEE) -> int:
    """The fee rule with exact rationals: min(ceil(amount × bps / 10000), maximum)."""
    return min(math.ceil(Fraction(amount * bps, 10_000)), maximum)


def rent(chain: LiteSVMChain, size: int) -> int:
    return chain.rent_exempt_minimum(size)


def source(
    *,
    supply: str = "",
    mint_authority: str = "USER_WALLET_PUBKEY",
    fee: str = f'{{basis_points: {FEE_BPS}, maximum_fee: "{MAX_FEE}", authority: FEE_AUTHORITY_WALLET}}',
    extra_accounts: str = "",
    fee_mint: str = "FEE_MINT",
) -> str:
    return textwrap.dedent(
        f"""
        id: token2022-fee-test
        prompt: "Exercise transfer-fee mints."
        mints:
          - {{address: {fee_mint}, decimals: {DECIMALS}, program: token-2022, mint_authority: {mint_authority}, transfer_fee: {fee}{supply}}}
          - {{address: PLAIN_MINT, decimals: {DECIMALS}, program: token-2022, mint_authority: USER_WALLET_PUBKEY}}
        initial_state:
          - {{pubkey: USER_WALLET_PUBKEY, owner: "{SYSTEM}", lamports: {USER_LAMPORTS}}}
          - {{pubkey: FRIEND_WALLET, owner: "{SYSTEM}", lamports: 1000000000}}
          - {{pubkey: NEWBIE_WALLET, owner: "{SYSTEM}", lamports: 1000000000}}
          - pubkey: USER_FEE_ATA
            owner: {TOKEN_2022}
            data: {{mint: {fee_mint}, owner: USER_WALLET_PUBKEY, amount: "{USER_FEE}"}}
          - pubkey: FRIEND_FEE_ATA
            owner: {TOKEN_2022}
            lamports: {FRIEND_ACCOUNT_LAMPORTS}
            data: {{mint: {fee_mint}, owner: FRIEND_WALLET, amount: "{FRIEND_FEE}"}}
          - pubkey: USER_PLAIN_ATA
            owner: {TOKEN_2022}
            data: {{mint: PLAIN_MINT, owner: USER_WALLET_PUBKEY, amount: "{USER_PLAIN}"}}
          - pubkey: USER_USDC_ATA
            owner: {TOKEN}
            data: {{mint: {USDC}, owner: USER_WALLET_PUBKEY, amount: "1000000"}}
        """
    ) + textwrap.indent(textwrap.dedent(extra_accounts), "  ")


class Env(ChainEnv):
    def state(self, name_or_address: str | Pubkey) -> AccountState:
        address = (
            self.addr(name_or_address) if isinstance(name_or_address, str) else name_or_address
        )
        state = read_account(self.chain, address)
        assert state is not None, name_or_address
        return state

    def amount(self, name: str) -> int:
        token = self.state(name).token
        assert token is not None
        return token.amount

    def data(self, name_or_address: str | Pubkey) -> bytes:
        address = (
            self.addr(name_or_address) if isinstance(name_or_address, str) else name_or_address
        )
        account = self.chain.get_account(address)
        assert account is not None
        return bytes(account.data)

    def call(self, name: str, args: dict) -> dict:
        outcome = call_tool(self.ctx, name, args)
        assert outcome.ok, outcome.error
        return outcome.result

    def send_tokens(self, recipient: str, amount: int) -> dict:
        """spl_transfer of `amount` base units to a named wallet, submitted; the staging result."""
        whole, frac = divmod(amount, 10**DECIMALS)
        staged = self.call(
            "spl_transfer",
            {
                "recipient": self.a(recipient),
                "mint": self.a("FEE_MINT"),
                "amount": f"{whole}.{frac:06d}",
            },
        )
        result = self.call("submit_transaction", {})
        assert result["success"], result["error"]
        return staged


def make_env(text: str | None = None) -> Env:
    loaded = parse_benchmark(text or source(), "token2022-fee-test.yml", strict=True)
    return Env.build(loaded.benchmark)


@pytest.fixture
def env() -> Env:
    return make_env()


# --------------------------------------------------------------------------- the fee rule


@pytest.mark.parametrize(
    ("amount", "bps", "maximum", "fee"),
    [
        (0, 100, 10**9, 0),
        (1, 100, 10**9, 1),  # 0.01 rounds up to 1
        (99, 100, 10**9, 1),
        (100, 100, 10**9, 1),
        (101, 100, 10**9, 2),  # 1.01 → 2
        (10_000, 100, 10**9, 100),
        (10_001, 100, 10**9, 101),
        (123_456_789, 100, 10**9, 1_234_568),  # 1_234_567.89 → 1_234_568
        (300_000_000, 100, 3_000_000, 3_000_000),  # exactly the cap
        (300_000_001, 100, 3_000_000, 3_000_000),  # 3_000_000.01 → capped
        (10**18, 100, 3_000_000, 3_000_000),
        (5_000, 0, 10**9, 0),  # a zero rate
        (5_000, 10_000, 10**9, 5_000),  # 100%
        (5_000, 10_000, 7, 7),
        (81_500_000, 200, 1_500_000, 1_500_000),  # 042: 1_630_000 capped to 1_500_000
        (250_000_000, 100, 5_000_000_000, 2_500_000),  # 040
    ],
)
def test_fee_rule(amount: int, bps: int, maximum: int, fee: int) -> None:
    assert expected_fee(amount, bps, maximum) == fee  # the literal column is checked too
    assert transfer_fee(amount, bps, maximum) == fee


@pytest.mark.slow
def test_gross_up_is_ambiguous_below_the_cap_and_unique_above() -> None:
    """What docs/tools.md and benchmark 042 claim about grossing an amount up."""

    def net(g: int, bps: int, cap: int) -> int:
        return g - transfer_fee(g, bps, cap)

    assert net(10_100, 100, 10**9) == net(10_101, 100, 10**9) == 9_999
    solutions = [
        g for g in range(79_000_000, 84_000_000, 1) if net(g, 200, 1_500_000) == 80_000_000
    ]
    assert solutions == [81_500_000]
    assert net(81_600_000, 200, 1_500_000) == 80_100_000  # "add 2%" overpays
    assert net(81_632_653, 200, 1_500_000) == 80_132_653  # "divide by 0.98" overpays


# --------------------------------------------------------------------------- spec


def test_transfer_fee_only_on_token_2022() -> None:
    text = source().replace(
        "program: token-2022, mint_authority: USER_WALLET_PUBKEY, transfer_fee",
        "program: spl-token, mint_authority: USER_WALLET_PUBKEY, transfer_fee",
    )
    with pytest.raises(BenchmarkError) as error:
        parse_benchmark(text, "x.yml")
    assert "transfer_fee: the transfer-fee extension exists only on Token-2022 mints" in str(
        error.value
    )


@pytest.mark.parametrize(
    ("fee", "message"),
    [
        ('{basis_points: 10001, maximum_fee: "1"}', "basis_points"),
        ('{basis_points: -1, maximum_fee: "1"}', "basis_points"),
        ('{basis_points: 10, maximum_fee: "-1"}', "maximum_fee"),
        ('{basis_points: 10, maximum_fee: "18446744073709551616"}', "maximum_fee"),
        ("{basis_points: 10}", "maximum_fee"),
        ('{basis_points: 10, maximum_fee: "1", authority: not-an-address}', "authority"),
    ],
)
def test_transfer_fee_fields_are_validated(fee: str, message: str) -> None:
    with pytest.raises(BenchmarkError) as error:
        parse_benchmark(source(fee=fee), "x.yml")
    assert message in str(error.value)


def test_unknown_transfer_fee_field_is_reported() -> None:
    loaded = parse_benchmark(source(fee='{basis_points: 10, maximum_fee: "1", bps: 3}'), "x.yml")
    assert any("bps" in str(w) for w in loaded.warnings)


# --------------------------------------------------------------------------- setup


def test_sizes_follow_the_layout() -> None:
    assert (
        mint_space(transfer_fee=True)
        == BASE_ACCOUNT_LEN + 1 + TLV_HEADER + TRANSFER_FEE_CONFIG_LEN
        == 278
    )
    assert mint_space(transfer_fee=False) == 82
    assert token_account_space(transfer_fee=True, immutable_owner=True) == 165 + 1 + 12 + 4 == 182
    assert token_account_space(transfer_fee=True) == 178
    assert token_account_space(transfer_fee=False) == 165


@pytest.mark.parametrize(("space", "ok"), [(278, True), (277, False)])
def test_the_program_agrees_on_the_mint_size(space: int, ok: bool) -> None:
    chain = LiteSVMChain()
    payer, mint = Keypair(), Keypair()
    chain.svm.airdrop(payer.pubkey(), 10**10)
    chain.set_account(
        mint.pubkey(),
        Account(
            lamports=rent(chain, space),
            data=bytes(space),
            owner=TOKEN_2022_ID,
            executable=False,
            rent_epoch=0,
        ),
    )
    result = chain.send(
        [
            initialize_transfer_fee_config(
                InitializeTransferFeeConfigParams(
                    program_id=TOKEN_2022_ID,
                    mint=mint.pubkey(),
                    transfer_fee_config_authority=None,
                    withdraw_withheld_authority=None,
                    transfer_fee_basis_points=FEE_BPS,
                    maximum_fee=MAX_FEE,
                )
            ),
            initialize_mint2(
                InitializeMint2Params(
                    decimals=DECIMALS,
                    program_id=TOKEN_2022_ID,
                    mint=mint.pubkey(),
                    mint_authority=payer.pubkey(),
                )
            ),
        ],
        payer,
        [],
    )
    assert result.success is ok, result.error


@pytest.mark.parametrize(("space", "ok"), [(178, True), (177, False)])
def test_the_program_agrees_on_the_token_account_size(env: Env, space: int, ok: bool) -> None:
    account = Keypair().pubkey()
    env.chain.set_account(
        account,
        Account(
            lamports=rent(env.chain, space),
            data=bytes(space),
            owner=TOKEN_2022_ID,
            executable=False,
            rent_epoch=0,
        ),
    )
    ix = initialize_account3(
        InitializeAccount3Params(
            program_id=TOKEN_2022_ID,
            account=account,
            mint=env.addr("FEE_MINT"),
            owner=env.addr("USER_WALLET_PUBKEY"),
        )
    )
    assert env.chain.send([ix], env.keys.user, []).success is ok


def test_setup_builds_the_mint_and_accounts(env: Env) -> None:
    mint = env.state("FEE_MINT")
    assert mint.owner == TOKEN_2022 and mint.data_len == 278
    assert env.chain.get_account(env.addr("FEE_MINT")).lamports == rent(env.chain, 278)
    assert mint.mint is not None
    assert mint.mint.decimals == DECIMALS
    assert mint.mint.supply == USER_FEE + FRIEND_FEE  # no supply declared: the sum of the accounts
    assert mint.mint.mint_authority == env.a("USER_WALLET_PUBKEY")
    assert mint.mint.freeze_authority is None
    for name, owner, amount in [
        ("USER_FEE_ATA", "USER_WALLET_PUBKEY", USER_FEE),
        ("FRIEND_FEE_ATA", "FRIEND_WALLET", FRIEND_FEE),
    ]:
        assert env.addr(name) == get_associated_token_address(
            env.addr(owner), env.addr("FEE_MINT"), TOKEN_2022_ID
        )
        state = env.state(name)
        assert state.owner == TOKEN_2022 and state.data_len == 182
        assert state.token is not None
        assert (state.token.owner, state.token.amount, state.token.state) == (
            env.a(owner),
            amount,
            "initialized",
        )
        assert state.token.withheld_amount == 0
    assert (
        env.chain.get_account(env.addr("USER_FEE_ATA")).lamports
        == rent(env.chain, 182)
        == 2_157_600
    )
    assert env.chain.get_account(env.addr("FRIEND_FEE_ATA")).lamports == FRIEND_ACCOUNT_LAMPORTS


def test_setup_charges_no_declared_account_and_leaves_no_payer(env: Env) -> None:
    assert env.chain.get_account(env.addr("USER_WALLET_PUBKEY")).lamports == USER_LAMPORTS
    assert env.chain.get_account(env.addr("FRIEND_WALLET")).lamports == 1_000_000_000
    system_accounts = {str(a) for a, _ in env.chain.accounts_owned_by(Pubkey.from_string(SYSTEM))}
    declared = {env.a(n) for n in ("USER_WALLET_PUBKEY", "FRIEND_WALLET", "NEWBIE_WALLET")}
    faucet = str(env.chain.svm.airdrop_pubkey())  # LiteSVM's own, there before setup
    assert system_accounts - declared == {faucet}


def test_the_non_extension_path_is_unchanged(env: Env) -> None:
    """Mints without an extension are still written directly: 82-byte mint, 165-byte account."""
    plain = env.state("PLAIN_MINT")
    assert plain.data_len == 82 and plain.mint is not None and plain.mint.supply == USER_PLAIN
    assert plain.mint.transfer_fee_basis_points is None and plain.mint.transfer_fee_maximum is None
    account = env.state("USER_PLAIN_ATA")
    assert (
        account.data_len == 165
        and account.token is not None
        and account.token.withheld_amount is None
    )
    usdc = env.state("USER_USDC_ATA")
    assert usdc.owner == TOKEN and usdc.token is not None and usdc.token.withheld_amount is None


def test_declared_supply_above_the_balances() -> None:
    env = make_env(source(supply=', supply: "9000000000"'))
    assert env.state("FEE_MINT").mint.supply == 9_000_000_000
    assert (env.amount("USER_FEE_ATA"), env.amount("FRIEND_FEE_ATA")) == (USER_FEE, FRIEND_FEE)
    # The rest of the mint is intact: the program still accepts a transfer with its fee.
    env.send_tokens("FRIEND_WALLET", 10**DECIMALS)
    assert env.state("FRIEND_FEE_ATA").token.withheld_amount == expected_fee(10**DECIMALS)
    assert env.state("FEE_MINT").mint.supply == 9_000_000_000


def test_declared_supply_below_the_balances_is_an_error() -> None:
    with pytest.raises(SetupError, match="declared supply 1 is less than"):
        make_env(source(supply=', supply: "1"'))


def test_authorities_setup_does_not_hold_are_handed_over() -> None:
    """A literal mint authority (no key) and a literal freeze authority with a frozen account:
    setup acts as both while building, then the chain shows the declared ones."""
    outsider = Keypair().pubkey()
    text = source(mint_authority=str(outsider)).replace(
        "mint_authority: " + str(outsider),
        f"mint_authority: {outsider}, freeze_authority: {outsider}",
    )
    text = text.replace(
        f'data: {{mint: FEE_MINT, owner: FRIEND_WALLET, amount: "{FRIEND_FEE}"}}',
        f'data: {{mint: FEE_MINT, owner: FRIEND_WALLET, amount: "{FRIEND_FEE}", state: frozen, '
        'delegate: NEWBIE_WALLET, delegated_amount: "1000"}',
    )
    env = make_env(text)
    mint = env.state("FEE_MINT").mint
    assert (mint.mint_authority, mint.freeze_authority) == (str(outsider), str(outsider))
    friend = env.state("FRIEND_FEE_ATA").token
    assert (friend.amount, friend.state) == (FRIEND_FEE, "frozen")
    assert (friend.delegate, friend.delegated_amount) == (env.a("NEWBIE_WALLET"), 1000)
    assert env.amount("USER_FEE_ATA") == USER_FEE


def test_no_mint_authority_means_none_after_setup() -> None:
    text = source().replace("mint_authority: USER_WALLET_PUBKEY, transfer_fee", "transfer_fee")
    env = make_env(text)
    mint = env.state("FEE_MINT").mint
    assert mint.mint_authority is None and mint.supply == USER_FEE + FRIEND_FEE


def test_fee_authority_in_the_config(env: Env) -> None:
    data = env.data("FEE_MINT")
    config = TLV_START + TLV_HEADER
    authority = bytes(env.addr("FEE_AUTHORITY_WALLET"))
    assert data[config : config + 32] == authority  # transfer_fee_config_authority
    assert data[config + 32 : config + 64] == authority  # withdraw_withheld_authority
    without = make_env(source(fee='{basis_points: 7, maximum_fee: "9"}')).data("FEE_MINT")
    assert without[config : config + 64] == bytes(64)


def test_mint_and_account_at_literal_addresses() -> None:
    """No key for the mint nor for a non-associated account: both are pre-allocated, then
    initialised by the program."""
    mint = Keypair().pubkey()
    loose = Keypair().pubkey()
    extra = f"""\
        - pubkey: {loose}
          owner: {TOKEN_2022}
          data: {{mint: {mint}, owner: NEWBIE_WALLET, amount: "777"}}
        """
    env = make_env(source(fee_mint=str(mint), extra_accounts=extra))
    assert env.state(mint).data_len == 278
    account = env.state(loose)
    assert account.data_len == 178 and account.token is not None
    assert (account.token.mint, account.token.owner, account.token.amount) == (
        str(mint),
        env.a("NEWBIE_WALLET"),
        777,
    )
    assert account.token.withheld_amount == 0
    assert env.state(mint).mint.supply == USER_FEE + FRIEND_FEE + 777


# --------------------------------------------------------------------------- decoding


def test_decoding_matches_the_raw_layout(env: Env) -> None:
    env.send_tokens("FRIEND_WALLET", 123_456_789)
    mint_data = env.data("FEE_MINT")
    assert mint_data[ACCOUNT_TYPE_OFFSET] == 1  # AccountType::Mint
    assert int.from_bytes(mint_data[TLV_START : TLV_START + 2], "little") == TRANSFER_FEE_CONFIG
    assert (
        int.from_bytes(mint_data[TLV_START + 2 : TLV_START + 4], "little")
        == TRANSFER_FEE_CONFIG_LEN
    )
    newer = TLV_START + TLV_HEADER + 32 + 32 + 8 + 18  # after authorities, withheld, older fee
    maximum = int.from_bytes(mint_data[newer + 8 : newer + 16], "little")
    bps = int.from_bytes(mint_data[newer + 16 : newer + 18], "little")
    assert (bps, maximum) == (FEE_BPS, MAX_FEE)
    mint = env.state("FEE_MINT").mint
    assert (mint.transfer_fee_basis_points, mint.transfer_fee_maximum) == (FEE_BPS, MAX_FEE)

    data = env.data("FRIEND_FEE_ATA")
    assert data[ACCOUNT_TYPE_OFFSET] == 2  # AccountType::Account
    entries, offset = {}, TLV_START
    while offset + TLV_HEADER <= len(data):
        kind = int.from_bytes(data[offset : offset + 2], "little")
        length = int.from_bytes(data[offset + 2 : offset + 4], "little")
        entries[kind] = data[offset + TLV_HEADER : offset + TLV_HEADER + length]
        offset += TLV_HEADER + length
    assert set(entries) == {IMMUTABLE_OWNER, TRANSFER_FEE_AMOUNT}
    withheld = int.from_bytes(entries[TRANSFER_FEE_AMOUNT], "little")
    assert withheld == expected_fee(123_456_789) == 1_234_568
    assert env.state("FRIEND_FEE_ATA").token.withheld_amount == withheld
    assert extensions(data) == entries
    assert extensions(env.data("USER_PLAIN_ATA")) == {}


def test_plain_token_2022_ata_has_no_withheld_amount(env: Env) -> None:
    """A 170-byte Token-2022 ATA (ImmutableOwner only) decodes without a withheld amount."""
    result = env.call(
        "create_token_account", {"owner": env.a("NEWBIE_WALLET"), "mint": env.a("PLAIN_MINT")}
    )
    assert env.call("submit_transaction", {})["success"]
    state = env.state(Pubkey.from_string(result["token_account"]))
    assert state.data_len == 170 and state.token is not None
    assert state.token.withheld_amount is None


# --------------------------------------------------------------------------- transfers


@pytest.mark.parametrize(
    "amount",
    [
        1,
        99,
        101,
        10**DECIMALS,
        123_456_789,
        299_999_999,
        300_000_000,
        300_000_001,
        1_500 * 10**DECIMALS,
    ],
)
def test_transfer_delivers_amount_minus_fee(env: Env, amount: int) -> None:
    fee = expected_fee(amount)
    if amount > 300_000_000:
        assert fee == MAX_FEE  # the cap is exercised
    staged = env.send_tokens("FRIEND_WALLET", amount)
    assert staged["transfer_fee_base_units"] == fee
    assert staged["recipient_receives_base_units"] == amount - fee
    assert env.amount("USER_FEE_ATA") == USER_FEE - amount
    assert env.amount("FRIEND_FEE_ATA") == FRIEND_FEE + amount - fee
    assert env.state("FRIEND_FEE_ATA").token.withheld_amount == fee
    assert env.state("USER_FEE_ATA").token.withheld_amount == 0
    assert env.state("FEE_MINT").mint.supply == USER_FEE + FRIEND_FEE
    assert (
        env.chain.get_account(env.addr("USER_WALLET_PUBKEY")).lamports
        == USER_LAMPORTS - LAMPORTS_PER_SIGNATURE
    )


def test_withheld_fees_accumulate_and_new_ata_gets_the_extension(env: Env) -> None:
    env.send_tokens("FRIEND_WALLET", 400 * 10**DECIMALS)  # capped
    env.send_tokens("FRIEND_WALLET", 50 * 10**DECIMALS)  # 0.5 token
    assert env.state("FRIEND_FEE_ATA").token.withheld_amount == MAX_FEE + 500_000
    env.send_tokens("NEWBIE_WALLET", 10 * 10**DECIMALS)  # creates its 182-byte ATA
    ata = get_associated_token_address(
        env.addr("NEWBIE_WALLET"), env.addr("FEE_MINT"), TOKEN_2022_ID
    )
    state = env.state(ata)
    assert state.data_len == 182
    assert (state.token.amount, state.token.withheld_amount) == (
        10 * 10**DECIMALS - 100_000,
        100_000,
    )


def test_transfer_checked_tool_reports_the_fee(env: Env) -> None:
    staged = env.call(
        "transfer_checked",
        {"recipient": env.a("FRIEND_WALLET"), "mint": env.a("FEE_MINT"), "amount": "81.5"},
    )
    assert staged["transfer_fee"] == "0.815" and staged["recipient_receives"] == "80.685"
    assert "recipient receives 80.685" in staged["summary"]
    assert env.call("submit_transaction", {})["success"]
    assert env.amount("FRIEND_FEE_ATA") == FRIEND_FEE + 81_500_000 - 815_000


def test_tools_on_other_mints_add_no_fee_fields(env: Env) -> None:
    staged = env.call(
        "spl_transfer",
        {"recipient": env.a("FRIEND_WALLET"), "mint": env.a("PLAIN_MINT"), "amount": "1"},
    )
    assert not {"transfer_fee", "recipient_receives"} & set(staged)
    balance = env.call("get_balance", {"address": env.a("USER_PLAIN_ATA")})
    assert not {"transfer_fee", "withheld_fees_base_units"} & set(balance)


def test_plain_transfer_is_refused_by_the_program(env: Env) -> None:
    ix = transfer(
        TransferParams(
            program_id=TOKEN_2022_ID,
            source=env.addr("USER_FEE_ATA"),
            dest=env.addr("FRIEND_FEE_ATA"),
            owner=env.addr("USER_WALLET_PUBKEY"),
            amount=1_000,
        )
    )
    result = env.chain.send([ix], env.keys.user, [])
    assert not result.success and MINT_REQUIRED_FOR_TRANSFER in result.error
    assert env.amount("FRIEND_FEE_ATA") == FRIEND_FEE


def test_an_account_with_withheld_fees_cannot_be_closed(env: Env) -> None:
    """Why 041 closes an account with nothing withheld: Token-2022 refuses otherwise."""
    friend = env.keys.keypairs[env.addr("FRIEND_WALLET")]
    env.send_tokens("FRIEND_WALLET", 10**DECIMALS)
    balance = env.amount("FRIEND_FEE_ATA")
    empty = transfer_checked(
        TransferCheckedParams(
            program_id=TOKEN_2022_ID,
            source=env.addr("FRIEND_FEE_ATA"),
            mint=env.addr("FEE_MINT"),
            dest=env.addr("USER_FEE_ATA"),
            owner=friend.pubkey(),
            amount=balance,
            decimals=DECIMALS,
        )
    )
    close = close_account(
        CloseAccountParams(
            program_id=TOKEN_2022_ID,
            account=env.addr("FRIEND_FEE_ATA"),
            dest=friend.pubkey(),
            owner=friend.pubkey(),
        )
    )
    assert env.chain.send([empty], friend, []).success
    assert env.amount("FRIEND_FEE_ATA") == 0
    result = env.chain.send([close], friend, [])
    assert not result.success and ACCOUNT_HAS_WITHHELD_FEES in result.error


# --------------------------------------------------------------------------- queries


def test_queries_show_the_fee_config(env: Env) -> None:
    balance = env.call(
        "get_balance", {"address": env.a("USER_WALLET_PUBKEY"), "mint": env.a("FEE_MINT")}
    )
    assert balance["transfer_fee"]["basis_points"] == FEE_BPS
    assert balance["transfer_fee"]["maximum_fee_base_units"] == MAX_FEE
    assert balance["transfer_fee"]["maximum_fee"] == "3"
    assert balance["withheld_fees_base_units"] == 0
    overview = env.call("get_wallet_overview", {})
    by_mint = {t["mint"]: t for t in overview["token_accounts"]}
    assert by_mint[env.a("FEE_MINT")]["transfer_fee"]["basis_points"] == FEE_BPS
    assert "transfer_fee" not in by_mint[env.a("PLAIN_MINT")]
    assert "transfer_fee" not in by_mint[USDC]
    info = env.call("get_account_info", {"address": env.a("FEE_MINT")})
    assert (
        info["data_len"] == 278
        and info["mint"]["transfer_fee"]["maximum_fee_base_units"] == MAX_FEE
    )
    assert (
        "transfer_fee" not in env.call("get_account_info", {"address": env.a("PLAIN_MINT")})["mint"]
    )
    env.send_tokens("FRIEND_WALLET", 10**DECIMALS)
    friend = env.call("get_token_accounts", {"owner": env.a("FRIEND_WALLET")})["token_accounts"][0]
    assert friend["withheld_fees_base_units"] == expected_fee(10**DECIMALS)


def test_llm_context_mentions_the_fee(env: Env) -> None:
    task = AgentTask(
        benchmark_id="t", step=1, step_count=1, prompt="p", observation=observe(env.chain, env.keys)
    )
    text = context_prompt(task)
    assert f"mint {env.a('FEE_MINT')} (FEE_MINT)" in text
    assert f"transfer fee {FEE_BPS} basis points (at most {MAX_FEE} base units)" in text
    (plain_line,) = [
        line for line in text.splitlines() if line.startswith(f"- mint {env.a('PLAIN_MINT')}")
    ]
    assert "transfer fee" not in plain_line


# --------------------------------------------------------------------------- scoring


def test_token_account_withheld_assertion(env: Env) -> None:
    env.send_tokens("FRIEND_WALLET", 10**DECIMALS)
    fee = expected_fee(10**DECIMALS)
    states = {
        str(env.addr(n)): read_account(env.chain, env.addr(n))
        for n in ("FRIEND_FEE_ATA", "USER_PLAIN_ATA")
    }

    def check(pubkey: str, expected: int):
        assertion = TokenAccountWithheld(
            type="TokenAccountWithheld", pubkey=pubkey, expected=expected
        )
        return evaluate_assertion(assertion, env.keys, {}, states)

    assert check("FRIEND_FEE_ATA", fee).passed
    wrong = check("FRIEND_FEE_ATA", fee + 1)
    assert (
        not wrong.passed
        and wrong.reason == f"withheld transfer fees are {fee} base units, expected {fee + 1}"
    )
    plain = check("USER_PLAIN_ATA", 0)
    assert not plain.passed and "has no transfer-fee extension" in plain.reason
    missing = check("NEWBIE_WALLET", 0)
    assert not missing.passed and "does not exist" in missing.reason


# --------------------------------------------------------------------------- benchmarks


@pytest.mark.parametrize(
    "benchmark_id",
    ["040-token2022-transfer-fee", "041-token2022-close-account", "042-token2022-send-net-amount"],
)
def test_benchmark_reference_scores_one(benchmark_id: str, tmp_path) -> None:
    from reev.agents.deterministic import DeterministicAgent

    result, _ = run(benchmark(benchmark_id), DeterministicAgent(), tmp_path)
    assert result.status == "Completed", result.error
    assert result.passed and result.score == 1.0


@pytest.mark.parametrize(
    ("benchmark_id", "mint", "amount"),
    [
        ("040-token2022-transfer-fee", "ARCADE_TOKEN_MINT", "247.5"),  # sends the net, not 250
        ("040-token2022-transfer-fee", "ARCADE_TOKEN_MINT", "252.525253"),  # grosses up unasked
        ("042-token2022-send-net-amount", "SETTLE_TOKEN_MINT", "80"),  # ignores the fee
        ("042-token2022-send-net-amount", "SETTLE_TOKEN_MINT", "81.6"),  # adds 2%, ignores the cap
        ("042-token2022-send-net-amount", "SETTLE_TOKEN_MINT", "81.632653"),  # divides by 0.98
        ("042-token2022-send-net-amount", "SETTLE_TOKEN_MINT", "81.499999"),  # one base unit short
        ("042-token2022-send-net-amount", "SETTLE_TOKEN_MINT", "81.500001"),  # one too many
    ],
)
def test_near_misses_fail(benchmark_id: str, mint: str, amount: str, tmp_path) -> None:
    recipient = (
        "RECIPIENT_WALLET_PUBKEY" if benchmark_id.startswith("040") else "VENDOR_WALLET_PUBKEY"
    )
    agent = ScriptedAgent(
        [
            [
                (
                    "transfer_checked",
                    {"recipient": f"{{{recipient}}}", "mint": f"{{{mint}}}", "amount": amount},
                ),
                ("submit_transaction", {}),
            ]
        ]
    )
    result, session = run(benchmark(benchmark_id), agent, tmp_path)
    assert result.status == "Completed", result.error
    assert all(t.success for step in session.steps for t in step.transactions)
    assert not result.passed
    failed = {c.name.split(" ")[0] for c in session.final_result.checks if not c.passed}
    assert "TokenAccountWithheld" in failed or "TokenAccountBalance" in failed
