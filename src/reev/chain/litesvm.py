"""The embedded chain: solders' LiteSVM, in-process, a pristine VM per episode.

LiteSVM loads System, SPL Token, Token-2022, ATA, Memo, Address Lookup Table, Compute Budget and
Stake programs by default; reev adds its own (`reev.programs`: the AMM). The clock is pinned so that programs reading it behave the same in
every run, and the blockhash is rotated after each transaction so that an agent may legitimately
send the same transfer twice (each lands in its own "block"). `advance_epochs` moves the clock
forward by whole epochs and does the epoch-boundary bookkeeping the Stake program reads.

`pooled_chain()` (the runner's default) takes its VM from this process's pool of reused VMs
(`reev.chain.vm_pool`) and gives it back, restored, on `release()`; the episode sees exactly what
a fresh VM would show it, down to the signatures. `LiteSVMChain()` builds a fresh VM.

Given an `AccountSource` the chain is a fork (`reev.chain.fork`): an account it lacks is loaded
from the snapshot (or the upstream RPC, while recording) the first time it is read or a
transaction names it.
"""

from __future__ import annotations

from collections.abc import Iterable

from solders.account import Account
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.litesvm import Clock, LiteSVM
from solders.message import Message
from solders.pubkey import Pubkey
from solders.stake_history import StakeHistoryEntry
from solders.transaction import Transaction
from solders.transaction_metadata import FailedTransactionMetadata

from reev.chain.errors import describe_error
from reev.chain.fork import (
    NEVER_FETCHED,
    NOT_LOADABLE_OWNERS,
    AccountSource,
    ChainDataUnavailable,
    SnapshotEntry,
    programdata_address,
    usable_lookup_table,
)
from reev.chain.instructions import InstructionRecord
from reev.chain.protocol import TxResult
from reev.chain.stake import activation, decode_stake
from reev.chain.vm_pool import ABSENT, LOADER_PROGRAMS, POOL, PooledVM, VMPool, blockhash_at
from reev.constants import STAKE_PROGRAM
from reev.errors import ChainError, InputError
from reev.programs import load_programs

FIXED_SLOT = 300_000_000
FIXED_UNIX_TIMESTAMP = 1_735_689_600  # 2025-01-01T00:00:00Z
PACKET_DATA_SIZE = 1232  # a serialized transaction must fit one packet, as on every cluster
SLOT_DURATION_MS = 400  # the clock's unix_timestamp moves 0.4 s per slot
# The rest of the cluster: effective stake delegated to validators no benchmark declares. Stake
# warms up and cools down by 9% of the cluster's effective stake per epoch, so with a
# mainnet-sized cluster a delegation of a few SOL activates (or deactivates) in one epoch.
CLUSTER_EFFECTIVE_STAKE = 400_000_000 * 10**9
SYSVAR_OWNER = Pubkey.from_string("Sysvar1111111111111111111111111111111111111")
RECENT_BLOCKHASHES = Pubkey.from_string("SysvarRecentB1ockHashes11111111111111111111")


def clock_at(svm: LiteSVM, slot: int) -> Clock:
    """The clock at `slot`: 400 ms per slot from the pinned (FIXED_SLOT, timestamp)."""
    schedule = svm.get_epoch_schedule()
    epoch = schedule.get_epoch(slot)

    def timestamp(at: int) -> int:
        return FIXED_UNIX_TIMESTAMP + (at - FIXED_SLOT) * SLOT_DURATION_MS // 1000

    return Clock(
        slot=slot,
        epoch_start_timestamp=timestamp(schedule.get_first_slot_in_epoch(epoch)),
        epoch=epoch,
        leader_schedule_epoch=schedule.get_leader_schedule_epoch(slot),
        unix_timestamp=timestamp(slot),
    )


def prepared_vm() -> LiteSVM:
    """A new VM as every episode starts on: LiteSVM's programs and reev's, the clock pinned."""
    svm = LiteSVM()
    load_programs(svm)  # reev's own programs (the AMM): local, never fetched by a fork
    svm.warp_to_slot(FIXED_SLOT)
    svm.set_clock(clock_at(svm, FIXED_SLOT))
    return svm


_pooling = True  # off if LiteSVM's blockhash sequence ever differs from `blockhash_at`


def pooled_chain(pool: VMPool = POOL) -> LiteSVMChain:
    """A chain on a VM from `pool` (this process's, by default; a new VM when none is idle).
    `release()` gives the VM back; a chain never released simply keeps its VM."""
    if not _pooling:
        return LiteSVMChain()
    return LiteSVMChain(vm=pool.take() or PooledVM.prepared(prepared_vm()), pool=pool)


def warm_pool(count: int, pool: VMPool = POOL) -> None:
    """Make `pool` hold at least `count` idle prepared VMs, built now rather than by the first
    episodes that need them: a process that forks workers builds them once and every worker
    starts with them (reev.runner.warm)."""
    if not _pooling:
        return
    chains = [pooled_chain(pool) for _ in range(count)]  # takes the idle ones first
    for chain in chains:
        chain.release()


class LiteSVMChain:
    """`Chain` over an in-process LiteSVM."""

    def __init__(
        self,
        source: AccountSource | None = None,
        *,
        vm: PooledVM | None = None,
        pool: VMPool = POOL,
    ) -> None:
        """A fresh VM, or (`vm`, from `pooled_chain`) one of `pool`'s; a fork is never pooled."""
        if vm is not None and source is not None:
            raise ChainError("a fork's chain cannot use a pooled VM")
        self._svm: LiteSVM | None = vm.svm if vm is not None else prepared_vm()
        self._vm, self._pool = vm, pool
        # The VM's blockhash index when the episode began: 0 means its own blockhash is the one
        # a fresh VM would have (the chain is exact); otherwise the chain signs with
        # blockhash_at(expirations since then) and `settle` makes it exact when that matters.
        self._start = vm.expirations if vm is not None else 0
        self._epoch_stakes: dict[Pubkey, int] = {}
        self.source = source
        self._resolved: set[Pubkey] = set()  # fork: addresses that are local or were loaded
        self.forked: list[SnapshotEntry] = []  # fork: what was loaded, in order (session files)

    def load(self, addresses: Iterable[Pubkey]) -> None:
        """Fork: make every address local before anything reads it. Accounts LiteSVM already
        has (its programs, sysvars, the initial state, whatever a transaction wrote) are never
        fetched; the rest come from the source once, with the program data of upgradeable
        programs. Raises ChainDataUnavailable when the source cannot provide one."""
        if self.source is None:
            return
        unknown = []
        for address in dict.fromkeys(addresses):
            if address in self._resolved:
                continue
            if address in NEVER_FETCHED or self.svm.get_account(address) is not None:
                self._resolved.add(address)
            else:
                unknown.append(address)
        if not unknown:
            return
        entries = self.source.load(unknown)
        programdata = []
        for entry in entries.values():
            account = entry.account()
            data_address = programdata_address(account) if account is not None else None
            if (
                data_address is not None
                and data_address not in self._resolved
                and data_address not in entries
                and self.svm.get_account(data_address) is None
            ):
                programdata.append(data_address)
        if programdata:
            entries.update(self.source.load(programdata))
        # Programs last: LiteSVM compiles a program when it is set, from its program data.
        slot = self.svm.get_clock().slot
        for address, entry in sorted(entries.items(), key=lambda item: item[1].executable):
            account = entry.account()
            if account is not None and account.owner not in NOT_LOADABLE_OWNERS:
                account = usable_lookup_table(account, slot)
                try:
                    self.svm.set_account(address, account)
                except (
                    Exception
                ) as exc:  # LiteSVMError: an ELF it cannot load, a program without data
                    raise ChainDataUnavailable(
                        f"cannot load account {address} (owner {account.owner}): {exc}"
                    ) from None
            self._resolved.add(address)
            self.forked.append(entry)

    @property
    def svm(self) -> LiteSVM:
        if self._svm is None:
            raise ChainError("this chain was released: its VM went back to the pool")
        return self._svm

    def _clock_at(self, slot: int) -> Clock:
        return clock_at(self.svm, slot)

    # ---- the pooled VM ----------------------------------------------------------------------

    @property
    def exact(self) -> bool:
        """The VM's own blockhash is the one a fresh VM would have now."""
        return self._start == 0

    def latest_blockhash(self) -> Hash:
        """What the next transaction is signed with: a fresh VM's blockhash at this point."""
        if self._vm is None or self._start == 0:
            return self.svm.latest_blockhash()
        return blockhash_at(self._vm.expirations - self._start)

    def _expire_blockhash(self) -> None:
        self.svm.expire_blockhash()
        vm = self._vm
        if vm is None:
            return
        vm.expirations += 1
        if self._start == 0 and self.svm.latest_blockhash() != blockhash_at(vm.expirations):
            # LiteSVM's sequence is not the one pooled chains sign with: stop pooling (this
            # chain stays exact, it reads the VM's own blockhash).
            global _pooling
            _pooling, vm.reusable = False, False

    def settle(self) -> None:
        """Make the chain exact: move the episode's state to a new VM whose own blockhash is
        the one a fresh VM would have. Needed before anything sees LiteSVM's own blockhash (the
        RecentBlockhashes sysvar, read or passed to a program). Rare, so a new VM is worth it;
        the old one is dropped, so a process never holds more VMs than it runs episodes."""
        if self._vm is None or self._start == 0:
            return
        new = PooledVM.prepared(prepared_vm())
        self._pool.note_built()
        self._copy_state_to(new.svm, new)
        self._vm, self._svm, self._start = new, new.svm, 0

    def keep_vm(self) -> None:
        """From now on something else drives the VM directly (the RPC node serving the chain
        to an agent): move the episode's state to a VM with LiteSVM's own settings (blockhash
        checks, transaction history: the node relies on both), exact, never pooled. The pooled
        VM goes back to the pool."""
        old = self._vm
        if old is None:
            return
        svm = prepared_vm()
        self._copy_state_to(svm, None)
        self._pool.give(old)
        self._vm, self._svm, self._start = None, svm, 0

    def _copy_state_to(self, svm: LiteSVM, vm: PooledVM | None) -> None:
        """Put this episode's state on `svm`, a new prepared VM (`vm`: its pool wrapper, which
        notes what is written): every account the episode wrote, the sysvars it moved, and the
        VM's own blockhash at the episode's point of the sequence."""
        old = self._vm
        assert old is not None
        moved = [(address, self.svm.get_account(address)) for address in old.touched]
        # Programs last: LiteSVM compiles a program when it is set, from its program data.
        for address, account in sorted(
            moved, key=lambda item: bool(item[1] and item[1].executable)
        ):
            if vm is not None:
                vm.remember(address)
            svm.set_account(address, account or ABSENT)
        if old.clock_moved:
            clock = self.svm.get_clock()
            svm.warp_to_slot(clock.slot)
            svm.set_clock(clock)
        if old.stake_history_moved:
            svm.set_stake_history(self.svm.get_stake_history())
        if old.epoch_stakes_moved:
            svm.set_epoch_stakes(self._epoch_stakes)
        expirations = old.expirations - self._start
        for _ in range(expirations):
            svm.expire_blockhash()
        if vm is not None:
            vm.clock_moved, vm.stake_history_moved = old.clock_moved, old.stake_history_moved
            vm.epoch_stakes_moved, vm.reusable = old.epoch_stakes_moved, old.reusable
            vm.expirations = expirations

    def release(self) -> None:
        """The episode is over. A pooled chain's VM goes back to the pool (restored), and the
        chain can no longer be used. A fresh chain (`LiteSVMChain()`) keeps its VM: whoever
        built it may still read it."""
        if self._vm is not None:
            self._pool.give(self._vm)
            self._svm, self._vm = None, None

    @property
    def epoch(self) -> int:
        return self.svm.get_clock().epoch

    def warp_to_slot(self, slot: int) -> None:
        """Move the clock to `slot`. Going forward, every epoch that ends on the way is
        recorded in the StakeHistory sysvar and the vote accounts' epoch stakes are updated, as
        a validator does at each epoch boundary (LiteSVM does neither), so stake really warms
        up and cools down. Going backward (only the initial-state setup does) records nothing."""
        start = self.epoch
        target = self.svm.get_epoch_schedule().get_epoch(slot)
        for finished in range(start, target):
            self._record_stake_history(finished)
        if self._vm is not None:
            self._vm.clock_moved = True
        self.svm.warp_to_slot(slot)
        self.svm.set_clock(self._clock_at(slot))
        if target > start:
            self._set_epoch_stakes(target)

    def advance_epochs(self, epochs: int) -> int:
        """Warp to the first slot of the epoch `epochs` ahead; returns the new epoch."""
        if epochs < 0:
            raise InputError(f"cannot advance by {epochs} epochs")
        if epochs == 0:
            return self.epoch
        target = self.epoch + epochs
        self.warp_to_slot(self.svm.get_epoch_schedule().get_first_slot_in_epoch(target))
        return target

    def _delegations(self) -> list:
        found = []
        for _, account in self.svm.get_program_accounts(STAKE_PROGRAM):
            info = decode_stake(bytes(account.data)) if account.lamports > 0 else None
            if info is not None and info.kind == "delegated" and info.stake is not None:
                found.append(info)
        return found

    def _record_stake_history(self, epoch: int) -> None:
        """Add the cluster's (effective, activating, deactivating) stake for `epoch`."""
        history = self.svm.get_stake_history()
        effective, activating, deactivating = CLUSTER_EFFECTIVE_STAKE, 0, 0
        for info in self._delegations():
            e, a, d = activation(
                info.stake, info.activation_epoch, info.deactivation_epoch, epoch, history
            )
            effective, activating, deactivating = effective + e, activating + a, deactivating + d
        history.add(epoch, StakeHistoryEntry(effective, activating, deactivating))
        if self._vm is not None:
            self._vm.stake_history_moved = True
        self.svm.set_stake_history(history)

    def _set_epoch_stakes(self, epoch: int) -> None:
        """The active stake of each vote account for `epoch` (the `sol_get_epoch_stake` view)."""
        history = self.svm.get_stake_history()
        stakes: dict[Pubkey, int] = {}
        for info in self._delegations():
            effective, _, _ = activation(
                info.stake, info.activation_epoch, info.deactivation_epoch, epoch, history
            )
            vote = Pubkey.from_string(info.delegated_vote)
            stakes[vote] = stakes.get(vote, 0) + effective
        self._epoch_stakes = {vote: stake for vote, stake in stakes.items() if stake > 0}
        if self._vm is not None:
            self._vm.epoch_stakes_moved = True
        self.svm.set_epoch_stakes(self._epoch_stakes)

    def get_account(self, address: Pubkey) -> Account | None:
        if address == RECENT_BLOCKHASHES:
            self.settle()
        self.load([address])
        account = self.svm.get_account(address)
        # LiteSVM reports closed accounts as zero-lamport, empty system accounts.
        if account is None or (account.lamports == 0 and len(account.data) == 0):
            return None
        return account

    def set_account(self, address: Pubkey, account: Account) -> None:
        if self._vm is not None:
            self._vm.remember(address)
            if account.executable:
                self._vm.reusable = False
        self.svm.set_account(address, account)
        self._resolved.add(address)

    def _track(self, message: Message, instructions: list[Instruction]) -> None:
        """Before a pooled chain sends `message`: make the chain exact if the transaction can
        read LiteSVM's own blockhash, and remember every account it may write."""
        keys = message.account_keys
        if self._start and RECENT_BLOCKHASHES in keys:
            self.settle()
        vm = self._vm
        assert vm is not None
        header = message.header
        signed, unsigned_start = header.num_required_signatures, len(keys)
        writable = [
            *keys[: signed - header.num_readonly_signed_accounts],
            *keys[signed : unsigned_start - header.num_readonly_unsigned_accounts],
        ]
        for address in writable:
            vm.remember(address)
        if any(ix.program_id in LOADER_PROGRAMS for ix in instructions):
            vm.reusable = False  # a program deployed, upgraded or closed: the cache moved

    def rent_exempt_minimum(self, data_len: int) -> int:
        return self.svm.minimum_balance_for_rent_exemption(data_len)

    def accounts_owned_by(self, program: Pubkey) -> list[tuple[Pubkey, Account]]:
        if program == SYSVAR_OWNER:
            self.settle()
        return [
            (address, account)
            for address, account in self.svm.get_program_accounts(program)
            if account.lamports > 0
        ]

    def send(
        self, instructions: list[Instruction], payer: Keypair, signers: list[Keypair]
    ) -> TxResult:
        records = [InstructionRecord.from_instruction(ix) for ix in instructions]
        blockhash = self.latest_blockhash()
        message = Message.new_with_blockhash(instructions, payer.pubkey(), blockhash)
        self.load(message.account_keys)
        required = message.account_keys[: message.header.num_required_signatures]
        available = {kp.pubkey(): kp for kp in [payer, *signers]}
        missing = [str(key) for key in required if key not in available]
        if missing:
            return TxResult(
                signature=None,
                success=False,
                error=f"cannot sign for {', '.join(missing)}: the agent holds no key for it",
                instructions=records,
            )
        tx = Transaction([available[key] for key in required], message, blockhash)
        size = len(bytes(tx))
        if size > PACKET_DATA_SIZE:
            return TxResult(
                signature=None,
                success=False,
                error=f"transaction too large: {size} bytes, the limit is {PACKET_DATA_SIZE}",
                instructions=records,
            )
        if self._vm is not None:
            self._track(message, instructions)
        try:
            outcome = self.svm.send_transaction(tx)
        except BaseException:
            if self._vm is not None:  # LiteSVM raised (a panic): its state is not known
                self._vm.reusable = False
            raise
        self._expire_blockhash()
        if isinstance(outcome, FailedTransactionMetadata):
            meta = outcome.meta()
            return TxResult(
                signature=str(tx.signatures[0]),
                success=False,
                error=describe_error(outcome.err(), [r.program_id for r in records]),
                logs=list(meta.logs()),
                compute_units=meta.compute_units_consumed(),
                fee=meta.fee(),
                instructions=records,
            )
        return TxResult(
            signature=str(outcome.signature()),
            success=True,
            logs=list(outcome.logs()),
            compute_units=outcome.compute_units_consumed(),
            fee=outcome.fee(),
            instructions=records,
        )
