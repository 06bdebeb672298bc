"""Every chain reev builds has its programs, and a fork never asks its source for them."""

from __future__ import annotations

from pathlib import Path

from solders.instruction import Instruction
from solders.keypair import Keypair

from reev.chain.fork import AccountSource
from reev.chain.litesvm import LiteSVMChain
from reev.programs import AMM_PROGRAM_ID, reev_programs

from .amm_env import custom_error


def test_reev_programs_are_the_committed_files() -> None:
    programs = reev_programs()
    assert list(programs) == [AMM_PROGRAM_ID]
    assert programs[AMM_PROGRAM_ID][:4] == b"\x7fELF"


def test_an_embedded_chain_has_the_amm() -> None:
    chain = LiteSVMChain()
    account = chain.get_account(AMM_PROGRAM_ID)
    assert account is not None and account.executable


def test_a_fork_runs_the_amm_without_fetching_it(tmp_path: Path) -> None:
    # offline replay of an empty snapshot: any account the chain lacks would raise
    chain = LiteSVMChain(AccountSource(tmp_path))
    payer = Keypair.from_seed(bytes([3]) * 32)
    chain.svm.airdrop(payer.pubkey(), 10**9)
    result = chain.send([Instruction(AMM_PROGRAM_ID, bytes([99]), [])], payer, [])
    assert not result.success
    assert custom_error(result) == 1  # InvalidInstruction: the program ran
    assert chain.forked == []
    assert list(tmp_path.iterdir()) == []
