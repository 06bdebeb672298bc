"""Program ids and chain constants, in one place, as the values the chain uses.

Ids are `Pubkey`s so code compares them with what solders hands back (instruction program ids,
account owners) without converting; where a string crosses a contract (YAML benchmarks, JSON
session files, RPC answers) the caller writes `str(CONSTANT)`. reev's own programs keep their
ids next to their sources (`reev.programs`); this module only names them.
"""

from __future__ import annotations

from solders.pubkey import Pubkey

from reev.programs import AMM_PROGRAM_ID, LEND_PROGRAM_ID

SYSTEM_PROGRAM = Pubkey.from_string("11111111111111111111111111111111")
TOKEN_PROGRAM = Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
TOKEN_2022_PROGRAM = Pubkey.from_string("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb")
ATA_PROGRAM = Pubkey.from_string("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL")
MEMO_PROGRAM = Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr")
# The first Memo program, still read by getSignaturesForAddress' `memo`.
MEMO_V1_PROGRAM = Pubkey.from_string("Memo1UhkJRfHyvLMcVucJwxXeuD728EqVDDwQDxFMNo")
COMPUTE_BUDGET_PROGRAM = Pubkey.from_string("ComputeBudget111111111111111111111111111111")
STAKE_PROGRAM = Pubkey.from_string("Stake11111111111111111111111111111111111111")
VOTE_PROGRAM = Pubkey.from_string("Vote111111111111111111111111111111111111111")
JUPITER_V6_PROGRAM = Pubkey.from_string("JUP6LkbZbjS1jKKwapdHNy74zcZ3tLUZoi5QNyVTaV4")
UPGRADEABLE_LOADER_PROGRAM = Pubkey.from_string("BPFLoaderUpgradeab1e11111111111111111111111")
ADDRESS_LOOKUP_TABLE_PROGRAM = Pubkey.from_string("AddressLookupTab1e1111111111111111111111111")
# Builtins the fee estimate charges 3,000 compute units, beside those above.
CONFIG_PROGRAM = Pubkey.from_string("Config1111111111111111111111111111111111111")
BPF_LOADER_PROGRAM = Pubkey.from_string("BPFLoader2111111111111111111111111111111111")

# The two programs whose accounts hold SPL token balances (same layout for the base fields).
TOKEN_PROGRAMS = (TOKEN_PROGRAM, TOKEN_2022_PROGRAM)
# Wrapped SOL: the SPL Token mint whose accounts hold lamports as their balance.
NATIVE_MINT = Pubkey.from_string("So11111111111111111111111111111111111111112")

PROGRAM_NAMES: dict[Pubkey, str] = {
    SYSTEM_PROGRAM: "System",
    TOKEN_PROGRAM: "SPL Token",
    TOKEN_2022_PROGRAM: "Token-2022",
    ATA_PROGRAM: "Associated Token",
    MEMO_PROGRAM: "Memo",
    COMPUTE_BUDGET_PROGRAM: "Compute Budget",
    STAKE_PROGRAM: "Stake",
    VOTE_PROGRAM: "Vote",
    JUPITER_V6_PROGRAM: "Jupiter v6",
    AMM_PROGRAM_ID: "reev AMM",
    LEND_PROGRAM_ID: "reev Lend",
}

LAMPORTS_PER_SOL = 1_000_000_000
SOL_DECIMALS = 9
U64_MAX = 2**64 - 1


def program_name(program_id: Pubkey | str) -> str | None:
    """The human name of a known program, or None; takes the base58 text that logs and session
    files carry as well as a `Pubkey` (text that is not a pubkey names nothing)."""
    if isinstance(program_id, str):
        try:
            program_id = Pubkey.from_string(program_id)
        except ValueError:
            return None
    return PROGRAM_NAMES.get(program_id)
