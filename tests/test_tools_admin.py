"""Token administration, account creation, priority fees and the new queries, on a real
LiteSVM chain, for both the SPL Token and the Token-2022 program.

Every expected value is derived from a rule (token units × 10^decimals, 5000 lamports per
signature, rent-exempt minimums from the chain, ceil(price × limit / 10^6) for a priority fee),
never copied from an output.
"""

from __future__ import annotations

import hashlib
import textwrap
from dataclasses import dataclass

import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from spl.token.instructions import get_associated_token_address

from helpers.chain_env import ChainEnv
from reev.chain.accounts import ACCOUNT_LEN, AccountState
from reev.chain.observe import read_account
from reev.spec import parse_benchmark
from reev.tools import TOOLS, ToolContext, call_tool

TOKEN_PROGRAM = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"
TOKEN_2022_PROGRAM = "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb"
PROGRAMS = {"spl-token": TOKEN_PROGRAM, "token-2022": TOKEN_2022_PROGRAM}
SYSTEM_PROGRAM = "11111111111111111111111111111111"
COMPUTE_BUDGET_PROGRAM = "ComputeBudget111111111111111111111111111111"
ATA_PROGRAM = "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL"
USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"  # SPL Token, 6 decimals
PYUSD = "2b1kV6DkPAnxd5ixfnxCpjxmKwqjjaYmCZfHsFu24GXo"  # Token-2022, 6 decimals

LAMPORTS_PER_SIGNATURE = 5_000
LAMPORTS_PER_SOL = 10**9
DECIMALS = 6  # MY_MINT, SECOND_MINT, THEIR_MINT
FIXED_DECIMALS = 2  # FIXED_MINT
USER_LAMPORTS = 3_000_000_000
USER_MY = 100 * 10**DECIMALS
FRIEND_MY = 10 * 10**DECIMALS
USER_THEIR = 5 * 10**DECIMALS
USER_FIXED = 7 * 10**FIXED_DECIMALS
USER_USDC = 1 * 10**6
USER_PYUSD = 2 * 10**6

# SPL Token instruction tags (spl-token `TokenInstruction`, shared by Token-2022).
TRANSFER_CHECKED, APPROVE_CHECKED, MINT_TO_CHECKED, BURN_CHECKED = 12, 13, 14, 15
REVOKE, SET_AUTHORITY, FREEZE, THAW = 5, 6, 10, 11
# Compute Budget instruction tags.
SET_COMPUTE_UNIT_LIMIT, SET_COMPUTE_UNIT_PRICE = 2, 3
# System CreateAccount: u32 instruction index 0.
CREATE_ACCOUNT = 0


def source_for(program: str) -> str:
    owner = PROGRAMS[program]
    return textwrap.dedent(
        f"""
        id: tools-admin-test
        prompt: "Exercise the admin tools."
        mints:
          - {{address: MY_MINT, decimals: {DECIMALS}, program: {program}, mint_authority: USER_WALLET_PUBKEY, freeze_authority: USER_WALLET_PUBKEY}}
          - {{address: SECOND_MINT, decimals: {DECIMALS}, program: {program}, mint_authority: USER_WALLET_PUBKEY, freeze_authority: USER_WALLET_PUBKEY}}
          - {{address: THEIR_MINT, decimals: {DECIMALS}, program: {program}, mint_authority: FRIEND_WALLET, freeze_authority: FRIEND_WALLET}}
          - {{address: FIXED_MINT, decimals: {FIXED_DECIMALS}, program: {program}}}
        initial_state:
          - {{pubkey: USER_WALLET_PUBKEY, owner: "{SYSTEM_PROGRAM}", lamports: {USER_LAMPORTS}}}
          - {{pubkey: FRIEND_WALLET, owner: "{SYSTEM_PROGRAM}", lamports: 1000000000}}
          - {{pubkey: NEWBIE_WALLET, owner: "{SYSTEM_PROGRAM}", lamports: 1000000000}}
          - pubkey: USER_MY_ATA
            owner: {owner}
            data: {{mint: MY_MINT, owner: USER_WALLET_PUBKEY, amount: "{USER_MY}"}}
          - pubkey: FRIEND_MY_ATA
            owner: {owner}
            data: {{mint: MY_MINT, owner: FRIEND_WALLET, amount: "{FRIEND_MY}"}}
          - pubkey: USER_THEIR_ATA
            owner: {owner}
            data: {{mint: THEIR_MINT, owner: USER_WALLET_PUBKEY, amount: "{USER_THEIR}"}}
          - pubkey: USER_FIXED_ATA
            owner: {owner}
            data: {{mint: FIXED_MINT, owner: USER_WALLET_PUBKEY, amount: "{USER_FIXED}"}}
          - pubkey: USER_USDC_ATA
            owner: {TOKEN_PROGRAM}
            data: {{mint: {USDC}, owner: USER_WALLET_PUBKEY, amount: "{USER_USDC}"}}
          - pubkey: USER_PYUSD_ATA
            owner: {TOKEN_2022_PROGRAM}
            data: {{mint: {PYUSD}, owner: USER_WALLET_PUBKEY, amount: "{USER_PYUSD}"}}
        """
    )


@dataclass
class Env(ChainEnv):
    program: str

    @property
    def program_id(self) -> str:
        return PROGRAMS[self.program]

    def state(self, address: Pubkey | str) -> AccountState | None:
        return read_account(self.chain, address)

    def lamports(self, name: str) -> int:
        account = self.chain.get_account(self.addr(name))
        return 0 if account is None else account.lamports

    def amount(self, name_or_address: str | Pubkey) -> int | None:
        address = (
            self.addr(name_or_address) if isinstance(name_or_address, str) else name_or_address
        )
        state = self.state(address)
        return None if state is None or state.token is None else state.token.amount

    def supply(self, mint: str) -> int:
        state = self.state(self.addr(mint))
        assert state is not None and state.mint is not None
        return state.mint.supply

    def ata(self, owner: str, mint: str) -> Pubkey:
        return get_associated_token_address(
            self.addr(owner), self.addr(mint), Pubkey.from_string(self.program_id)
        )

    def call(self, name: str, args):
        return call_tool(self.ctx, name, args)

    def as_wallet(self, name: str) -> ToolContext:
        """A tool context acting for another wallet of the episode (e.g. a delegate)."""
        keypair = self.keys.keypairs[self.addr(name)]
        return ToolContext(chain=self.chain, user=keypair, signers={keypair.pubkey(): keypair})

    def submit(self, ctx: ToolContext | None = None) -> dict:
        outcome = call_tool(ctx or self.ctx, "submit_transaction", {})
        assert outcome.ok, outcome.error
        return outcome.result

    def staged_one(self):
        (staged,) = self.ctx.staged
        return staged.instruction


def make_env(program: str) -> Env:
    loaded = parse_benchmark(source_for(program), "tools-admin-test.yml")
    assert loaded.warnings == []
    return Env.build(loaded.benchmark, all_signers=True, program=program)


@pytest.fixture(params=sorted(PROGRAMS))
def env(request) -> Env:
    return make_env(request.param)


@pytest.fixture
def sys_env() -> Env:
    """For tools that do not depend on the token program."""
    return make_env("spl-token")


def units(amount: str, decimals: int = DECIMALS) -> int:
    """Token units to base units by the rule: shift by the mint's decimals."""
    whole, _, frac = amount.partition(".")
    assert len(frac) <= decimals
    return int(whole) * 10**decimals + int(frac.ljust(decimals, "0") or 0)


def u64(value: int) -> bytes:
    return value.to_bytes(8, "little")


def assert_tool_error(env: Env, outcome, *fragments: str) -> None:
    assert outcome.ok is False
    assert outcome.error_kind == "tool_error", outcome.error
    for fragment in fragments:
        assert fragment in outcome.error, (fragment, outcome.error)
    assert env.ctx.staged == []


def metas(ix) -> list[tuple[Pubkey, bool, bool]]:
    return [(m.pubkey, m.is_signer, m.is_writable) for m in ix.accounts]


# --------------------------------------------------------------------------- registration


NEW_TOOLS = {
    "transfer_checked": "action",
    "approve_delegate": "action",
    "revoke_delegate": "action",
    "burn_tokens": "action",
    "mint_tokens": "action",
    "freeze_token_account": "action",
    "thaw_token_account": "action",
    "set_token_authority": "action",
    "create_account": "action",
    "set_priority_fee": "action",
    "get_token_accounts": "query",
    "get_account_info": "query",
}


def test_new_tools_are_registered_with_their_kind() -> None:
    assert {name: TOOLS[name].kind for name in NEW_TOOLS if name in TOOLS} == NEW_TOOLS


@pytest.mark.parametrize(
    "name", ["transfer_checked", "approve_delegate", "burn_tokens", "mint_tokens"]
)
def test_token_amounts_accept_numbers_and_strings(name: str) -> None:
    prop = TOOLS[name].openai_schema()["function"]["parameters"]["properties"]["amount"]
    types = {p["type"] for p in prop["anyOf"]}
    assert types == {"number", "string"}


def test_set_token_authority_schema_enumerates_the_authority_types() -> None:
    params = TOOLS["set_token_authority"].openai_schema()["function"]["parameters"]
    assert set(params["properties"]["authority_type"]["enum"]) == {
        "mint_tokens",
        "freeze_account",
        "account_owner",
        "close_account",
    }
    # new_authority must be given explicitly, even when it is null (removing is irreversible).
    assert "new_authority" in params["required"]


# --------------------------------------------------------------------------- transfer_checked


def test_transfer_checked_to_an_existing_account(env: Env) -> None:
    amount = units("12.25")
    outcome = env.call(
        "transfer_checked",
        {"recipient": env.a("FRIEND_MY_ATA"), "mint": env.a("MY_MINT"), "amount": "12.25"},
    )
    assert outcome.ok, outcome.error
    ix = env.staged_one()
    assert str(ix.program_id) == env.program_id
    assert bytes(ix.data) == bytes([TRANSFER_CHECKED]) + u64(amount) + bytes([DECIMALS])
    assert metas(ix) == [
        (env.addr("USER_MY_ATA"), False, True),
        (env.addr("MY_MINT"), False, False),
        (env.addr("FRIEND_MY_ATA"), False, True),
        (env.addr("USER_WALLET_PUBKEY"), True, False),
    ]
    result = env.submit()
    assert result["success"], result["error"]
    assert env.amount("USER_MY_ATA") == USER_MY - amount
    assert env.amount("FRIEND_MY_ATA") == FRIEND_MY + amount
    assert env.supply("MY_MINT") == USER_MY + FRIEND_MY  # a transfer neither mints nor burns


def test_transfer_checked_to_a_wallet_resolves_its_token_account(env: Env) -> None:
    outcome = env.call(
        "transfer_checked",
        {"recipient": env.a("FRIEND_WALLET"), "mint": env.a("MY_MINT"), "amount": 1},
    )
    assert outcome.ok, outcome.error
    assert outcome.result["instructions_added"] == 1  # the friend's account exists
    assert env.submit()["success"]
    assert env.amount("FRIEND_MY_ATA") == FRIEND_MY + units("1")


def test_transfer_checked_creates_a_missing_associated_account(env: Env) -> None:
    ata = env.ata("NEWBIE_WALLET", "MY_MINT")
    assert env.chain.get_account(ata) is None
    outcome = env.call(
        "transfer_checked",
        {"recipient": env.a("NEWBIE_WALLET"), "mint": env.a("MY_MINT"), "amount": "3"},
    )
    assert outcome.ok, outcome.error
    create, transfer = [s.instruction for s in env.ctx.staged]
    assert str(create.program_id) == ATA_PROGRAM
    assert bytes(create.data) == bytes([1])  # CreateIdempotent
    assert bytes(transfer.data)[0] == TRANSFER_CHECKED
    before = env.lamports("USER_WALLET_PUBKEY")
    assert env.submit()["success"]
    state = env.state(ata)
    assert state is not None and state.token is not None
    assert state.owner == env.program_id
    assert state.token.owner == env.a("NEWBIE_WALLET")
    assert state.token.amount == units("3")
    # Token-2022 associated accounts carry the ImmutableOwner extension: 165 + 1 + 4 bytes.
    size = ACCOUNT_LEN if env.program == "spl-token" else ACCOUNT_LEN + 1 + 4
    assert state.data_len == size
    rent = env.chain.rent_exempt_minimum(size)
    assert env.lamports("USER_WALLET_PUBKEY") == before - LAMPORTS_PER_SIGNATURE - rent


def test_transfer_checked_from_an_account_of_another_mint_is_refused(env: Env) -> None:
    outcome = env.call(
        "transfer_checked",
        {
            "recipient": env.a("FRIEND_MY_ATA"),
            "mint": env.a("MY_MINT"),
            "amount": "1",
            "source": env.a("USER_THEIR_ATA"),
        },
    )
    assert_tool_error(env, outcome, "source", env.a("THEIR_MINT"), env.a("MY_MINT"))


def test_transfer_checked_to_an_account_of_another_mint_is_refused(env: Env) -> None:
    outcome = env.call(
        "transfer_checked",
        {"recipient": env.a("USER_THEIR_ATA"), "mint": env.a("MY_MINT"), "amount": "1"},
    )
    assert_tool_error(env, outcome, "recipient", "holds mint")


def test_transfer_checked_to_a_mint_is_refused(env: Env) -> None:
    outcome = env.call(
        "transfer_checked",
        {"recipient": env.a("SECOND_MINT"), "mint": env.a("MY_MINT"), "amount": "1"},
    )
    assert_tool_error(env, outcome, "recipient", "is a token mint")


def test_transfer_checked_from_someone_elses_account_is_refused(env: Env) -> None:
    outcome = env.call(
        "transfer_checked",
        {
            "recipient": env.a("USER_WALLET_PUBKEY"),
            "mint": env.a("MY_MINT"),
            "amount": "1",
            "source": env.a("FRIEND_MY_ATA"),
        },
    )
    assert_tool_error(env, outcome, "source", env.a("FRIEND_WALLET"), "not its delegate")


def test_transfer_checked_with_too_many_decimals_is_refused(env: Env) -> None:
    outcome = env.call(
        "transfer_checked",
        {"recipient": env.a("FRIEND_MY_ATA"), "mint": env.a("MY_MINT"), "amount": "0.0000001"},
    )
    assert_tool_error(env, outcome, "decimal places", str(DECIMALS))


def test_transfer_checked_with_a_mint_that_is_not_a_mint_is_refused(env: Env) -> None:
    outcome = env.call(
        "transfer_checked",
        {"recipient": env.a("FRIEND_WALLET"), "mint": env.a("USER_MY_ATA"), "amount": "1"},
    )
    assert_tool_error(env, outcome, "mint", "is a token account")


def test_transfer_checked_beyond_the_balance_fails_on_chain_and_changes_nothing(env: Env) -> None:
    over = USER_MY + 1
    outcome = env.call(
        "transfer_checked",
        {"recipient": env.a("FRIEND_MY_ATA"), "mint": env.a("MY_MINT"), "amount": "100.000001"},
    )
    assert outcome.ok, outcome.error
    assert bytes(env.staged_one().data)[1:9] == u64(over)
    result = env.submit()
    assert result["success"] is False
    assert "insufficient funds" in result["error"]
    assert env.amount("USER_MY_ATA") == USER_MY
    assert env.amount("FRIEND_MY_ATA") == FRIEND_MY


# --------------------------------------------------------------------------- delegates


def test_approve_delegate_sets_delegate_and_allowance(env: Env) -> None:
    allowance = units("25.5")
    outcome = env.call(
        "approve_delegate",
        {"delegate": env.a("FRIEND_WALLET"), "mint": env.a("MY_MINT"), "amount": "25.5"},
    )
    assert outcome.ok, outcome.error
    ix = env.staged_one()
    assert str(ix.program_id) == env.program_id
    assert bytes(ix.data) == bytes([APPROVE_CHECKED]) + u64(allowance) + bytes([DECIMALS])
    assert metas(ix) == [
        (env.addr("USER_MY_ATA"), False, True),
        (env.addr("MY_MINT"), False, False),
        (env.addr("FRIEND_WALLET"), False, False),
        (env.addr("USER_WALLET_PUBKEY"), True, False),
    ]
    assert env.submit()["success"]
    token = env.state(env.addr("USER_MY_ATA")).token
    assert token.delegate == env.a("FRIEND_WALLET")
    assert token.delegated_amount == allowance
    assert token.amount == USER_MY  # approving moves nothing


def test_a_delegate_can_spend_up_to_the_allowance_and_no_more(env: Env) -> None:
    assert env.call(
        "approve_delegate",
        {"delegate": env.a("FRIEND_WALLET"), "mint": env.a("MY_MINT"), "amount": "10"},
    ).ok
    assert env.submit()["success"]

    friend = env.as_wallet("FRIEND_WALLET")
    spend = {
        "recipient": env.a("FRIEND_MY_ATA"),
        "mint": env.a("MY_MINT"),
        "amount": "4",
        "source": env.a("USER_MY_ATA"),
    }
    assert call_tool(friend, "transfer_checked", spend).ok
    assert env.submit(friend)["success"]
    assert env.amount("USER_MY_ATA") == USER_MY - units("4")
    assert env.amount("FRIEND_MY_ATA") == FRIEND_MY + units("4")
    assert env.state(env.addr("USER_MY_ATA")).token.delegated_amount == units("10") - units("4")

    # 6 left of the allowance: 6.000001 is refused by the program.
    assert call_tool(friend, "transfer_checked", {**spend, "amount": "6.000001"}).ok
    result = env.submit(friend)
    assert result["success"] is False
    assert env.amount("USER_MY_ATA") == USER_MY - units("4")


def test_approve_replaces_the_previous_delegate(env: Env) -> None:
    mint = env.a("MY_MINT")
    assert env.call(
        "approve_delegate", {"delegate": env.a("FRIEND_WALLET"), "mint": mint, "amount": "1"}
    ).ok
    assert env.submit()["success"]
    assert env.call(
        "approve_delegate", {"delegate": env.a("NEWBIE_WALLET"), "mint": mint, "amount": "2"}
    ).ok
    assert env.submit()["success"]
    token = env.state(env.addr("USER_MY_ATA")).token
    assert (token.delegate, token.delegated_amount) == (env.a("NEWBIE_WALLET"), units("2"))


def test_approve_on_someone_elses_account_is_refused(env: Env) -> None:
    outcome = env.call(
        "approve_delegate",
        {
            "token_account": env.a("FRIEND_MY_ATA"),
            "delegate": env.a("NEWBIE_WALLET"),
            "mint": env.a("MY_MINT"),
            "amount": "1",
        },
    )
    assert_tool_error(env, outcome, "token_account", env.a("FRIEND_WALLET"), "only its owner")


def test_approve_on_an_account_of_another_mint_is_refused(env: Env) -> None:
    outcome = env.call(
        "approve_delegate",
        {
            "token_account": env.a("USER_THEIR_ATA"),
            "delegate": env.a("FRIEND_WALLET"),
            "mint": env.a("MY_MINT"),
            "amount": "1",
        },
    )
    assert_tool_error(env, outcome, "token_account", "holds mint")


def test_approve_without_a_token_account_for_the_mint_is_refused(env: Env) -> None:
    outcome = env.call(
        "approve_delegate",
        {"delegate": env.a("FRIEND_WALLET"), "mint": env.a("SECOND_MINT"), "amount": "1"},
    )
    assert_tool_error(env, outcome, "token_account", "no token account", env.a("SECOND_MINT"))


def test_approve_with_too_many_decimals_or_to_yourself_is_refused(env: Env) -> None:
    mint = env.a("MY_MINT")
    outcome = env.call(
        "approve_delegate",
        {"delegate": env.a("FRIEND_WALLET"), "mint": mint, "amount": "1.1234567"},
    )
    assert_tool_error(env, outcome, "decimal places")
    outcome = env.call(
        "approve_delegate", {"delegate": env.a("USER_WALLET_PUBKEY"), "mint": mint, "amount": "1"}
    )
    assert_tool_error(env, outcome, "delegate", "your own wallet")


def test_revoke_delegate_removes_delegate_and_allowance(env: Env) -> None:
    mint = env.a("MY_MINT")
    assert env.call(
        "approve_delegate", {"delegate": env.a("FRIEND_WALLET"), "mint": mint, "amount": "9"}
    ).ok
    assert env.submit()["success"]

    outcome = env.call("revoke_delegate", {"mint": mint})
    assert outcome.ok, outcome.error
    ix = env.staged_one()
    assert str(ix.program_id) == env.program_id
    assert bytes(ix.data) == bytes([REVOKE])
    assert metas(ix) == [
        (env.addr("USER_MY_ATA"), False, True),
        (env.addr("USER_WALLET_PUBKEY"), True, False),
    ]
    assert env.submit()["success"]
    token = env.state(env.addr("USER_MY_ATA")).token
    assert (token.delegate, token.delegated_amount) == (None, 0)

    # The former delegate can no longer spend.
    friend = env.as_wallet("FRIEND_WALLET")
    spend = {
        "recipient": env.a("FRIEND_MY_ATA"),
        "mint": mint,
        "amount": "1",
        "source": env.a("USER_MY_ATA"),
    }
    assert_tool_error(env, call_tool(friend, "transfer_checked", spend), "not its delegate")


def test_revoke_without_a_delegate_is_refused(env: Env) -> None:
    outcome = env.call("revoke_delegate", {"mint": env.a("MY_MINT")})
    assert_tool_error(env, outcome, "no delegate")


def test_revoke_after_a_staged_approve_is_allowed(env: Env) -> None:
    mint = env.a("MY_MINT")
    assert env.call(
        "approve_delegate", {"delegate": env.a("FRIEND_WALLET"), "mint": mint, "amount": "1"}
    ).ok
    assert env.call("revoke_delegate", {"mint": mint}).ok
    assert env.submit()["success"]
    assert env.state(env.addr("USER_MY_ATA")).token.delegate is None


def test_revoke_on_someone_elses_account_is_refused(env: Env) -> None:
    outcome = env.call(
        "revoke_delegate", {"token_account": env.a("FRIEND_MY_ATA"), "mint": env.a("MY_MINT")}
    )
    assert_tool_error(env, outcome, "only its owner")


# --------------------------------------------------------------------------- burn / mint


def test_burn_reduces_balance_and_supply(env: Env) -> None:
    amount = units("12.5")
    outcome = env.call("burn_tokens", {"mint": env.a("MY_MINT"), "amount": "12.5"})
    assert outcome.ok, outcome.error
    ix = env.staged_one()
    assert str(ix.program_id) == env.program_id
    assert bytes(ix.data) == bytes([BURN_CHECKED]) + u64(amount) + bytes([DECIMALS])
    assert metas(ix) == [
        (env.addr("USER_MY_ATA"), False, True),
        (env.addr("MY_MINT"), False, True),
        (env.addr("USER_WALLET_PUBKEY"), True, False),
    ]
    assert env.submit()["success"]
    assert env.amount("USER_MY_ATA") == USER_MY - amount
    assert env.supply("MY_MINT") == USER_MY + FRIEND_MY - amount


def test_burn_of_a_mint_without_authority_works(env: Env) -> None:
    """Burning needs only the account owner, not the mint authority (FIXED_MINT has none)."""
    assert env.call("burn_tokens", {"mint": env.a("FIXED_MINT"), "amount": "0.07"}).ok
    assert env.submit()["success"]
    assert env.amount("USER_FIXED_ATA") == USER_FIXED - units("0.07", FIXED_DECIMALS)
    assert env.supply("FIXED_MINT") == USER_FIXED - units("0.07", FIXED_DECIMALS)


def test_burn_more_than_held_fails_on_chain(env: Env) -> None:
    assert env.call("burn_tokens", {"mint": env.a("MY_MINT"), "amount": "100.000001"}).ok
    result = env.submit()
    assert result["success"] is False
    assert "insufficient funds" in result["error"]
    assert env.amount("USER_MY_ATA") == USER_MY
    assert env.supply("MY_MINT") == USER_MY + FRIEND_MY


def test_burn_errors(env: Env) -> None:
    outcome = env.call(
        "burn_tokens",
        {"mint": env.a("MY_MINT"), "amount": "1", "token_account": env.a("FRIEND_MY_ATA")},
    )
    assert_tool_error(env, outcome, "not its delegate")
    outcome = env.call("burn_tokens", {"mint": env.a("FIXED_MINT"), "amount": "0.001"})
    assert_tool_error(env, outcome, "more than 2 decimal places")
    outcome = env.call(
        "burn_tokens",
        {"mint": env.a("MY_MINT"), "amount": "1", "token_account": env.a("USER_THEIR_ATA")},
    )
    assert_tool_error(env, outcome, "holds mint")


def test_mint_to_your_own_wallet(env: Env) -> None:
    amount = units("1000")
    outcome = env.call(
        "mint_tokens",
        {"mint": env.a("MY_MINT"), "amount": "1000", "recipient": env.a("USER_WALLET_PUBKEY")},
    )
    assert outcome.ok, outcome.error
    ix = env.staged_one()
    assert str(ix.program_id) == env.program_id
    assert bytes(ix.data) == bytes([MINT_TO_CHECKED]) + u64(amount) + bytes([DECIMALS])
    assert metas(ix) == [
        (env.addr("MY_MINT"), False, True),
        (env.addr("USER_MY_ATA"), False, True),
        (env.addr("USER_WALLET_PUBKEY"), True, False),
    ]
    assert env.submit()["success"]
    assert env.amount("USER_MY_ATA") == USER_MY + amount
    assert env.supply("MY_MINT") == USER_MY + FRIEND_MY + amount


def test_mint_to_a_wallet_without_a_token_account_creates_it(env: Env) -> None:
    ata = env.ata("NEWBIE_WALLET", "MY_MINT")
    outcome = env.call(
        "mint_tokens",
        {"mint": env.a("MY_MINT"), "amount": "0.5", "recipient": env.a("NEWBIE_WALLET")},
    )
    assert outcome.ok, outcome.error
    assert [str(s.instruction.program_id) for s in env.ctx.staged] == [ATA_PROGRAM, env.program_id]
    before = env.lamports("USER_WALLET_PUBKEY")
    assert env.submit()["success"]
    assert env.amount(ata) == units("0.5")
    assert env.state(ata).token.owner == env.a("NEWBIE_WALLET")
    rent = env.chain.rent_exempt_minimum(env.state(ata).data_len)
    assert env.lamports("USER_WALLET_PUBKEY") == before - LAMPORTS_PER_SIGNATURE - rent
    assert env.lamports("NEWBIE_WALLET") == 1_000_000_000  # the user paid the rent


def test_mint_to_an_existing_token_account(env: Env) -> None:
    outcome = env.call(
        "mint_tokens",
        {"mint": env.a("MY_MINT"), "amount": "2", "recipient": env.a("FRIEND_MY_ATA")},
    )
    assert outcome.ok, outcome.error
    assert env.submit()["success"]
    assert env.amount("FRIEND_MY_ATA") == FRIEND_MY + units("2")


def test_mint_when_not_the_mint_authority_is_refused(env: Env) -> None:
    outcome = env.call(
        "mint_tokens",
        {"mint": env.a("THEIR_MINT"), "amount": "1", "recipient": env.a("USER_WALLET_PUBKEY")},
    )
    assert_tool_error(env, outcome, "not the mint authority", env.a("FRIEND_WALLET"))


def test_mint_of_a_fixed_supply_mint_is_refused(env: Env) -> None:
    outcome = env.call(
        "mint_tokens",
        {"mint": env.a("FIXED_MINT"), "amount": "1", "recipient": env.a("USER_WALLET_PUBKEY")},
    )
    assert_tool_error(env, outcome, "no mint authority")


def test_mint_errors(env: Env) -> None:
    mint = env.a("MY_MINT")
    outcome = env.call(
        "mint_tokens", {"mint": mint, "amount": "1.0000001", "recipient": env.a("FRIEND_WALLET")}
    )
    assert_tool_error(env, outcome, "decimal places")
    outcome = env.call(
        "mint_tokens", {"mint": mint, "amount": "1", "recipient": env.a("SECOND_MINT")}
    )
    assert_tool_error(env, outcome, "recipient", "is a token mint")
    outcome = env.call(
        "mint_tokens", {"mint": mint, "amount": "1", "recipient": env.a("USER_THEIR_ATA")}
    )
    assert_tool_error(env, outcome, "recipient", "holds mint")
    outcome = env.call("mint_tokens", {"mint": mint, "amount": "1", "recipient": env.program_id})
    assert_tool_error(env, outcome, "recipient", "is a program")


# --------------------------------------------------------------------------- freeze / thaw


def test_freeze_then_thaw(env: Env) -> None:
    friend_ata = env.addr("FRIEND_MY_ATA")
    outcome = env.call(
        "freeze_token_account", {"token_account": str(friend_ata), "mint": env.a("MY_MINT")}
    )
    assert outcome.ok, outcome.error
    ix = env.staged_one()
    assert str(ix.program_id) == env.program_id
    assert bytes(ix.data) == bytes([FREEZE])
    assert metas(ix) == [
        (friend_ata, False, True),
        (env.addr("MY_MINT"), False, False),
        (env.addr("USER_WALLET_PUBKEY"), True, False),
    ]
    assert env.submit()["success"]
    assert env.state(friend_ata).token.state == "frozen"

    # A frozen account cannot send.
    friend = env.as_wallet("FRIEND_WALLET")
    send = {"recipient": env.a("USER_WALLET_PUBKEY"), "mint": env.a("MY_MINT"), "amount": "1"}
    assert call_tool(friend, "transfer_checked", send).ok
    result = env.submit(friend)
    assert result["success"] is False
    assert "frozen" in result["error"]
    assert env.amount(friend_ata) == FRIEND_MY

    outcome = env.call(
        "thaw_token_account", {"token_account": str(friend_ata), "mint": env.a("MY_MINT")}
    )
    assert outcome.ok, outcome.error
    assert bytes(env.staged_one().data) == bytes([THAW])
    assert env.submit()["success"]
    assert env.state(friend_ata).token.state == "initialized"

    assert call_tool(friend, "transfer_checked", send).ok
    assert env.submit(friend)["success"]
    assert env.amount(friend_ata) == FRIEND_MY - units("1")


def test_freeze_by_wallet_address_uses_its_associated_account(env: Env) -> None:
    outcome = env.call(
        "freeze_token_account", {"token_account": env.a("FRIEND_WALLET"), "mint": env.a("MY_MINT")}
    )
    assert outcome.ok, outcome.error
    assert env.staged_one().accounts[0].pubkey == env.addr("FRIEND_MY_ATA")
    assert env.submit()["success"]
    assert env.state(env.addr("FRIEND_MY_ATA")).token.state == "frozen"


def test_freeze_twice_and_thaw_an_unfrozen_account_are_refused(env: Env) -> None:
    args = {"token_account": env.a("FRIEND_MY_ATA"), "mint": env.a("MY_MINT")}
    assert_tool_error(env, env.call("thaw_token_account", args), "already thawed")
    assert env.call("freeze_token_account", args).ok
    assert env.submit()["success"]
    assert_tool_error(env, env.call("freeze_token_account", args), "already frozen")


def test_freeze_when_not_the_freeze_authority_is_refused(env: Env) -> None:
    args = {"token_account": env.a("USER_THEIR_ATA"), "mint": env.a("THEIR_MINT")}
    assert_tool_error(
        env,
        env.call("freeze_token_account", args),
        "not the freeze authority",
        env.a("FRIEND_WALLET"),
    )
    assert_tool_error(env, env.call("thaw_token_account", args), "not the freeze authority")


def test_freeze_of_a_mint_without_freeze_authority_is_refused(env: Env) -> None:
    args = {"token_account": env.a("USER_FIXED_ATA"), "mint": env.a("FIXED_MINT")}
    assert_tool_error(env, env.call("freeze_token_account", args), "no freeze authority")


def test_freeze_with_the_wrong_mint_is_refused(env: Env) -> None:
    args = {"token_account": env.a("FRIEND_MY_ATA"), "mint": env.a("SECOND_MINT")}
    assert_tool_error(env, env.call("freeze_token_account", args), "holds mint", env.a("MY_MINT"))


def test_freeze_of_a_mint_address_is_refused(env: Env) -> None:
    args = {"token_account": env.a("MY_MINT"), "mint": env.a("MY_MINT")}
    assert_tool_error(
        env, env.call("freeze_token_account", args), "is a token mint, not a token account"
    )


# --------------------------------------------------------------------------- set_token_authority


def test_transfer_the_mint_authority(env: Env) -> None:
    mint = env.addr("MY_MINT")
    outcome = env.call(
        "set_token_authority",
        {
            "target": str(mint),
            "authority_type": "mint_tokens",
            "new_authority": env.a("FRIEND_WALLET"),
        },
    )
    assert outcome.ok, outcome.error
    ix = env.staged_one()
    assert str(ix.program_id) == env.program_id
    # SetAuthority: tag 6, authority type 0 (MintTokens), COption<Pubkey> = 1 ++ 32 bytes.
    assert bytes(ix.data) == bytes([SET_AUTHORITY, 0, 1]) + bytes(env.addr("FRIEND_WALLET"))
    assert metas(ix) == [(mint, False, True), (env.addr("USER_WALLET_PUBKEY"), True, False)]
    assert env.submit()["success"]
    info = env.state(mint).mint
    assert info.mint_authority == env.a("FRIEND_WALLET")
    assert info.freeze_authority == env.a("USER_WALLET_PUBKEY")  # untouched

    # The user can no longer mint; the friend can.
    args = {"mint": str(mint), "amount": "1", "recipient": env.a("FRIEND_WALLET")}
    assert_tool_error(env, env.call("mint_tokens", args), "not the mint authority")
    friend = env.as_wallet("FRIEND_WALLET")
    assert call_tool(friend, "mint_tokens", args).ok
    assert env.submit(friend)["success"]
    assert env.supply("MY_MINT") == USER_MY + FRIEND_MY + units("1")


def test_remove_the_freeze_authority(env: Env) -> None:
    mint = env.addr("MY_MINT")
    outcome = env.call(
        "set_token_authority",
        {"target": str(mint), "authority_type": "freeze_account", "new_authority": None},
    )
    assert outcome.ok, outcome.error
    # FreezeAccount is authority type 1; COption::None is a single 0 tag.
    assert bytes(env.staged_one().data)[:3] == bytes([SET_AUTHORITY, 1, 0])
    assert env.submit()["success"]
    info = env.state(mint).mint
    assert info.freeze_authority is None
    assert info.mint_authority == env.a("USER_WALLET_PUBKEY")
    args = {"token_account": env.a("FRIEND_MY_ATA"), "mint": str(mint)}
    assert_tool_error(env, env.call("freeze_token_account", args), "no freeze authority")
    # A removed authority cannot be set again.
    outcome = env.call(
        "set_token_authority",
        {
            "target": str(mint),
            "authority_type": "freeze_account",
            "new_authority": env.a("FRIEND_WALLET"),
        },
    )
    assert_tool_error(env, outcome, "never be set again")


def test_remove_the_mint_authority_fixes_the_supply(env: Env) -> None:
    mint = env.a("MY_MINT")
    assert env.call(
        "set_token_authority",
        {"target": mint, "authority_type": "mint_tokens", "new_authority": None},
    ).ok
    assert env.submit()["success"]
    assert env.state(env.addr("MY_MINT")).mint.mint_authority is None
    args = {"mint": mint, "amount": "1", "recipient": env.a("USER_WALLET_PUBKEY")}
    assert_tool_error(env, env.call("mint_tokens", args), "no mint authority")


def test_change_the_owner_of_a_token_account(env: Env) -> None:
    account = env.addr("USER_MY_ATA")
    outcome = env.call(
        "set_token_authority",
        {
            "target": str(account),
            "authority_type": "account_owner",
            "new_authority": env.a("FRIEND_WALLET"),
        },
    )
    assert outcome.ok, outcome.error
    assert bytes(env.staged_one().data) == bytes([SET_AUTHORITY, 2, 1]) + bytes(
        env.addr("FRIEND_WALLET")
    )
    assert env.submit()["success"]
    token = env.state(account).token
    assert token.owner == env.a("FRIEND_WALLET")
    assert token.amount == USER_MY
    # Now it is the friend's: the user cannot burn from it any more.
    outcome = env.call(
        "burn_tokens", {"mint": env.a("MY_MINT"), "amount": "1", "token_account": str(account)}
    )
    assert_tool_error(env, outcome, "not its delegate")


def test_set_the_close_authority_of_a_token_account(env: Env) -> None:
    account = env.addr("USER_MY_ATA")
    outcome = env.call(
        "set_token_authority",
        {
            "target": str(account),
            "authority_type": "close_account",
            "new_authority": env.a("NEWBIE_WALLET"),
        },
    )
    assert outcome.ok, outcome.error
    assert bytes(env.staged_one().data) == bytes([SET_AUTHORITY, 3, 1]) + bytes(
        env.addr("NEWBIE_WALLET")
    )
    assert env.submit()["success"]
    token = env.state(account).token
    assert token.close_authority == env.a("NEWBIE_WALLET")
    assert token.owner == env.a("USER_WALLET_PUBKEY")
    # The user no longer holds the close authority.
    outcome = env.call(
        "set_token_authority",
        {"target": str(account), "authority_type": "close_account", "new_authority": None},
    )
    assert_tool_error(env, outcome, "close_account authority", env.a("NEWBIE_WALLET"))


def test_owner_of_an_associated_account_with_immutable_owner(env: Env) -> None:
    """Token-2022 associated token accounts have an immutable owner; SPL Token ones do not."""
    assert env.call(
        "create_token_account", {"owner": env.a("USER_WALLET_PUBKEY"), "mint": env.a("SECOND_MINT")}
    ).ok
    assert env.submit()["success"]
    ata = env.ata("USER_WALLET_PUBKEY", "SECOND_MINT")
    args = {
        "target": str(ata),
        "authority_type": "account_owner",
        "new_authority": env.a("FRIEND_WALLET"),
    }
    outcome = env.call("set_token_authority", args)
    if env.program == "token-2022":
        assert_tool_error(env, outcome, "immutable owner")
    else:
        assert outcome.ok, outcome.error
        assert env.submit()["success"]
        assert env.state(ata).token.owner == env.a("FRIEND_WALLET")


def test_set_token_authority_errors(env: Env) -> None:
    mint, account = env.a("MY_MINT"), env.a("USER_MY_ATA")
    friend = env.a("FRIEND_WALLET")
    cases = [
        ({"target": mint, "authority_type": "account_owner", "new_authority": friend}, "is a mint"),
        (
            {"target": account, "authority_type": "mint_tokens", "new_authority": friend},
            "is a token account",
        ),
        (
            {"target": account, "authority_type": "account_owner", "new_authority": None},
            "always has an owner",
        ),
        (
            {"target": env.a("THEIR_MINT"), "authority_type": "mint_tokens", "new_authority": None},
            "not your wallet",
        ),
        (
            {
                "target": env.a("FRIEND_MY_ATA"),
                "authority_type": "account_owner",
                "new_authority": friend,
            },
            "not your wallet",
        ),
        (
            {
                "target": env.a("FIXED_MINT"),
                "authority_type": "mint_tokens",
                "new_authority": friend,
            },
            "no mint_tokens authority",
        ),
        (
            {
                "target": mint,
                "authority_type": "mint_tokens",
                "new_authority": env.a("USER_WALLET_PUBKEY"),
            },
            "already is",
        ),
        (
            {
                "target": env.a("NEWBIE_WALLET"),
                "authority_type": "mint_tokens",
                "new_authority": friend,
            },
            "neither a token mint nor a token account",
        ),
        (
            {"target": mint, "authority_type": "mint_tokens", "new_authority": "not-an-address"},
            "new_authority",
        ),
    ]
    for args, fragment in cases:
        assert_tool_error(env, env.call("set_token_authority", args), fragment)


def test_set_token_authority_requires_new_authority_and_a_known_type(env: Env) -> None:
    outcome = env.call(
        "set_token_authority", {"target": env.a("MY_MINT"), "authority_type": "mint_tokens"}
    )
    assert outcome.ok is False and outcome.error_kind == "invalid_arguments"
    assert "new_authority" in outcome.error
    outcome = env.call(
        "set_token_authority",
        {"target": env.a("MY_MINT"), "authority_type": "owner", "new_authority": None},
    )
    assert outcome.ok is False and outcome.error_kind == "invalid_arguments"


# --------------------------------------------------------------------------- create_account


def expected_new_account(wallet: Pubkey, index: int) -> Pubkey:
    seed = hashlib.sha256(f"reev/new-account/{wallet}/{index}".encode()).digest()
    return Keypair.from_seed(seed).pubkey()


def test_create_a_plain_account(sys_env: Env) -> None:
    env = sys_env
    user = env.addr("USER_WALLET_PUBKEY")
    outcome = env.call("create_account", {"lamports_sol": "0.5"})
    assert outcome.ok, outcome.error
    new = Pubkey.from_string(outcome.result["new_account"])
    assert new == expected_new_account(user, 0)
    ix = env.staged_one()
    assert str(ix.program_id) == SYSTEM_PROGRAM
    lamports = LAMPORTS_PER_SOL // 2
    # CreateAccount: u32 0, u64 lamports, u64 space, owner pubkey.
    assert bytes(ix.data) == (CREATE_ACCOUNT).to_bytes(4, "little") + u64(lamports) + u64(
        0
    ) + bytes(Pubkey.from_string(SYSTEM_PROGRAM))
    assert metas(ix) == [(user, True, True), (new, True, True)]

    before = env.lamports("USER_WALLET_PUBKEY")
    result = env.submit()
    assert result["success"], result["error"]
    # Two signatures: the payer and the new account.
    assert result["fee_lamports"] == 2 * LAMPORTS_PER_SIGNATURE
    assert env.lamports("USER_WALLET_PUBKEY") == before - lamports - 2 * LAMPORTS_PER_SIGNATURE
    state = env.state(new)
    assert state is not None
    assert (state.lamports, state.owner, state.data_len, state.executable) == (
        lamports,
        SYSTEM_PROGRAM,
        0,
        False,
    )


def test_create_an_account_with_space_and_a_program_owner(env: Env) -> None:
    space = 165
    outcome = env.call(
        "create_account", {"lamports_sol": "0.01", "space": space, "owner": env.program_id}
    )
    assert outcome.ok, outcome.error
    new = Pubkey.from_string(outcome.result["new_account"])
    assert env.submit()["success"]
    state = env.state(new)
    assert (state.lamports, state.owner, state.data_len) == (
        LAMPORTS_PER_SOL // 100,
        env.program_id,
        space,
    )
    assert state.token is not None and state.token.state == "uninitialized"  # zeroed data


def test_created_addresses_are_deterministic_and_distinct(sys_env: Env) -> None:
    user = sys_env.addr("USER_WALLET_PUBKEY")
    first = sys_env.call("create_account", {"lamports_sol": "0.1"}).result["new_account"]
    second = sys_env.call("create_account", {"lamports_sol": "0.1"}).result["new_account"]
    assert first != second
    assert [first, second] == [str(expected_new_account(user, i)) for i in (0, 1)]
    # A fresh episode derives the same first address.
    again = make_env("spl-token")
    assert again.call("create_account", {"lamports_sol": "0.1"}).result["new_account"] == first
    # Both new accounts sign: three signatures in one transaction.
    before = sys_env.lamports("USER_WALLET_PUBKEY")
    result = sys_env.submit()
    assert result["success"], result["error"]
    assert result["fee_lamports"] == 3 * LAMPORTS_PER_SIGNATURE
    assert (
        sys_env.lamports("USER_WALLET_PUBKEY")
        == before - 2 * LAMPORTS_PER_SOL // 10 - 3 * LAMPORTS_PER_SIGNATURE
    )
    assert sys_env.ctx.created_accounts == 2


def test_an_existing_derived_address_is_skipped(sys_env: Env) -> None:
    env = sys_env
    user = env.addr("USER_WALLET_PUBKEY")
    assert env.call("create_account", {"lamports_sol": "0.1"}).ok
    assert env.submit()["success"]
    env.ctx.created_accounts = 0  # as if the counter had been lost
    outcome = env.call("create_account", {"lamports_sol": "0.1"})
    assert outcome.result["new_account"] == str(expected_new_account(user, 1))


def test_create_account_below_rent_exemption_is_refused(sys_env: Env) -> None:
    env = sys_env
    rent0 = env.chain.rent_exempt_minimum(0)
    too_little = f"0.{rent0 - 1:09d}"  # one lamport short
    assert_tool_error(
        env, env.call("create_account", {"lamports_sol": too_little}), "rent-exempt", str(rent0)
    )
    rent200 = env.chain.rent_exempt_minimum(200)
    outcome = env.call("create_account", {"lamports_sol": f"0.{rent0:09d}", "space": 200})
    assert_tool_error(env, outcome, "200 bytes", str(rent200))
    # Exactly the minimum is enough.
    outcome = env.call("create_account", {"lamports_sol": f"0.{rent0:09d}"})
    assert outcome.ok, outcome.error
    assert env.submit()["success"]
    assert env.state(Pubkey.from_string(outcome.result["new_account"])).lamports == rent0


def test_create_account_errors(sys_env: Env) -> None:
    env = sys_env
    outcome = env.call("create_account", {"lamports_sol": "0.1", "owner": env.a("FRIEND_WALLET")})
    assert_tool_error(env, outcome, "owner", "not a program")
    outcome = env.call("create_account", {"lamports_sol": "0.0000000001"})
    assert_tool_error(env, outcome, "decimal places")
    outcome = env.call("create_account", {"lamports_sol": "0"})
    assert_tool_error(env, outcome, "greater than zero")
    outcome = env.call("create_account", {"lamports_sol": "1", "space": -1})
    assert outcome.ok is False and outcome.error_kind == "invalid_arguments"
    assert env.ctx.created_accounts == 0  # refused calls derive no key


def test_create_account_without_enough_sol_fails_on_chain(sys_env: Env) -> None:
    env = sys_env
    outcome = env.call("create_account", {"lamports_sol": "5"})  # the user holds 3 SOL
    assert outcome.ok, outcome.error
    new = Pubkey.from_string(outcome.result["new_account"])
    result = env.submit()
    assert result["success"] is False
    assert env.state(new) is None


# --------------------------------------------------------------------------- set_priority_fee


def priority_fee(price: int, limit: int) -> int:
    """ceil(price × limit / 10^6) lamports: the rule the docstring states."""
    return -(-price * limit // 1_000_000)


def test_priority_fee_with_a_limit_is_charged(sys_env: Env) -> None:
    env = sys_env
    price, limit = 100_000, 10_000
    outcome = env.call(
        "set_priority_fee", {"micro_lamports_per_cu": price, "compute_unit_limit": limit}
    )
    assert outcome.ok, outcome.error
    assert outcome.result["priority_fee_lamports"] == priority_fee(price, limit) == 1_000
    limit_ix, price_ix = [s.instruction for s in env.ctx.staged]
    assert str(limit_ix.program_id) == str(price_ix.program_id) == COMPUTE_BUDGET_PROGRAM
    assert bytes(limit_ix.data) == bytes([SET_COMPUTE_UNIT_LIMIT]) + limit.to_bytes(4, "little")
    assert bytes(price_ix.data) == bytes([SET_COMPUTE_UNIT_PRICE]) + u64(price)
    assert limit_ix.accounts == [] and price_ix.accounts == []

    assert env.call("sol_transfer", {"recipient": env.a("FRIEND_WALLET"), "amount": "0.2"}).ok
    before = env.lamports("USER_WALLET_PUBKEY")
    friend_before = env.lamports("FRIEND_WALLET")
    result = env.submit()
    assert result["success"], result["error"]
    fee = LAMPORTS_PER_SIGNATURE + priority_fee(price, limit)
    assert result["fee_lamports"] == fee
    assert env.lamports("USER_WALLET_PUBKEY") == before - 200_000_000 - fee
    assert env.lamports("FRIEND_WALLET") == friend_before + 200_000_000


def test_priority_fee_rounds_up(sys_env: Env) -> None:
    env = sys_env
    outcome = env.call(
        "set_priority_fee", {"micro_lamports_per_cu": 3, "compute_unit_limit": 1_000}
    )
    assert outcome.ok, outcome.error
    # 3 × 1000 = 3000 micro-lamports = 0.003 lamports, rounded up to 1.
    assert outcome.result["priority_fee_lamports"] == 1
    assert env.call("sol_transfer", {"recipient": env.a("FRIEND_WALLET"), "amount": "0.001"}).ok
    assert env.submit()["fee_lamports"] == LAMPORTS_PER_SIGNATURE + 1


@pytest.mark.parametrize(
    ("action", "default_limit"),
    [
        # Two builtin instructions (Compute Budget, System): 3,000 CU each.
        ("sol", 2 * 3_000),
        # Compute Budget (builtin, 3,000) + SPL Token (a deployed program, 200,000).
        ("token", 3_000 + 200_000),
    ],
)
def test_priority_fee_without_a_limit_uses_the_default_limit(
    sys_env: Env, action: str, default_limit: int
) -> None:
    env = sys_env
    price = 1_000
    outcome = env.call("set_priority_fee", {"micro_lamports_per_cu": price})
    assert outcome.ok, outcome.error
    assert "priority_fee_lamports" not in outcome.result
    assert len(env.ctx.staged) == 1  # only the price
    if action == "sol":
        assert env.call("sol_transfer", {"recipient": env.a("FRIEND_WALLET"), "amount": "0.001"}).ok
    else:
        assert env.call(
            "transfer_checked",
            {"recipient": env.a("FRIEND_WALLET"), "mint": env.a("MY_MINT"), "amount": "1"},
        ).ok
    before = env.lamports("USER_WALLET_PUBKEY")
    result = env.submit()
    assert result["success"], result["error"]
    fee = LAMPORTS_PER_SIGNATURE + priority_fee(price, default_limit)
    assert result["fee_lamports"] == fee
    spent = 1_000_000 if action == "sol" else 0
    assert env.lamports("USER_WALLET_PUBKEY") == before - spent - fee


def test_a_limit_too_low_fails_the_transaction_and_still_charges_the_fee(sys_env: Env) -> None:
    env = sys_env
    price, limit = 1_000_000, 200
    assert env.call(
        "set_priority_fee", {"micro_lamports_per_cu": price, "compute_unit_limit": limit}
    ).ok
    assert env.call("sol_transfer", {"recipient": env.a("FRIEND_WALLET"), "amount": "0.1"}).ok
    before = env.lamports("USER_WALLET_PUBKEY")
    friend_before = env.lamports("FRIEND_WALLET")
    result = env.submit()
    assert result["success"] is False
    fee = LAMPORTS_PER_SIGNATURE + priority_fee(price, limit)
    assert result["fee_lamports"] == fee
    assert env.lamports("USER_WALLET_PUBKEY") == before - fee  # the fee, and nothing else
    assert env.lamports("FRIEND_WALLET") == friend_before


def test_priority_fee_errors(sys_env: Env) -> None:
    env = sys_env
    assert env.call("set_priority_fee", {"micro_lamports_per_cu": 10}).ok
    second = env.call("set_priority_fee", {"micro_lamports_per_cu": 20})
    assert second.ok is False and second.error_kind == "tool_error"
    assert "already staged" in second.error
    assert len(env.ctx.staged) == 1  # the first price stays, nothing is added
    for args in (
        {"micro_lamports_per_cu": 0},
        {"micro_lamports_per_cu": -5},
        {"micro_lamports_per_cu": 1, "compute_unit_limit": 1_400_001},
        {"micro_lamports_per_cu": 1, "compute_unit_limit": 0},
        {"micro_lamports_per_cu": 2**64},
    ):
        outcome = env.call("set_priority_fee", args)
        assert outcome.ok is False and outcome.error_kind == "invalid_arguments", args


# --------------------------------------------------------------------------- queries


def test_get_token_accounts_lists_both_programs(env: Env) -> None:
    outcome = env.call("get_token_accounts", {"owner": env.a("USER_WALLET_PUBKEY")})
    assert outcome.ok, outcome.error
    r = outcome.result
    names = ["USER_MY_ATA", "USER_THEIR_ATA", "USER_FIXED_ATA", "USER_USDC_ATA", "USER_PYUSD_ATA"]
    assert r["owner"] == env.a("USER_WALLET_PUBKEY")
    assert r["count"] == len(names)
    by_address = {a["token_account"]: a for a in r["token_accounts"]}
    assert set(by_address) == {env.a(n) for n in names}  # FRIEND_MY_ATA is not the user's
    assert {a["program"] for a in r["token_accounts"]} == {TOKEN_PROGRAM, TOKEN_2022_PROGRAM}
    mine = by_address[env.a("USER_MY_ATA")]
    assert (
        mine["mint"],
        mine["amount_base_units"],
        mine["amount"],
        mine["decimals"],
        mine["program"],
    ) == (
        env.a("MY_MINT"),
        USER_MY,
        "100",
        DECIMALS,
        env.program_id,
    )
    fixed = by_address[env.a("USER_FIXED_ATA")]
    assert (fixed["amount"], fixed["decimals"]) == ("7", FIXED_DECIMALS)
    assert by_address[env.a("USER_PYUSD_ATA")]["program"] == TOKEN_2022_PROGRAM
    assert by_address[env.a("USER_USDC_ATA")]["program"] == TOKEN_PROGRAM


def test_get_token_accounts_shows_delegate_and_frozen_state(env: Env) -> None:
    assert env.call(
        "approve_delegate",
        {"delegate": env.a("NEWBIE_WALLET"), "mint": env.a("MY_MINT"), "amount": "3"},
    ).ok
    assert env.call(
        "freeze_token_account", {"token_account": env.a("USER_MY_ATA"), "mint": env.a("MY_MINT")}
    ).ok
    assert env.submit()["success"]
    r = env.call("get_token_accounts", {"owner": env.a("USER_WALLET_PUBKEY")}).result
    (mine,) = [a for a in r["token_accounts"] if a["token_account"] == env.a("USER_MY_ATA")]
    assert mine["delegate"] == env.a("NEWBIE_WALLET")
    assert mine["delegated_amount_base_units"] == units("3")
    assert mine["state"] == "frozen"


def test_get_token_accounts_of_a_wallet_with_none_and_a_bad_address(env: Env) -> None:
    r = env.call("get_token_accounts", {"owner": env.a("NEWBIE_WALLET")}).result
    assert (r["count"], r["token_accounts"]) == (0, [])
    assert_tool_error(env, env.call("get_token_accounts", {"owner": "nope"}), "owner")


def test_get_account_info_of_a_wallet(env: Env) -> None:
    r = env.call("get_account_info", {"address": env.a("USER_WALLET_PUBKEY")}).result
    assert r == {
        "address": env.a("USER_WALLET_PUBKEY"),
        "exists": True,
        "lamports": USER_LAMPORTS,
        "sol": "3",
        "owner": SYSTEM_PROGRAM,
        "executable": False,
        "data_len": 0,
        "kind": "wallet",
    }


def test_get_account_info_of_a_mint(env: Env) -> None:
    r = env.call("get_account_info", {"address": env.a("MY_MINT")}).result
    assert r["kind"] == "mint"
    assert r["owner"] == env.program_id
    assert r["data_len"] == 82  # the base mint layout
    assert r["lamports"] == env.chain.rent_exempt_minimum(82)
    assert r["mint"] == {
        "decimals": DECIMALS,
        "supply": "110",  # 100 (user) + 10 (friend)
        "supply_base_units": USER_MY + FRIEND_MY,
        "mint_authority": env.a("USER_WALLET_PUBKEY"),
        "freeze_authority": env.a("USER_WALLET_PUBKEY"),
        "program": env.program_id,
    }
    fixed = env.call("get_account_info", {"address": env.a("FIXED_MINT")}).result["mint"]
    assert (fixed["mint_authority"], fixed["freeze_authority"]) == (None, None)


def test_get_account_info_of_a_token_account(env: Env) -> None:
    r = env.call("get_account_info", {"address": env.a("FRIEND_MY_ATA")}).result
    assert r["kind"] == "token_account"
    assert (r["owner"], r["data_len"]) == (env.program_id, ACCOUNT_LEN)
    token = r["token_account"]
    assert token["owner"] == env.a("FRIEND_WALLET")
    assert token["mint"] == env.a("MY_MINT")
    assert (token["amount_base_units"], token["amount"], token["decimals"]) == (
        FRIEND_MY,
        "10",
        DECIMALS,
    )
    assert "close_authority" not in token


def test_get_account_info_shows_a_close_authority(env: Env) -> None:
    assert env.call(
        "set_token_authority",
        {
            "target": env.a("USER_MY_ATA"),
            "authority_type": "close_account",
            "new_authority": env.a("NEWBIE_WALLET"),
        },
    ).ok
    assert env.submit()["success"]
    token = env.call("get_account_info", {"address": env.a("USER_MY_ATA")}).result["token_account"]
    assert token["close_authority"] == env.a("NEWBIE_WALLET")


def test_get_account_info_of_a_program_a_new_account_and_nothing(sys_env: Env) -> None:
    env = sys_env
    r = env.call("get_account_info", {"address": TOKEN_PROGRAM}).result
    assert (r["kind"], r["executable"]) == ("program", True)

    created = env.call(
        "create_account", {"lamports_sol": "0.02", "space": 64, "owner": SYSTEM_PROGRAM}
    ).result
    assert env.submit()["success"]
    r = env.call("get_account_info", {"address": created["new_account"]}).result
    assert (r["lamports"], r["owner"], r["data_len"], r["kind"]) == (
        20_000_000,
        SYSTEM_PROGRAM,
        64,
        "account",
    )

    nobody = str(Pubkey.new_unique())
    r = env.call("get_account_info", {"address": nobody}).result
    assert r == {"address": nobody, "exists": False, "lamports": 0, "sol": "0"}
    assert_tool_error(env, env.call("get_account_info", {"address": "0OIl"}), "address")


def test_queries_stage_nothing(env: Env) -> None:
    env.call("get_token_accounts", {"owner": env.a("USER_WALLET_PUBKEY")})
    env.call("get_account_info", {"address": env.a("MY_MINT")})
    assert env.ctx.staged == [] and env.ctx.transactions == []
