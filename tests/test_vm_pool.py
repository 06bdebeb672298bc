"""Reused VMs (`reev.chain.vm_pool`): every episode sees exactly what a fresh VM would show it.

The runner's default chain takes a VM an earlier episode used and put back. These tests run
episodes on fresh VMs and on reused ones, in random orders, and require the same session files
(signatures, logs, observations, scores) and the same chain state at the end of each episode;
then the two things LiteSVM cannot set back (its blockhash, read by durable nonces and the
RecentBlockhashes sysvar; its program cache) are checked on their own.
"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from solders.account import Account
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message
from solders.pubkey import Pubkey
from solders.system_program import (
    AdvanceNonceAccountParams,
    TransferParams,
    advance_nonce_account,
    create_nonce_account,
    transfer,
)
from solders.transaction import VersionedTransaction

from helpers.sessions import comparable_session
from helpers.suite import bundled
from reev.agents import DeterministicAgent
from reev.chain.litesvm import (
    RECENT_BLOCKHASHES,
    SYSVAR_OWNER,
    LiteSVMChain,
    pooled_chain,
    prepared_vm,
)
from reev.chain.vm_pool import PooledVM, VMPool, blockhash_at
from reev.constants import (
    ADDRESS_LOOKUP_TABLE_PROGRAM,
    ATA_PROGRAM,
    BPF_LOADER_PROGRAM,
    MEMO_PROGRAM,
    STAKE_PROGRAM,
    SYSTEM_PROGRAM,
    TOKEN_PROGRAMS,
    UPGRADEABLE_LOADER_PROGRAM,
    VOTE_PROGRAM,
)
from reev.errors import ChainError
from reev.programs import AMM_PROGRAM_ID, LEND_PROGRAM_ID, reev_programs
from reev.rpc.node import ChainNode
from reev.runner import run_suite
from reev.runner.episode import run_episode
from reev.spec import Benchmark

BENCHMARKS = list(bundled().values())
NATIVE_LOADER = Pubkey.from_string("NativeLoader1111111111111111111111111111111")
OWNERS = [SYSTEM_PROGRAM, *TOKEN_PROGRAMS, STAKE_PROGRAM, VOTE_PROGRAM, ATA_PROGRAM]
OWNERS += [AMM_PROGRAM_ID, LEND_PROGRAM_ID, ADDRESS_LOOKUP_TABLE_PROGRAM, NATIVE_LOADER]
OWNERS += [UPGRADEABLE_LOADER_PROGRAM, BPF_LOADER_PROGRAM]
RECIPIENT = Keypair.from_seed(bytes([10]) * 32).pubkey()


def chain_state(chain: LiteSVMChain) -> dict[str, Any]:
    """What can be read of a chain: every account of the owners reev's benchmarks use, the
    sysvars (but RecentBlockhashes, which only a settled chain shows: tested below), the epoch
    stakes and the blockhash the next transaction would be signed with. Not LiteSVM's airdrop
    faucet: every LiteSVM draws its own at random, and nothing in an episode uses it."""
    svm = chain.svm
    faucet = svm.airdrop_pubkey()
    accounts = {
        str(owner): sorted(
            (str(a), x.lamports, bytes(x.data), str(x.owner), x.executable, x.rent_epoch)
            for a, x in svm.get_program_accounts(owner)
            if x.lamports > 0 and a != faucet
        )
        for owner in OWNERS
    }
    sysvars = sorted(
        (str(a), bytes(x.data))
        for a, x in svm.get_program_accounts(SYSVAR_OWNER)
        if a != RECENT_BLOCKHASHES
    )
    return {
        "accounts": accounts,
        "sysvars": sysvars,
        "epoch_total_stake": svm.epoch_total_stake(),
        "next_blockhash": str(chain.latest_blockhash()),
    }


class StateKeepingChain(LiteSVMChain):
    """Notes the chain's state when the episode releases it (scored, about to be reused)."""

    states: list[dict[str, Any]]

    def release(self) -> None:
        self.states.append(chain_state(self))
        super().release()


def fresh_factory(states: list[dict[str, Any]]):
    def make() -> LiteSVMChain:
        chain = StateKeepingChain()
        chain.states = states
        return chain

    return make


def pooled_factory(pool: VMPool, states: list[dict[str, Any]]):
    def make() -> LiteSVMChain:
        chain = StateKeepingChain(vm=pool.take() or PooledVM.prepared(prepared_vm()), pool=pool)
        chain.states = states
        return chain

    return make


def episode(
    benchmark: Benchmark, seed: int, factory: Any, tmp: Path
) -> tuple[dict[str, Any], tuple[str, ...]]:
    result = asyncio.run(
        run_episode(benchmark, DeterministicAgent(), seed=seed, log_dir=tmp, chain_factory=factory)
    )
    return comparable_session(result.session_file), result.signatures


_fresh: dict[tuple[str, int], tuple[dict[str, Any], tuple[str, ...], dict[str, Any]]] = {}


def fresh_episode(benchmark: Benchmark, seed: int, tmp: Path):
    """The episode on a fresh VM (computed once per benchmark and seed)."""
    key = (benchmark.id, seed)
    if key not in _fresh:
        states: list[dict[str, Any]] = []
        session, signatures = episode(benchmark, seed, fresh_factory(states), tmp)
        _fresh[key] = (session, signatures, states[0])
    return _fresh[key]


def test_blockhash_at_is_litesvm_s_own_sequence():
    svm = LiteSVM()
    for expirations in range(64):
        assert svm.latest_blockhash() == blockhash_at(expirations)
        svm.expire_blockhash()


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(st.integers(0, len(BENCHMARKS) - 1), st.integers(0, 1)), min_size=2, max_size=6
    )
)
def test_any_sequence_of_episodes_on_one_reused_vm_matches_fresh_vms(tmp_path, sequence):
    pool, states = VMPool(max_idle=1), []
    factory = pooled_factory(pool, states)
    for index, seed in sequence:
        benchmark = BENCHMARKS[index]
        session, signatures = episode(benchmark, seed, factory, tmp_path)
        fresh_session, fresh_signatures, fresh_state = fresh_episode(benchmark, seed, tmp_path)
        assert signatures == fresh_signatures, benchmark.id
        assert session == fresh_session, benchmark.id
        assert states[-1] == fresh_state, benchmark.id
    assert pool.created == 1 and pool.reused == len(sequence) - 1  # one VM served them all


def test_the_suite_in_a_shuffled_order_on_reused_vms_matches_fresh_vms(tmp_path):
    def sessions(order: list[Benchmark], factory: Any, concurrency: int, where: Path):
        suite = asyncio.run(
            run_suite(
                order,
                DeterministicAgent,
                log_dir=where,
                chain_factory=factory,
                max_concurrency=concurrency,
            )
        )
        return {
            r.benchmark_id: (comparable_session(r.session_file), r.signatures, r.score)
            for r in suite.results
        }

    fresh = sessions(BENCHMARKS, fresh_factory([]), 1, tmp_path / "fresh")
    order = BENCHMARKS[:]
    random.Random(18).shuffle(order)
    pool = VMPool()
    reused = sessions(order, lambda: pooled_chain(pool), 4, tmp_path / "reused")
    assert reused == fresh
    assert pool.created <= 4 and pool.reused >= len(BENCHMARKS) - 4


def _nonce_story(chain: LiteSVMChain) -> tuple[Any, ...]:
    """Create a durable nonce, read the RecentBlockhashes sysvar, advance the nonce: what
    LiteSVM's own blockhash decides."""
    payer, nonce = Keypair.from_seed(bytes([7]) * 32), Keypair.from_seed(bytes([8]) * 32)
    chain.set_account(payer.pubkey(), Account(10**10, b"", SYSTEM_PROGRAM, False, 0))
    created = chain.send(
        create_nonce_account(payer.pubkey(), nonce.pubkey(), payer.pubkey(), 10**8),
        payer,
        [nonce],
    )
    first = chain.get_account(nonce.pubkey())
    recent = chain.get_account(RECENT_BLOCKHASHES)
    advance = AdvanceNonceAccountParams(
        nonce_pubkey=nonce.pubkey(), authorized_pubkey=payer.pubkey()
    )
    advanced = chain.send([advance_nonce_account(advance)], payer, [])
    stored = chain.get_account(nonce.pubkey())
    assert created.success and advanced.success, (created.error, advanced.error)
    assert first is not None and recent is not None and stored is not None
    return (
        created.signature,
        advanced.signature,
        bytes(first.data),
        bytes(recent.data),
        bytes(stored.data),
    )


def _used_pool() -> VMPool:
    """A pool holding one VM that an episode's worth of transactions moved on."""
    pool = VMPool()
    chain = pooled_chain(pool)
    payer = Keypair.from_seed(bytes([9]) * 32)
    chain.set_account(payer.pubkey(), Account(10**10, b"", SYSTEM_PROGRAM, False, 0))
    for lamports in (10**9, 2, 3):  # the first makes the recipient rent-exempt
        ix = transfer(
            TransferParams(from_pubkey=payer.pubkey(), to_pubkey=RECIPIENT, lamports=lamports)
        )
        assert chain.send([ix], payer, []).success
    chain.release()
    return pool


def test_durable_nonces_on_a_reused_vm_match_a_fresh_vm():
    fresh = _nonce_story(LiteSVMChain())
    pool = _used_pool()
    chain = pooled_chain(pool)
    assert pool.reused == 1 and not chain.exact  # its own blockhash moved on with the last episode
    assert _nonce_story(chain) == fresh
    chain.release()


def _sysvars(chain: LiteSVMChain) -> list[tuple[str, bytes]]:
    """The sysvar accounts (LiteSVM lists them in no set order)."""
    return sorted((str(a), bytes(x.data)) for a, x in chain.accounts_owned_by(SYSVAR_OWNER))


@pytest.mark.parametrize("read", ["get_account", "accounts_owned_by"])
def test_reading_the_recent_blockhashes_sysvar_settles_a_reused_vm(read):
    chain = pooled_chain(_used_pool())
    assert not chain.exact
    if read == "get_account":
        assert chain.get_account(RECENT_BLOCKHASHES) == LiteSVMChain().get_account(
            RECENT_BLOCKHASHES
        )
    else:
        assert _sysvars(chain) == _sysvars(LiteSVMChain())
    assert chain.exact  # moved to a new VM, which reads LiteSVM's blockhash itself from now on


def test_a_transaction_that_names_the_recent_blockhashes_sysvar_settles_a_reused_vm():
    # A program may read any account a transaction passes it: this one gets the sysvar.
    chain = pooled_chain(_used_pool())
    payer = Keypair.from_seed(bytes([7]) * 32)
    chain.set_account(payer.pubkey(), Account(10**10, b"", SYSTEM_PROGRAM, False, 0))
    memo = Instruction(MEMO_PROGRAM, b"hi", [AccountMeta(RECENT_BLOCKHASHES, False, False)])
    assert not chain.exact
    chain.send([memo], payer, [])
    assert chain.exact


def test_a_chain_served_over_rpc_is_exact_and_its_vm_never_reused():
    pool = _used_pool()
    chain = pooled_chain(pool)
    assert not chain.exact
    chain.keep_vm()
    assert chain.exact and chain.svm.latest_blockhash() == blockhash_at(0)
    chain.release()
    assert pool.take() is not None  # the settled-from VM went back
    assert pool.take() is None  # the served one did not


def test_a_released_chain_cannot_be_used():
    chain = pooled_chain(VMPool())
    chain.release()
    with pytest.raises(ChainError, match="released"):
        chain.get_account(SYSTEM_PROGRAM)


@pytest.mark.parametrize("change", ["executable account", "loader instruction"])
def test_a_vm_whose_programs_changed_is_not_reused(change):
    pool = VMPool()
    chain = pooled_chain(pool)
    payer = Keypair.from_seed(bytes([3]) * 32)
    chain.set_account(payer.pubkey(), Account(10**10, b"", SYSTEM_PROGRAM, False, 0))
    if change == "executable account":
        elf = reev_programs()[AMM_PROGRAM_ID]  # a real program, at a new address
        chain.set_account(Pubkey.new_unique(), Account(10**9, elf, BPF_LOADER_PROGRAM, True, 0))
    else:
        close = Instruction(UPGRADEABLE_LOADER_PROGRAM, bytes([5, 0, 0, 0]), [])
        assert not chain.send([close], payer, []).success
    chain.release()
    assert pool.take() is None and pool.created == 2


@pytest.mark.parametrize("before", ["033-flow-stake-lifecycle", "031-stake-deactivate"])
def test_an_episode_after_one_that_moved_the_clock_and_stake_matches_fresh_vms(before, tmp_path):
    """Stake episodes move the clock, the stake history and the epoch stakes: all put back."""
    suite = bundled()
    pool, states = VMPool(max_idle=1), []
    factory = pooled_factory(pool, states)
    for benchmark in (suite[before], suite["001-sol-transfer"], suite[before]):
        session, signatures = episode(benchmark, 0, factory, tmp_path)
        assert (session, signatures, states[-1]) == fresh_episode(benchmark, 0, tmp_path)
    assert pool.created == 1


def test_advancing_epochs_is_undone_when_the_vm_goes_back():
    pool = VMPool()
    chain = pooled_chain(pool)
    pristine = chain_state(chain)
    chain.advance_epochs(2)
    assert chain_state(chain) != pristine
    chain.release()
    again = pooled_chain(pool)
    assert pool.reused == 1
    assert chain_state(again) == pristine


def test_an_rpc_agent_s_failed_transaction_lands_as_on_a_fresh_vm():
    """The node relies on LiteSVM's transaction history to tell a failed transaction that paid
    its fee from one rejected before execution: a kept VM has LiteSVM's own settings."""

    def failed_transfer(chain: LiteSVMChain) -> tuple[Any, ...]:
        node = ChainNode(chain)
        payer = Keypair.from_seed(bytes([5]) * 32)
        chain.set_account(payer.pubkey(), Account(10**9, b"", SYSTEM_PROGRAM, False, 0))
        too_much = TransferParams(from_pubkey=payer.pubkey(), to_pubkey=RECIPIENT, lamports=10**12)
        blockhash, _ = node.latest_blockhash()
        message = Message.new_with_blockhash([transfer(too_much)], payer.pubkey(), blockhash)
        tx = VersionedTransaction(message, [payer])
        record, error = node.process(tx)
        again = node.process(tx)
        balance = chain.svm.get_balance(payer.pubkey())
        return record is not None, str(error), str(again[1]), balance, node.transaction_count

    fresh = failed_transfer(LiteSVMChain())
    assert fresh[0] and "AlreadyProcessed" in fresh[2]  # landed (fee paid), then refused
    pool = _used_pool()
    chain = pooled_chain(pool)
    chain.keep_vm()
    assert chain.exact
    assert failed_transfer(chain) == fresh


def test_settling_replaces_the_vm_and_does_not_grow_the_pool():
    pool = _used_pool()
    chain = pooled_chain(pool)
    chain.get_account(RECENT_BLOCKHASHES)  # settles onto a new VM
    chain.release()
    assert pool.created == 2  # the first episode's VM, and the one settled onto
    assert pool.take() is not None and pool.take() is None  # one idle VM, as before


def test_warm_pool_tops_a_pool_up_to_the_count_asked():
    """reev.runner.warm fills the forkserver's pool ahead of need; asked twice, the pool ends
    with the larger count idle, the VMs already there counted in."""
    from reev.chain.litesvm import warm_pool
    from reev.chain.vm_pool import VMPool

    pool = VMPool()
    warm_pool(2, pool)
    assert (pool.idle, pool.created) == (2, 2)
    warm_pool(4, pool)
    assert (pool.idle, pool.created, pool.reused) == (4, 4, 2)
