"""Program ids and their names, in one place."""

from __future__ import annotations

SYSTEM = "11111111111111111111111111111111"
TOKEN = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"
TOKEN_2022 = "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb"
ATA = "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL"
MEMO = "MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr"
COMPUTE_BUDGET = "ComputeBudget111111111111111111111111111111"
STAKE = "Stake11111111111111111111111111111111111111"
VOTE = "Vote111111111111111111111111111111111111111"
JUPITER_V6 = "JUP6LkbZbjS1jKKwapdHNy74zcZ3tLUZoi5QNyVTaV4"

PROGRAM_NAMES: dict[str, str] = {
    SYSTEM: "System",
    TOKEN: "SPL Token",
    TOKEN_2022: "Token-2022",
    ATA: "Associated Token",
    MEMO: "Memo",
    COMPUTE_BUDGET: "Compute Budget",
    STAKE: "Stake",
    VOTE: "Vote",
    JUPITER_V6: "Jupiter v6",
}

TOKEN_PROGRAMS = (TOKEN, TOKEN_2022)
