"""Placeholders: reproducible addresses per (benchmark id, seed), ATAs for token accounts, and
what the agent is allowed to see."""

from __future__ import annotations

import textwrap

import pytest
from solders.pubkey import Pubkey
from spl.token.instructions import get_associated_token_address

from reev.spec import parse_benchmark, resolve_placeholders
from reev.spec.models import Benchmark
from reev.spec.placeholders import PlaceholderError, is_placeholder

USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
TOKEN_PROGRAM = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"
TOKEN_2022_PROGRAM = "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb"
SYSTEM_PROGRAM = "11111111111111111111111111111111"

SOURCE = textwrap.dedent(
    f"""
    id: placeholder-test
    prompt: "Send 1 USDC from USER_USDC_ATA to RECIPIENT_WALLET_PUBKEY, in USDC please."
    initial_state:
      - pubkey: USER_WALLET_PUBKEY
        owner: "{SYSTEM_PROGRAM}"
        lamports: 1000000000
      - pubkey: USER_USDC_ATA
        owner: {TOKEN_PROGRAM}
        data:
          mint: {USDC}
          owner: USER_WALLET_PUBKEY
          amount: "5000000"
      - pubkey: GAME_POINTS_ATA
        owner: {TOKEN_2022_PROGRAM}
        data:
          mint: GAME_POINTS_MINT
          owner: USER_WALLET_PUBKEY
          amount: "10"
    mints:
      - address: GAME_POINTS_MINT
        decimals: 0
        program: token-2022
    ground_truth:
      final_state_assertions:
        - type: TokenAccountBalance
          pubkey: RECIPIENT_USDC_ATA
          expected: 1000000
          address_derivation:
            type: AssociatedTokenAccount
            owner: RECIPIENT_WALLET_PUBKEY
            mint: {USDC}
        - type: SolBalance
          pubkey: AUDITOR_WALLET
          expected: 0
    solution:
      - tool: spl_transfer
        args: {{recipient: SECRET_HELPER_WALLET, mint: {USDC}, amount: "1"}}
      - tool: submit_transaction
    """
)

WALLETS = [
    "USER_WALLET_PUBKEY",
    "RECIPIENT_WALLET_PUBKEY",
    "AUDITOR_WALLET",
    "SECRET_HELPER_WALLET",
]
TOKEN_ACCOUNTS = ["USER_USDC_ATA", "GAME_POINTS_ATA", "RECIPIENT_USDC_ATA"]


def benchmark(source: str = SOURCE) -> Benchmark:
    loaded = parse_benchmark(source, "placeholders.yml")
    assert loaded.warnings == []
    return loaded.benchmark


def test_every_placeholder_is_resolved() -> None:
    keys = resolve_placeholders(benchmark(), seed=0)
    expected_names = set(WALLETS + TOKEN_ACCOUNTS + ["GAME_POINTS_MINT"])
    assert set(keys.addresses) == expected_names
    # Distinct names get distinct addresses.
    assert len({str(a) for a in keys.addresses.values()}) == len(expected_names)


def test_same_benchmark_and_seed_give_the_same_addresses() -> None:
    first = resolve_placeholders(benchmark(), seed=7)
    second = resolve_placeholders(benchmark(), seed=7)
    assert first.addresses == second.addresses
    assert first.visible == second.visible
    assert {str(k) for k in first.keypairs} == {str(k) for k in second.keypairs}
    assert first.user.pubkey() == second.user.pubkey()


def test_another_seed_moves_every_address() -> None:
    seed0 = resolve_placeholders(benchmark(), seed=0)
    seed1 = resolve_placeholders(benchmark(), seed=1)
    assert seed0.addresses.keys() == seed1.addresses.keys()
    for name in seed0.addresses:
        assert seed0.addresses[name] != seed1.addresses[name], name


def test_another_benchmark_id_moves_every_wallet() -> None:
    original = resolve_placeholders(benchmark(), seed=0)
    renamed = resolve_placeholders(
        benchmark(SOURCE.replace("id: placeholder-test", "id: placeholder-test-2")), seed=0
    )
    for name in WALLETS:
        assert original.addresses[name] != renamed.addresses[name], name


def test_wallets_have_signing_keys_and_token_accounts_do_not() -> None:
    keys = resolve_placeholders(benchmark(), seed=3)
    for name in [*WALLETS, "GAME_POINTS_MINT"]:
        address = keys.addresses[name]
        assert keys.keypairs[address].pubkey() == address
    for name in TOKEN_ACCOUNTS:
        assert keys.addresses[name] not in keys.keypairs
    assert keys.user.pubkey() == keys.addresses["USER_WALLET_PUBKEY"]


@pytest.mark.parametrize("seed", [0, 1, 42])
def test_token_account_placeholder_is_the_associated_token_address(seed: int) -> None:
    keys = resolve_placeholders(benchmark(), seed=seed)
    user = keys.addresses["USER_WALLET_PUBKEY"]
    usdc = Pubkey.from_string(USDC)
    assert keys.addresses["USER_USDC_ATA"] == get_associated_token_address(
        user, usdc, Pubkey.from_string(TOKEN_PROGRAM)
    )
    # Declared in ground truth only, through address_derivation.
    assert keys.addresses["RECIPIENT_USDC_ATA"] == get_associated_token_address(
        keys.addresses["RECIPIENT_WALLET_PUBKEY"], usdc, Pubkey.from_string(TOKEN_PROGRAM)
    )
    # A Token-2022 account derives with the Token-2022 program id, from a placeholder mint.
    points = get_associated_token_address(
        user, keys.addresses["GAME_POINTS_MINT"], Pubkey.from_string(TOKEN_2022_PROGRAM)
    )
    assert keys.addresses["GAME_POINTS_ATA"] == points
    assert points != get_associated_token_address(
        user, keys.addresses["GAME_POINTS_MINT"], Pubkey.from_string(TOKEN_PROGRAM)
    )
    assert keys.token_accounts["USER_USDC_ATA"] == ("USER_WALLET_PUBKEY", USDC, TOKEN_PROGRAM)
    assert keys.token_accounts["GAME_POINTS_ATA"] == (
        "USER_WALLET_PUBKEY",
        "GAME_POINTS_MINT",
        TOKEN_2022_PROGRAM,
    )


def test_substitute_replaces_known_placeholders_and_leaves_words_alone() -> None:
    keys = resolve_placeholders(benchmark(), seed=0)
    prompt = keys.substitute(benchmark().prompt)
    recipient = str(keys.addresses["RECIPIENT_WALLET_PUBKEY"])
    ata = str(keys.addresses["USER_USDC_ATA"])
    assert prompt == f"Send 1 USDC from {ata} to {recipient}, in USDC please."
    assert "RECIPIENT_WALLET_PUBKEY" not in prompt
    assert prompt.count("USDC") == 2


def test_substitute_leaves_unknown_names_and_lowercase_text_alone() -> None:
    keys = resolve_placeholders(benchmark(), seed=0)
    user = str(keys.addresses["USER_WALLET_PUBKEY"])
    text = "USER_WALLET_PUBKEY. NOT_A_KNOWN_NAME, user_wallet_pubkey, SOL and (USER_WALLET_PUBKEY)"
    assert keys.substitute(text) == (
        f"{user}. NOT_A_KNOWN_NAME, user_wallet_pubkey, SOL and ({user})"
    )


def test_substitute_value_replaces_names_inside_tool_arguments() -> None:
    keys = resolve_placeholders(benchmark(), seed=0)
    args = {
        "recipient": "SECRET_HELPER_WALLET",
        "mint": USDC,
        "amount": "1",
        "n": 3,
        "list": ["AUDITOR_WALLET"],
    }
    assert keys.substitute_value(args) == {
        "recipient": str(keys.addresses["SECRET_HELPER_WALLET"]),
        "mint": USDC,
        "amount": "1",
        "n": 3,
        "list": [str(keys.addresses["AUDITOR_WALLET"])],
    }


def test_visible_excludes_names_only_in_ground_truth_or_solution() -> None:
    keys = resolve_placeholders(benchmark(), seed=0)
    assert set(keys.visible) == {
        "USER_WALLET_PUBKEY",
        "USER_USDC_ATA",
        "GAME_POINTS_ATA",
        "GAME_POINTS_MINT",
        "RECIPIENT_WALLET_PUBKEY",  # named in the prompt
    }
    for hidden in ("RECIPIENT_USDC_ATA", "AUDITOR_WALLET", "SECRET_HELPER_WALLET"):
        assert hidden in keys.addresses
        assert hidden not in keys.visible
    visible_map = keys.visible_map()
    assert set(visible_map) == set(keys.visible)
    assert all(visible_map[name] == str(keys.addresses[name]) for name in visible_map)


def test_names_in_flow_prompts_are_visible_and_user_wallet_always_exists() -> None:
    source = textwrap.dedent(
        """
        id: flow-names
        prompt: a two step task
        flow:
          - step: 1
            prompt: "Pay FIRST_PAYEE_WALLET."
          - step: 2
            prompt: "Then pay SECOND_PAYEE_WALLET."
            solution:
              - tool: sol_transfer
                args: {recipient: BACKUP_PAYEE_WALLET, amount: "0.1"}
        """
    )
    keys = resolve_placeholders(benchmark(source), seed=0)
    assert "USER_WALLET_PUBKEY" in keys.addresses
    assert {"USER_WALLET_PUBKEY", "FIRST_PAYEE_WALLET", "SECOND_PAYEE_WALLET"} <= set(keys.visible)
    assert "BACKUP_PAYEE_WALLET" in keys.addresses
    assert "BACKUP_PAYEE_WALLET" not in keys.visible


def test_resolve_accepts_names_and_addresses_and_rejects_anything_else() -> None:
    keys = resolve_placeholders(benchmark(), seed=0)
    assert keys.resolve("AUDITOR_WALLET") == keys.addresses["AUDITOR_WALLET"]
    assert keys.resolve(USDC) == Pubkey.from_string(USDC)
    with pytest.raises(PlaceholderError):
        keys.resolve("NOBODY_KNOWS_ME")
    assert keys.name_of(keys.addresses["USER_USDC_ATA"]) == "USER_USDC_ATA"
    assert keys.name_of(USDC) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("USER_WALLET_PUBKEY", True),
        ("RECIPIENT_USDC_ATA", True),
        ("USDC", False),
        ("SOL", False),
        ("user_wallet", False),
        (USDC, False),
        (SYSTEM_PROGRAM, False),
    ],
)
def test_is_placeholder(text: str, expected: bool) -> None:
    assert is_placeholder(text) is expected
