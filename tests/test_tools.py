"""The tool layer on a real LiteSVM chain: validation, staging, submission and queries."""

from __future__ import annotations

import json
import re
import textwrap

import pytest
from solders.pubkey import Pubkey
from spl.token.instructions import get_associated_token_address

from helpers.chain_env import ChainEnv
from reev.chain.accounts import ACCOUNT_LEN
from reev.chain.observe import read_account
from reev.spec import parse_benchmark
from reev.tools import TOOLS, call_tool

USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
USDC_DECIMALS = 6
TOKEN_PROGRAM = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"
ATA_PROGRAM = "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL"
SYSTEM_PROGRAM = "11111111111111111111111111111111"
LAMPORTS_PER_SIGNATURE = 5_000  # Solana's base fee per signature

USER_LAMPORTS = 2_000_000_000
USER_USDC = 50_000_000  # 50 USDC

SOURCE = textwrap.dedent(
    f"""
    id: tools-test
    prompt: "Exercise the tools."
    initial_state:
      - pubkey: USER_WALLET_PUBKEY
        owner: "{SYSTEM_PROGRAM}"
        lamports: {USER_LAMPORTS}
      - pubkey: RECIPIENT_WALLET_PUBKEY
        owner: "{SYSTEM_PROGRAM}"
        lamports: 1000000000
      - pubkey: FRIEND_WALLET_PUBKEY
        owner: "{SYSTEM_PROGRAM}"
        lamports: 1000000000
      - pubkey: NEWBIE_WALLET_PUBKEY
        owner: "{SYSTEM_PROGRAM}"
        lamports: 1000000000
      - pubkey: USER_USDC_ATA
        owner: {TOKEN_PROGRAM}
        lamports: 2039280
        data:
          mint: {USDC}
          owner: USER_WALLET_PUBKEY
          amount: "{USER_USDC}"
      - pubkey: FRIEND_USDC_ATA
        owner: {TOKEN_PROGRAM}
        lamports: 2039280
        data:
          mint: {USDC}
          owner: FRIEND_WALLET_PUBKEY
          amount: "0"
    """
)


class Env(ChainEnv):
    def lamports(self, name: str) -> int:
        account = self.chain.get_account(self.addr(name))
        return 0 if account is None else account.lamports

    def token_amount(self, address: Pubkey) -> int | None:
        state = read_account(self.chain, address)
        if state is None or state.token is None:
            return None
        return state.token.amount

    def call(self, name: str, args):
        return call_tool(self.ctx, name, args)


@pytest.fixture
def env() -> Env:
    loaded = parse_benchmark(SOURCE, "tools-test.yml")
    assert loaded.warnings == []
    return Env.build(loaded.benchmark, all_signers=True)


def usdc_units(amount: str) -> int:
    """Token units to base units by the rule: shift by the mint's decimals."""
    whole, _, frac = amount.partition(".")
    return int(whole) * 10**USDC_DECIMALS + int(frac.ljust(USDC_DECIMALS, "0") or 0)


# --------------------------------------------------------------------------- call validation


def test_unknown_tool(env: Env) -> None:
    outcome = env.call("teleport_sol", {"amount": "1"})
    assert outcome.ok is False
    assert outcome.error_kind == "unknown_tool"
    assert "teleport_sol" in outcome.error
    assert "sol_transfer" in outcome.error  # the agent is told what exists
    assert outcome.for_agent() == {"error": outcome.error}
    assert env.ctx.staged == []


def test_unexpected_argument_is_invalid(env: Env) -> None:
    outcome = env.call(
        "sol_transfer",
        {"recipient": str(env.addr("RECIPIENT_WALLET_PUBKEY")), "amount": "0.1", "memo": "hi"},
    )
    assert outcome.ok is False
    assert outcome.error_kind == "invalid_arguments"
    assert "memo" in outcome.error
    assert "unexpected argument" in outcome.error
    assert env.ctx.staged == []


def test_argument_to_a_tool_without_parameters_is_invalid(env: Env) -> None:
    outcome = env.call("get_wallet_overview", {"wallet": str(env.addr("USER_WALLET_PUBKEY"))})
    assert outcome.ok is False
    assert outcome.error_kind == "invalid_arguments"


def test_missing_required_argument_is_invalid(env: Env) -> None:
    outcome = env.call("sol_transfer", {"recipient": str(env.addr("RECIPIENT_WALLET_PUBKEY"))})
    assert outcome.ok is False
    assert outcome.error_kind == "invalid_arguments"
    assert "amount" in outcome.error
    assert env.ctx.staged == []


@pytest.mark.parametrize("args", [None, "recipient=x", ["x", 1], 5])
def test_arguments_that_are_not_an_object_are_invalid(env: Env, args) -> None:
    outcome = env.call("get_wallet_overview", args)
    assert outcome.ok is False
    assert outcome.error_kind == "invalid_arguments"


@pytest.mark.parametrize("amount", ["NaN", "inf", True, "lots"])
def test_non_numeric_amount_is_invalid(env: Env, amount) -> None:
    outcome = env.call(
        "sol_transfer", {"recipient": str(env.addr("RECIPIENT_WALLET_PUBKEY")), "amount": amount}
    )
    assert outcome.ok is False
    assert outcome.error_kind == "invalid_arguments"
    assert env.ctx.staged == []


def test_too_many_decimals_for_the_mint_is_a_tool_error(env: Env) -> None:
    outcome = env.call(
        "spl_transfer",
        {"recipient": str(env.addr("FRIEND_USDC_ATA")), "mint": USDC, "amount": "1.0000001"},
    )
    assert outcome.ok is False
    assert outcome.error_kind == "tool_error"
    assert "decimal places" in outcome.error
    assert str(USDC_DECIMALS) in outcome.error
    assert env.ctx.staged == []


def test_too_many_decimals_for_sol_is_a_tool_error(env: Env) -> None:
    outcome = env.call(
        "sol_transfer",
        {"recipient": str(env.addr("RECIPIENT_WALLET_PUBKEY")), "amount": "0.0000000001"},
    )
    assert outcome.ok is False
    assert outcome.error_kind == "tool_error"
    assert "decimal places" in outcome.error


@pytest.mark.parametrize("amount", ["0", "-1"])
def test_zero_or_negative_amount_is_a_tool_error(env: Env, amount: str) -> None:
    outcome = env.call(
        "sol_transfer", {"recipient": str(env.addr("RECIPIENT_WALLET_PUBKEY")), "amount": amount}
    )
    assert outcome.ok is False
    assert outcome.error_kind == "tool_error"


def test_invalid_address_is_a_tool_error(env: Env) -> None:
    outcome = env.call("sol_transfer", {"recipient": "RECIPIENT_WALLET_PUBKEY", "amount": "0.1"})
    assert outcome.ok is False
    assert outcome.error_kind == "tool_error"
    assert "recipient" in outcome.error


def test_unknown_mint_is_a_tool_error(env: Env) -> None:
    outcome = env.call(
        "spl_transfer",
        {
            "recipient": str(env.addr("FRIEND_WALLET_PUBKEY")),
            "mint": str(env.addr("NEWBIE_WALLET_PUBKEY")),
            "amount": "1",
        },
    )
    assert outcome.ok is False
    assert outcome.error_kind == "tool_error"
    assert "mint" in outcome.error


@pytest.mark.parametrize(
    ("tool", "amount"),
    [
        ("sol_transfer", "1e30"),  # 10**39 lamports: far beyond a u64
        ("sol_transfer", "18446744073.709551616"),  # u64::MAX + 1 lamports exactly
        ("spl_transfer", "1e20"),  # 10**26 base units of USDC
        ("wrap_sol", "1e30"),
    ],
)
def test_amount_beyond_u64_is_a_tool_error_not_a_crash(env: Env, tool: str, amount: str) -> None:
    """Every agent mistake must come back as a recorded tool error; an exception escaping
    call_tool would abort the whole episode."""
    args = {"amount": amount}
    if tool == "sol_transfer":
        args["recipient"] = str(env.addr("RECIPIENT_WALLET_PUBKEY"))
    elif tool == "spl_transfer":
        args.update(recipient=str(env.addr("FRIEND_USDC_ATA")), mint=USDC)
    outcome = env.call(tool, args)
    assert outcome.ok is False
    assert outcome.error_kind == "tool_error"
    assert env.ctx.staged == []


# --------------------------------------------------------------------------- submit


def test_submit_with_nothing_staged_is_a_tool_error(env: Env) -> None:
    outcome = env.call("submit_transaction", {})
    assert outcome.ok is False
    assert outcome.error_kind == "tool_error"
    assert "staged" in outcome.error
    assert env.ctx.transactions == []


def test_sol_transfer_moves_exactly_the_lamports(env: Env) -> None:
    recipient_before = env.lamports("RECIPIENT_WALLET_PUBKEY")
    user_before = env.lamports("USER_WALLET_PUBKEY")
    assert user_before == USER_LAMPORTS

    staged = env.call(
        "sol_transfer", {"recipient": str(env.addr("RECIPIENT_WALLET_PUBKEY")), "amount": 0.1}
    )
    assert staged.ok, staged.error
    assert staged.result["instructions_added"] == 1
    assert env.lamports("RECIPIENT_WALLET_PUBKEY") == recipient_before  # nothing sent yet

    (ix,) = [s.instruction for s in env.ctx.staged]
    assert str(ix.program_id) == SYSTEM_PROGRAM
    # System transfer: u32 instruction index 2, then the u64 lamports, little-endian.
    assert bytes(ix.data) == (2).to_bytes(4, "little") + (100_000_000).to_bytes(8, "little")

    submitted = env.call("submit_transaction", {})
    assert submitted.ok, submitted.error
    assert submitted.result["success"] is True, submitted.result["error"]
    assert submitted.result["fee_lamports"] == LAMPORTS_PER_SIGNATURE
    lamports = 100_000_000  # 0.1 SOL at 10**9 lamports per SOL
    assert env.lamports("RECIPIENT_WALLET_PUBKEY") == recipient_before + lamports
    assert env.lamports("USER_WALLET_PUBKEY") == user_before - lamports - LAMPORTS_PER_SIGNATURE
    assert env.ctx.staged == []
    assert len(env.ctx.transactions) == 1
    assert env.ctx.transactions[0].signature == submitted.result["signature"]


def test_two_staged_actions_go_out_as_one_transaction(env: Env) -> None:
    recipient = str(env.addr("RECIPIENT_WALLET_PUBKEY"))
    assert env.call("sol_transfer", {"recipient": recipient, "amount": "0.25"}).ok
    second = env.call("sol_transfer", {"recipient": recipient, "amount": "0.5"})
    assert second.ok
    assert second.result["staged_instructions"] == 2
    before = env.lamports("RECIPIENT_WALLET_PUBKEY")
    submitted = env.call("submit_transaction", {})
    assert submitted.ok and submitted.result["success"]
    assert env.lamports("RECIPIENT_WALLET_PUBKEY") == before + 750_000_000
    (tx,) = env.ctx.transactions
    assert len(tx.instructions) == 2


def test_a_failing_transaction_is_reported_and_changes_nothing(env: Env) -> None:
    user_ata = env.addr("USER_USDC_ATA")
    friend_ata = env.addr("FRIEND_USDC_ATA")
    staged = env.call("spl_transfer", {"recipient": str(friend_ata), "mint": USDC, "amount": "51"})
    assert staged.ok, staged.error  # the tool stages it; the chain decides
    submitted = env.call("submit_transaction", {})
    assert submitted.ok  # the tool worked; the transaction failed
    assert submitted.result["success"] is False
    assert submitted.result["error"]
    assert env.token_amount(user_ata) == USER_USDC
    assert env.token_amount(friend_ata) == 0
    assert env.ctx.staged == []


# --------------------------------------------------------------------------- spl_transfer


def test_spl_transfer_to_a_wallet_without_token_account_creates_it(env: Env) -> None:
    user = env.addr("USER_WALLET_PUBKEY")
    newbie = env.addr("NEWBIE_WALLET_PUBKEY")
    usdc = Pubkey.from_string(USDC)
    expected_ata = get_associated_token_address(newbie, usdc, Pubkey.from_string(TOKEN_PROGRAM))
    assert env.chain.get_account(expected_ata) is None

    outcome = env.call("spl_transfer", {"recipient": str(newbie), "mint": USDC, "amount": "2.5"})
    assert outcome.ok, outcome.error
    assert outcome.result["instructions_added"] == 2

    create, transfer = [s.instruction for s in env.ctx.staged]
    assert str(create.program_id) == ATA_PROGRAM
    assert bytes(create.data) == bytes([1])  # CreateIdempotent
    assert [m.pubkey for m in create.accounts[:4]] == [user, expected_ata, newbie, usdc]
    assert create.accounts[0].is_signer and create.accounts[0].is_writable  # the payer
    assert str(transfer.program_id) == TOKEN_PROGRAM
    assert [m.pubkey for m in transfer.accounts] == [env.addr("USER_USDC_ATA"), expected_ata, user]

    user_lamports = env.lamports("USER_WALLET_PUBKEY")
    submitted = env.call("submit_transaction", {})
    assert submitted.ok and submitted.result["success"], submitted.result

    amount = usdc_units("2.5")
    state = read_account(env.chain, expected_ata)
    assert state is not None and state.token is not None
    assert state.owner == TOKEN_PROGRAM
    assert state.token.owner == str(newbie)
    assert state.token.mint == USDC
    assert state.token.amount == amount
    assert env.token_amount(env.addr("USER_USDC_ATA")) == USER_USDC - amount
    # The user paid the fee and the new account's rent.
    rent = env.chain.rent_exempt_minimum(ACCOUNT_LEN)
    assert env.lamports("USER_WALLET_PUBKEY") == user_lamports - LAMPORTS_PER_SIGNATURE - rent


def test_a_second_transfer_to_a_new_wallet_does_not_create_twice(env: Env) -> None:
    newbie = str(env.addr("NEWBIE_WALLET_PUBKEY"))
    first = env.call("spl_transfer", {"recipient": newbie, "mint": USDC, "amount": "1"})
    second = env.call("spl_transfer", {"recipient": newbie, "mint": USDC, "amount": "1"})
    assert (first.result["instructions_added"], second.result["instructions_added"]) == (2, 1)
    programs = [str(s.instruction.program_id) for s in env.ctx.staged]
    assert programs == [ATA_PROGRAM, TOKEN_PROGRAM, TOKEN_PROGRAM]


def test_spl_transfer_to_an_existing_token_account_is_one_plain_transfer(env: Env) -> None:
    user = env.addr("USER_WALLET_PUBKEY")
    user_ata = env.addr("USER_USDC_ATA")
    friend_ata = env.addr("FRIEND_USDC_ATA")

    outcome = env.call("spl_transfer", {"recipient": str(friend_ata), "mint": USDC, "amount": "15"})
    assert outcome.ok, outcome.error
    (staged,) = env.ctx.staged
    ix = staged.instruction
    assert str(ix.program_id) == TOKEN_PROGRAM
    assert len(ix.accounts) == 3
    assert [(m.pubkey, m.is_signer, m.is_writable) for m in ix.accounts] == [
        (user_ata, False, True),  # source: writable
        (friend_ata, False, True),  # destination: writable
        (user, True, False),  # owner: signer
    ]
    amount = usdc_units("15")
    # SPL Token `Transfer`: instruction tag 3, then the u64 amount, little-endian.
    assert bytes(ix.data) == bytes([3]) + amount.to_bytes(8, "little")

    submitted = env.call("submit_transaction", {})
    assert submitted.ok and submitted.result["success"], submitted.result
    assert env.token_amount(user_ata) == USER_USDC - amount
    assert env.token_amount(friend_ata) == amount


def test_spl_transfer_to_a_wallet_with_a_token_account_uses_it(env: Env) -> None:
    outcome = env.call(
        "spl_transfer",
        {"recipient": str(env.addr("FRIEND_WALLET_PUBKEY")), "mint": USDC, "amount": "0.000001"},
    )
    assert outcome.ok, outcome.error
    (staged,) = env.ctx.staged
    assert staged.instruction.accounts[1].pubkey == env.addr("FRIEND_USDC_ATA")
    assert env.call("submit_transaction", {}).result["success"]
    assert env.token_amount(env.addr("FRIEND_USDC_ATA")) == 1


# --------------------------------------------------------------------------- queries


def test_get_balance_of_a_wallet(env: Env) -> None:
    user = env.addr("USER_WALLET_PUBKEY")
    outcome = env.call("get_balance", {"address": str(user)})
    assert outcome.ok, outcome.error
    assert outcome.result == {
        "address": str(user),
        "sol": "2",
        "lamports": USER_LAMPORTS,
        "exists": True,
    }


def test_get_balance_of_an_address_that_does_not_exist(env: Env) -> None:
    nobody = Pubkey.new_unique()
    outcome = env.call("get_balance", {"address": str(nobody)})
    assert outcome.ok
    assert outcome.result["lamports"] == 0
    assert outcome.result["exists"] is False


def test_get_balance_of_a_token_account(env: Env) -> None:
    user_ata = env.addr("USER_USDC_ATA")
    outcome = env.call("get_balance", {"address": str(user_ata)})
    assert outcome.ok, outcome.error
    r = outcome.result
    assert r["token_account"] == str(user_ata)
    assert r["mint"] == USDC
    assert r["amount_base_units"] == USER_USDC
    assert r["amount"] == "50"
    assert r["decimals"] == USDC_DECIMALS
    assert r["program"] == TOKEN_PROGRAM


def test_get_balance_of_a_wallet_for_a_mint(env: Env) -> None:
    outcome = env.call(
        "get_balance", {"address": str(env.addr("USER_WALLET_PUBKEY")), "mint": USDC}
    )
    assert outcome.ok, outcome.error
    assert outcome.result["token_account"] == str(env.addr("USER_USDC_ATA"))
    assert outcome.result["amount_base_units"] == USER_USDC
    assert outcome.result["amount"] == "50"


def test_get_balance_for_a_mint_the_wallet_does_not_hold(env: Env) -> None:
    newbie = env.addr("NEWBIE_WALLET_PUBKEY")
    outcome = env.call("get_balance", {"address": str(newbie), "mint": USDC})
    assert outcome.ok, outcome.error
    expected_ata = get_associated_token_address(
        newbie, Pubkey.from_string(USDC), Pubkey.from_string(TOKEN_PROGRAM)
    )
    assert outcome.result["token_account"] == str(expected_ata)
    assert outcome.result["exists"] is False
    assert outcome.result["amount_base_units"] == 0
    assert outcome.result["decimals"] == USDC_DECIMALS


def test_get_balance_with_a_bad_address_is_a_tool_error(env: Env) -> None:
    outcome = env.call("get_balance", {"address": "not-an-address"})
    assert outcome.ok is False
    assert outcome.error_kind == "tool_error"


def test_get_wallet_overview(env: Env) -> None:
    user = env.addr("USER_WALLET_PUBKEY")
    outcome = env.call("get_wallet_overview", {})
    assert outcome.ok, outcome.error
    r = outcome.result
    assert r["wallet"] == str(user)
    assert r["lamports"] == USER_LAMPORTS
    assert r["sol"] == "2"
    (account,) = r["token_accounts"]  # the friend's account is not the user's
    assert account["token_account"] == str(env.addr("USER_USDC_ATA"))
    assert account["mint"] == USDC
    assert account["amount_base_units"] == USER_USDC
    assert account["amount"] == "50"
    assert account["decimals"] == USDC_DECIMALS


def test_get_wallet_overview_reflects_a_submitted_transfer(env: Env) -> None:
    friend_ata = str(env.addr("FRIEND_USDC_ATA"))
    assert env.call("spl_transfer", {"recipient": friend_ata, "mint": USDC, "amount": "12.345"}).ok
    assert env.call("submit_transaction", {}).result["success"]
    r = env.call("get_wallet_overview", {}).result
    assert r["lamports"] == USER_LAMPORTS - LAMPORTS_PER_SIGNATURE
    assert r["sol"] == "1.999995"
    (account,) = r["token_accounts"]
    assert account["amount_base_units"] == USER_USDC - usdc_units("12.345")
    assert account["amount"] == "37.655"


def test_queries_stage_nothing(env: Env) -> None:
    env.call("get_wallet_overview", {})
    env.call("get_balance", {"address": str(env.addr("USER_WALLET_PUBKEY")), "mint": USDC})
    assert env.ctx.staged == []
    assert env.ctx.transactions == []


# --------------------------------------------------------------------------- schemas

FUNCTION_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
JSON_TYPES = {"string", "number", "integer", "boolean", "object", "array", "null"}


def _types(prop: dict) -> set[str]:
    if "type" in prop:
        return {prop["type"]} if isinstance(prop["type"], str) else set(prop["type"])
    if "anyOf" in prop:
        return set().union(*(_types(p) for p in prop["anyOf"]))
    return set()


def test_expected_tools_are_registered() -> None:
    assert {
        "sol_transfer",
        "spl_transfer",
        "submit_transaction",
        "get_balance",
        "get_wallet_overview",
    } <= set(TOOLS)


@pytest.mark.parametrize("name", sorted(TOOLS))
def test_tool_schema_is_a_valid_openai_function_definition(name: str) -> None:
    tool = TOOLS[name]
    schema = tool.openai_schema()
    json.loads(json.dumps(schema))  # serialisable as is
    assert set(schema) == {"type", "function"}
    assert schema["type"] == "function"
    function = schema["function"]
    assert function["name"] == name
    assert FUNCTION_NAME.match(function["name"])
    assert isinstance(function["description"], str) and function["description"].strip()
    parameters = function["parameters"]
    assert parameters["type"] == "object"
    assert parameters["additionalProperties"] is False
    assert isinstance(parameters["properties"], dict)
    assert "$ref" not in json.dumps(parameters) and "$defs" not in parameters
    required = parameters.get("required", [])
    assert isinstance(required, list)
    assert set(required) <= set(parameters["properties"])
    # The schema's required list is the parameter model's required fields.
    model_required = {n for n, f in tool.params.model_fields.items() if f.is_required()}
    assert set(required) == model_required
    for prop_name, prop in parameters["properties"].items():
        types = _types(prop)
        assert types and types <= JSON_TYPES, (prop_name, prop)
        assert prop.get("description"), f"{name}.{prop_name} has no description"
        assert "title" not in prop


def test_amount_parameters_accept_numbers_and_strings() -> None:
    for name in ("sol_transfer", "spl_transfer", "wrap_sol"):
        amount = TOOLS[name].openai_schema()["function"]["parameters"]["properties"]["amount"]
        assert _types(amount) == {"number", "string"}
