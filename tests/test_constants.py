"""reev.constants is the one place that spells a program id: each constant is the `Pubkey` of
its documented base58 address, and no other module of src/reev writes one out."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from solders.pubkey import Pubkey

import reev.programs
from reev import constants

SRC = Path(__file__).resolve().parent.parent / "src" / "reev"

# The addresses as Solana documents them (docs.solana.com / the SPL program docs).
DOCUMENTED = {
    "SYSTEM_PROGRAM": "11111111111111111111111111111111",
    "TOKEN_PROGRAM": "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA",
    "TOKEN_2022_PROGRAM": "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb",
    "ATA_PROGRAM": "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL",
    "MEMO_PROGRAM": "MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr",
    "MEMO_V1_PROGRAM": "Memo1UhkJRfHyvLMcVucJwxXeuD728EqVDDwQDxFMNo",
    "COMPUTE_BUDGET_PROGRAM": "ComputeBudget111111111111111111111111111111",
    "STAKE_PROGRAM": "Stake11111111111111111111111111111111111111",
    "VOTE_PROGRAM": "Vote111111111111111111111111111111111111111",
    "JUPITER_V6_PROGRAM": "JUP6LkbZbjS1jKKwapdHNy74zcZ3tLUZoi5QNyVTaV4",
    "UPGRADEABLE_LOADER_PROGRAM": "BPFLoaderUpgradeab1e11111111111111111111111",
    "ADDRESS_LOOKUP_TABLE_PROGRAM": "AddressLookupTab1e1111111111111111111111111",
    "CONFIG_PROGRAM": "Config1111111111111111111111111111111111111",
    "BPF_LOADER_PROGRAM": "BPFLoader2111111111111111111111111111111111",
    "NATIVE_MINT": "So11111111111111111111111111111111111111112",
}


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_each_constant_is_the_pubkey_of_its_documented_address(name: str) -> None:
    value = getattr(constants, name)
    assert isinstance(value, Pubkey)
    assert str(value) == DOCUMENTED[name]


def test_every_pubkey_in_the_module_is_documented_here() -> None:
    """A new constant gets its documented address in this test too (reev's own program ids
    belong to reev.programs; constants imports them to name them)."""
    own = {value for value in vars(reev.programs).values() if isinstance(value, Pubkey)}
    found = {
        name
        for name, value in vars(constants).items()
        if isinstance(value, Pubkey) and value not in own
    }
    assert found == set(DOCUMENTED)


def test_groups_and_limits() -> None:
    assert constants.TOKEN_PROGRAMS == (constants.TOKEN_PROGRAM, constants.TOKEN_2022_PROGRAM)
    assert constants.U64_MAX == (1 << 64) - 1
    assert constants.LAMPORTS_PER_SOL == 10**constants.SOL_DECIMALS == 1_000_000_000


def test_program_names_cover_reev_programs_and_read_text_or_pubkeys() -> None:
    assert all(isinstance(key, Pubkey) for key in constants.PROGRAM_NAMES)
    own = {value for value in vars(reev.programs).values() if isinstance(value, Pubkey)}
    assert own and own <= set(constants.PROGRAM_NAMES)  # every program reev loads has a name
    token = DOCUMENTED["TOKEN_PROGRAM"]
    assert constants.program_name(token) == "SPL Token"
    assert constants.program_name(Pubkey.from_string(token)) == "SPL Token"
    assert constants.program_name(str(Pubkey.new_unique())) is None
    assert constants.program_name("not base58 0OIl") is None


def _program_id_texts() -> set[str]:
    ids = {str(v) for v in vars(constants).values() if isinstance(v, Pubkey)}
    ids |= {str(v) for v in vars(reev.programs).values() if isinstance(v, Pubkey)}
    return ids


_BASE58_WORD = re.compile(r"[1-9A-HJ-NP-Za-km-z]{32,44}")


def _spelled_ids(source: str) -> list[int]:
    """Lines of string literals (f-string parts included, docstrings not) holding a program id
    as a word: `StakeConfig1111…` is not the System program's `1111…`."""
    tree = ast.parse(source)
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add(id(body[0].value))
    ids = _program_id_texts()
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
        and ids.intersection(_BASE58_WORD.findall(node.value))
    ]


def test_the_scan_finds_a_spelled_program_id() -> None:
    """The check below can fail: a literal is found, in an f-string part too; a docstring and
    a longer word that merely contains an id are not."""
    token = DOCUMENTED["TOKEN_PROGRAM"]
    system = DOCUMENTED["SYSTEM_PROGRAM"]
    source = (
        f'"""{token} in a docstring."""\n'
        f'OWNER = "{token}"\n'
        f'LABEL = f"owned by {system}: {{1}}"\n'
        f'CONFIG = "StakeConfig{system}"\n'
    )
    assert sorted(_spelled_ids(source)) == [2, 3]


def test_no_module_outside_constants_and_programs_spells_a_program_id() -> None:
    allowed = {SRC / "constants.py", SRC / "programs" / "__init__.py"}
    found = {
        str(path.relative_to(SRC)): lines
        for path in sorted(SRC.rglob("*.py"))
        if path not in allowed and (lines := _spelled_ids(path.read_text()))
    }
    assert found == {}
