"""A second `reev chain serve` playing mainnet for the fork tests.

It starts empty and is given, with surfpool's `surfnet_setAccount` cheat code (through
`RpcChain`), what tests/fork/fork-001-upstream-programs.yml needs and no benchmark declares:
an upgradeable program with its program-data account (the SPL Token ELF LiteSVM ships, at a new
address), a BPF-loader-2 program (the SPL Memo ELF, at a new address), an SPL Token mint the
benchmark does not declare and a funded treasury.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from solders.account import Account
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.pubkey import Pubkey

from helpers.paths import TESTS
from reev.chain.accounts import MINT_LEN, pack_mint
from reev.chain.rpc_backend import RpcChain
from reev.constants import UPGRADEABLE_LOADER_PROGRAM

BENCHMARK = TESTS / "fork" / "fork-001-upstream-programs.yml"
SYSTEM = Pubkey.from_string("11111111111111111111111111111111")
TOKEN = Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")


def _address(name: str) -> Pubkey:
    return Keypair.from_seed(hashlib.sha256(f"reev/fork-test/{name}".encode()).digest()).pubkey()


FORK_TOKEN = _address("program")  # 5M7U7vBbot8iqVcip84FBkuiqPBtph1zDDbp2rBxfuc5
FORK_MEMO = _address("memo")  # FkQxyXCwGb1rCXMxZB7JpLbtC4gCMXecUXj4yn8aSdPH
FORK_MINT = _address("mint")  # 4wQJ21R2QLvXJ3gt9huvAR2s494A5iZC95Y8wKr2YnFA
TREASURY = _address("treasury")  # Hk5mobgPV5H72d6ddgpT5cFMZgXM1J7PcJLVj1SGRD1k
FORK_TOKEN_DATA = Pubkey.find_program_address([bytes(FORK_TOKEN)], UPGRADEABLE_LOADER_PROGRAM)[0]
TREASURY_LAMPORTS = 2_000_000_000  # the benchmark's expected treasury balance starts from this
MINT_DECIMALS = 6  # 1500000 base units are "1.5"


def upstream_accounts() -> list[tuple[Pubkey, Account]]:
    """The upstream's accounts, program data before its program (a chain compiles a program
    when it is set, from its program data)."""
    svm = LiteSVM()
    token = svm.get_account(TOKEN)
    token_data = svm.get_account(Pubkey.from_bytes(bytes(token.data)[4:36]))
    memo = svm.get_account(Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr"))
    rent = svm.minimum_balance_for_rent_exemption
    return [
        (
            FORK_TOKEN_DATA,
            Account(
                token_data.lamports, bytes(token_data.data), UPGRADEABLE_LOADER_PROGRAM, False, 0
            ),
        ),
        (
            FORK_TOKEN,
            Account(
                rent(36),
                (2).to_bytes(4, "little") + bytes(FORK_TOKEN_DATA),
                UPGRADEABLE_LOADER_PROGRAM,
                True,
                0,
            ),
        ),
        (FORK_MEMO, Account(memo.lamports, bytes(memo.data), memo.owner, True, 0)),
        (
            FORK_MINT,
            Account(
                rent(MINT_LEN),
                pack_mint(
                    decimals=MINT_DECIMALS,
                    supply=10**12,
                    mint_authority=TREASURY,
                    freeze_authority=None,
                ),
                TOKEN,  # a mainnet-style SPL Token mint: the token program checks its mints' owner
                False,
                0,
            ),
        ),
        (TREASURY, Account(TREASURY_LAMPORTS, b"", SYSTEM, False, 0)),
    ]


class Upstream:
    """`reev chain serve` in its own process; `stop()` takes it down mid-test."""

    def __init__(self, cwd: Path):
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "reev.cli",
                "chain",
                "serve",
                "--port",
                "0",
                "--ws-port",
                "-1",
                "--json",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=cwd,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(
                f"upstream did not start: {self.process.stderr.read() if self.process.stderr else ''}"
            )
        self.url: str = json.loads(line)["rpc_url"]
        chain = RpcChain(self.url)
        for address, account in upstream_accounts():
            chain.set_account(address, account)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=10)
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()


@contextlib.contextmanager
def upstream(cwd: Path) -> Iterator[Upstream]:
    node = Upstream(cwd)
    try:
        yield node
    finally:
        node.stop()
