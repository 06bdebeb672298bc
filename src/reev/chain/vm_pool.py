"""Reused LiteSVM VMs: a pool of prepared VMs, each put back to its pristine state after use.

Building a `LiteSVM()` (builtins, sysvars, the SPL programs, reev's programs) costs more CPU than
a simple episode does with it, and solders can neither clone a VM nor reset one. What it can do
is set any account and any sysvar. A `PooledVM` therefore remembers, for every address an
episode writes, the account it held in the pristine VM (None: absent), and `restore` writes those
back, with the clock, stake history and epoch stakes the chain moved. A zero-lamport, empty
account is absent to LiteSVM (`get_account` gives None, `get_program_accounts` skips it), so
"absent" is restorable too.

Two things cannot be set back, and the chain (`reev.chain.litesvm`) works around both:
- **The blockhash.** LiteSVM's blockhash moves on with every transaction and has no setter. A
  fresh VM's sequence is `sha256(b"genesis")`, then the SHA-256 of the previous hash
  (`blockhash_at`); pooled VMs do not check blockhashes (`with_blockhash_check(False)`) and the
  chain signs with the sequence a fresh VM would be at, so signatures never depend on which VM
  an episode got (durable nonces store the transaction's blockhash, so they match too). Only
  the RecentBlockhashes sysvar shows LiteSVM's own blockhash: before an episode reads it, or
  sends a transaction that passes it to a program, the chain moves the episode to an exact VM
  (`LiteSVMChain.settle`).
- **The transaction history.** A reused VM would reject an identical transaction of an earlier
  episode as already processed, so pooled VMs keep none (`with_transaction_history(0)`). Within
  an episode every transaction has a new blockhash, so none can repeat anyway.

A VM whose programs an episode changed (a loader instruction, an executable account set) is not
reused: LiteSVM's program cache could keep what restoring the accounts does not undo.
tests/test_vm_pool.py runs the bundled suite on fresh and on reused VMs in random orders and
requires identical session files and chain states.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field

from solders.account import Account
from solders.hash import Hash
from solders.litesvm import Clock, LiteSVM
from solders.pubkey import Pubkey
from solders.stake_history import StakeHistory

from reev.constants import BPF_LOADER_PROGRAM, SYSTEM_PROGRAM, UPGRADEABLE_LOADER_PROGRAM

LOADER_PROGRAMS = frozenset(
    {
        UPGRADEABLE_LOADER_PROGRAM,
        BPF_LOADER_PROGRAM,
        Pubkey.from_string("BPFLoader1111111111111111111111111111111111"),
        Pubkey.from_string("LoaderV411111111111111111111111111111111111"),
    }
)
ABSENT = Account(lamports=0, data=b"", owner=SYSTEM_PROGRAM, executable=False, rent_epoch=0)
MAX_IDLE_VMS = 64  # a run's concurrency bounds the pool; this bounds a long-lived process's
# Pristine values kept per VM: enough for many episodes' addresses without another read, bounded
# for a long-lived process (the API service, a gym loop over seeds) that meets new keys forever.
MAX_PRISTINE = 20_000

_blockhashes: list[Hash] = [Hash(hashlib.sha256(b"genesis").digest())]
_blockhash_lock = threading.Lock()


def blockhash_at(expirations: int) -> Hash:
    """The blockhash of a fresh LiteSVM after `expirations` calls of `expire_blockhash`."""
    if expirations >= len(_blockhashes):
        with _blockhash_lock:
            while expirations >= len(_blockhashes):
                _blockhashes.append(Hash(hashlib.sha256(bytes(_blockhashes[-1])).digest()))
    return _blockhashes[expirations]


@dataclass(eq=False)
class PooledVM:
    """A LiteSVM that can be put back to the state `prepare` left it in."""

    svm: LiteSVM
    clock: Clock  # pristine values of the sysvars the chain moves
    stake_history: StakeHistory
    expirations: int = 0  # expire_blockhash calls over the VM's life (its blockhash's index)
    pristine: dict[Pubkey, Account | None] = field(default_factory=dict)
    touched: set[Pubkey] = field(default_factory=set)  # written since the last restore
    clock_moved: bool = False
    stake_history_moved: bool = False
    epoch_stakes_moved: bool = False
    reusable: bool = True  # False once an episode did something `restore` cannot undo

    @classmethod
    def prepared(cls, svm: LiteSVM) -> PooledVM:
        """Wrap a VM the chain has just prepared (programs loaded, clock pinned)."""
        svm.with_blockhash_check(False)
        svm.with_transaction_history(0)
        return cls(svm=svm, clock=svm.get_clock(), stake_history=svm.get_stake_history())

    def remember(self, address: Pubkey) -> None:
        """Call before writing `address`: keeps its pristine account the first time."""
        if address not in self.pristine:
            account = self.svm.get_account(address)
            if account is not None and account.executable:
                self.reusable = False  # a program's account: the program cache is involved
            self.pristine[address] = account
        self.touched.add(address)

    def restore(self) -> None:
        """Put back every account written and every sysvar moved since the last restore."""
        for address in self.touched:
            self.svm.set_account(address, self.pristine[address] or ABSENT)
        self.touched.clear()
        if self.clock_moved:
            self.svm.warp_to_slot(self.clock.slot)
            self.svm.set_clock(self.clock)
        if self.stake_history_moved:
            self.svm.set_stake_history(self.stake_history)
        if self.epoch_stakes_moved:
            self.svm.set_epoch_stakes({})  # a new LiteSVM has none
        self.clock_moved = self.stake_history_moved = self.epoch_stakes_moved = False
        if len(self.pristine) > MAX_PRISTINE:
            self.pristine.clear()  # the VM holds the pristine values again: read on next write


class VMPool:
    """Idle prepared VMs of this process, shared by its threads."""

    def __init__(self, max_idle: int = MAX_IDLE_VMS) -> None:
        self.max_idle = max_idle
        self._idle: list[PooledVM] = []
        self._lock = threading.Lock()
        self.created = 0  # VMs built: none was idle, or a chain settled (tests, speed scripts)
        self.reused = 0

    @property
    def idle(self) -> int:
        """VMs waiting for an episode."""
        with self._lock:
            return len(self._idle)

    def take(self) -> PooledVM | None:
        """An idle VM (already restored), or None: the caller prepares a new one."""
        with self._lock:
            if self._idle:
                self.reused += 1
                return self._idle.pop()
            self.created += 1
            return None

    def note_built(self) -> None:
        """A VM built outside `take` (a chain settling onto a new VM)."""
        with self._lock:
            self.created += 1

    def give(self, vm: PooledVM) -> None:
        """Restore `vm` and keep it for the next episode, unless it cannot be reused."""
        if not vm.reusable:
            return
        vm.restore()
        with self._lock:
            if len(self._idle) < self.max_idle:
                self._idle.append(vm)

    def clear(self) -> None:
        with self._lock:
            self._idle.clear()


POOL = VMPool()
