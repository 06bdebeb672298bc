"""The served chain: a `LiteSVMChain` plus what a validator keeps and LiteSVM does not.

LiteSVM executes transactions; a validator also has blocks, a window of valid blockhashes,
signature statuses, transaction history and an address index. `ChainNode` adds those:

- **Blocks.** Every transaction that lands (succeeded, or failed after paying its fee) is a block
  of its own: its slot is the current slot, then the slot and block height advance by one and a
  new blockhash is issued. Nothing advances on a timer, so the same requests give the same
  chain, and a transaction is processed, confirmed and finalized at once.
- **Blockhashes.** LiteSVM accepts only its single latest blockhash unless told otherwise. The
  node turns LiteSVM's check off and keeps its own window: a blockhash stays valid for
  `MAX_PROCESSING_AGE` blocks after the one that issued it, exactly what `getLatestBlockhash`
  (its `lastValidBlockHeight`) and `isBlockhashValid` report. Durable-nonce transactions are
  accepted when the nonce account holds the transaction's blockhash.
- **History.** Each landed transaction is kept with its status, fee, balances before and after,
  token balances, logs and inner instructions, and indexed by every account it loads
  (`reev.rpc.history`).

All state changes go through one re-entrant lock, and listeners (the WebSocket subscriptions)
hear about every landed transaction, account write and new slot. The cheat codes that write
accounts or move the clock outside any transaction are `reev.rpc.cheatcodes`.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from solders.account import Account
from solders.account_decoder import UiTokenAmount
from solders.hash import Hash
from solders.message import Message, MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction
from solders.transaction_metadata import FailedTransactionMetadata
from solders.transaction_status import (
    TransactionErrorFieldless,
    TransactionReturnData,
    UiInnerInstructions,
    UiTransactionTokenBalance,
)

from reev.chain.accounts import LOOKUP_TABLE_META_SIZE, decode_account, decode_token_account
from reev.chain.fork import ChainDataUnavailable
from reev.chain.litesvm import LiteSVMChain
from reev.constants import (
    ADDRESS_LOOKUP_TABLE_PROGRAM,
    BPF_LOADER_PROGRAM,
    COMPUTE_BUDGET_PROGRAM,
    CONFIG_PROGRAM,
    STAKE_PROGRAM,
    SYSTEM_PROGRAM,
    TOKEN_PROGRAMS,
    UPGRADEABLE_LOADER_PROGRAM,
    VOTE_PROGRAM,
)
from reev.rpc.encoding import token_kind, ui_amount_string
from reev.rpc.errors import TRANSACTION_SIGNATURE_VERIFICATION_FAILURE, RpcError, invalid_param
from reev.rpc.history import (
    MAX_PROCESSING_AGE,
    History,
    Submission,
    TxRecord,
    compiled_to_ui,
    compute_budget,
    memo_of,
    return_data,
)

LAMPORTS_PER_SIGNATURE = 5_000
SOLANA_CORE_VERSION = "2.2.0"  # reported by getVersion and in every response context
FEATURE_SET = 3_294_202_862
# Builtins get 3,000 compute units by default instead of 200,000 (Agave 2.x fee estimate).
BUILTIN_PROGRAMS = {
    SYSTEM_PROGRAM,
    COMPUTE_BUDGET_PROGRAM,
    STAKE_PROGRAM,
    VOTE_PROGRAM,
    CONFIG_PROGRAM,
    ADDRESS_LOOKUP_TABLE_PROGRAM,
    BPF_LOADER_PROGRAM,
    UPGRADEABLE_LOADER_PROGRAM,
}


@dataclass
class SimulationOutcome:
    """What simulateTransaction (and sendTransaction's preflight) found; nothing committed."""

    err: Any
    logs: list[str]
    units_consumed: int
    fee: int | None = None
    inner_instructions: list[UiInnerInstructions] | None = None
    return_data: TransactionReturnData | None = None
    post_accounts: dict[Pubkey, Account] = field(default_factory=dict)
    replacement_blockhash: tuple[Hash, int] | None = None
    pre_balances: list[int] | None = None
    post_balances: list[int] | None = None


@dataclass
class NodeEvent:
    """What listeners hear: `transaction` (record), `accounts` (pubkeys written), `slot`."""

    kind: str
    slot: int
    record: TxRecord | None = None
    pubkeys: tuple[Pubkey, ...] = ()


Listener = Callable[[NodeEvent], None]


class ChainNode:
    """A LiteSVM chain with blocks, blockhash window, history and listeners."""

    def __init__(
        self,
        chain: LiteSVMChain | None = None,
        *,
        factory: Callable[[], LiteSVMChain] | None = None,
    ):
        """Serve `chain` (default: `factory()`, else an empty LiteSVMChain). `factory` rebuilds
        the chain as it was served, for surfnet_resetNetwork."""
        self.factory = factory
        self.lock = threading.RLock()
        self._listeners: list[Listener] = []
        # The first account a fork could not provide to a client: the chain, not the client,
        # was missing something (an --agent-cmd episode fails on it instead of being scored).
        self.chain_error: ChainDataUnavailable | None = None
        if chain is None:
            chain = factory() if factory is not None else LiteSVMChain()
        self._attach(chain)

    def _attach(self, chain: LiteSVMChain) -> None:
        self.chain = chain
        self.svm = chain.svm
        self.svm.with_blockhash_check(False)  # ages are checked here, over a window
        self.block_height = self.slot
        self.history = History(self.slot)
        self._blockhashes: dict[Hash, int] = {}
        # Each account's first known state (None: it did not exist), for surfnet_resetAccount.
        self.originals: dict[Pubkey, Account | None] = {}
        self._register_blockhash()

    @property
    def records(self) -> dict[Signature, TxRecord]:
        """Landed transactions by signature (the history's)."""
        return self.history.records

    @property
    def submissions(self) -> dict[Signature, Submission]:
        """What clients sent with sendTransaction, in order (the history's)."""
        return self.history.submissions

    @property
    def transaction_count(self) -> int:
        return self.history.transaction_count

    def reset_network(self) -> None:
        """Back to the chain as it was served (surfnet_resetNetwork): state, clock, history."""
        if self.factory is None:
            raise invalid_param("this chain was not served from a factory and cannot be reset")
        with self.lock:
            self._attach(self.factory())
            self.emit(NodeEvent("slot", self.slot))

    # ---- clock, blocks, blockhashes -------------------------------------------------------

    @property
    def slot(self) -> int:
        return self.svm.get_clock().slot

    def context(self) -> dict[str, Any]:
        return {"apiVersion": SOLANA_CORE_VERSION, "slot": self.slot}

    def _register_blockhash(self) -> None:
        self._blockhashes[self.svm.latest_blockhash()] = self.block_height + MAX_PROCESSING_AGE
        for stale in [h for h, last in self._blockhashes.items() if last < self.block_height]:
            del self._blockhashes[stale]

    def latest_blockhash(self) -> tuple[Hash, int]:
        with self.lock:
            blockhash = self.svm.latest_blockhash()
            return blockhash, self._blockhashes[blockhash]

    def blockhash_valid(self, blockhash: Hash) -> bool:
        with self.lock:
            last = self._blockhashes.get(blockhash)
            return last is not None and self.block_height <= last

    def _new_block(self) -> None:
        self.svm.expire_blockhash()
        self.chain.warp_to_slot(self.slot + 1)
        self.block_height += 1
        self._register_blockhash()
        self.history.new_block(self.slot)
        self.emit(NodeEvent("slot", self.slot))

    def epoch_info(self) -> dict[str, Any]:
        with self.lock:
            slot = self.slot
            schedule = self.svm.get_epoch_schedule()
            epoch = schedule.get_epoch(slot)
            first = schedule.get_first_slot_in_epoch(epoch)
            return {
                "absoluteSlot": slot,
                "blockHeight": self.block_height,
                "epoch": epoch,
                "slotIndex": slot - first,
                "slotsInEpoch": schedule.get_slots_in_epoch(epoch),
                "transactionCount": self.transaction_count,
            }

    def block_time(self) -> int:
        return self.svm.get_clock().unix_timestamp

    # ---- listeners ----------------------------------------------------------------------

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def emit(self, event: NodeEvent) -> None:
        """Tell every listener; a failing listener (a closed connection) does not stop the rest."""
        for listener in list(self._listeners):
            with contextlib.suppress(Exception):
                listener(event)

    # ---- accounts -----------------------------------------------------------------------

    def get_account(self, address: Pubkey) -> Account | None:
        with self.lock:
            return self.chain.get_account(address)

    def lamports(self, address: Pubkey) -> int:
        account = self.get_account(address)
        return account.lamports if account is not None else 0

    def accounts_owned_by(self, program: Pubkey) -> list[tuple[Pubkey, Account]]:
        with self.lock:
            return sorted(self.chain.accounts_owned_by(program), key=lambda item: bytes(item[0]))

    def decimals_of(self, mint: Pubkey) -> int | None:
        account = self.get_account(mint)
        if account is None or account.owner not in TOKEN_PROGRAMS:
            return None
        state = decode_account(mint, account)
        return state.mint.decimals if state.mint is not None else None

    def rent_exempt_minimum(self, data_len: int) -> int:
        with self.lock:
            return self.chain.rent_exempt_minimum(data_len)

    def remember(self, address: Pubkey) -> None:
        """Keep an account's first known state, for surfnet_resetAccount."""
        if address not in self.originals:
            self.originals[address] = self.before_write(address)

    def before_write(self, address: Pubkey) -> Account | None:
        """The account a write (a cheat code) is about to change. On a fork replaying a
        snapshot that never saw it, none: what is written is the account from then on."""
        try:
            return self.chain.get_account(address)
        except ChainDataUnavailable:
            return None

    # ---- transactions -------------------------------------------------------------------

    def account_keys(
        self, message: Any
    ) -> tuple[list[Pubkey], list[bool], list[Pubkey], list[Pubkey]]:
        """All keys a message loads (static, then those from lookup tables), whether each is
        write-locked, and the loaded writable / read-only ones."""
        static = list(message.account_keys)
        header = message.header
        signed = header.num_required_signatures
        count = len(static)
        writable = [
            i < signed - header.num_readonly_signed_accounts
            if i < signed
            else i < count - header.num_readonly_unsigned_accounts
            for i in range(count)
        ]
        loaded_w: list[Pubkey] = []
        loaded_r: list[Pubkey] = []
        if isinstance(message, MessageV0):
            for lookup in message.address_table_lookups:
                table = self.chain.get_account(lookup.account_key)
                if table is None or table.owner != ADDRESS_LOOKUP_TABLE_PROGRAM:
                    continue
                raw = bytes(table.data)[LOOKUP_TABLE_META_SIZE:]
                addresses = [
                    Pubkey.from_bytes(raw[i : i + 32]) for i in range(0, len(raw) - 31, 32)
                ]
                loaded_w += [
                    addresses[i] for i in bytes(lookup.writable_indexes) if i < len(addresses)
                ]
                loaded_r += [
                    addresses[i] for i in bytes(lookup.readonly_indexes) if i < len(addresses)
                ]
        keys = static + loaded_w + loaded_r
        self.chain.load(keys)  # a fork loads what it lacks before anything reads it
        return keys, writable + [True] * len(loaded_w) + [False] * len(loaded_r), loaded_w, loaded_r

    def _token_balances(self, keys: list[Pubkey]) -> list[UiTransactionTokenBalance]:
        found = []
        for index, key in enumerate(keys):
            account = self.svm.get_account(key)
            if account is None or account.owner not in TOKEN_PROGRAMS or account.lamports == 0:
                continue
            data = bytes(account.data)
            if token_kind(data) != "account":
                continue
            try:
                info = decode_token_account(data)
            except Exception:
                continue
            mint = Pubkey.from_string(info.mint)
            decimals = self.decimals_of(mint)
            if decimals is None:
                continue
            ui = float(info.amount) / 10**decimals
            found.append(
                UiTransactionTokenBalance(
                    index,
                    mint,
                    UiTokenAmount(
                        ui, decimals, str(info.amount), ui_amount_string(info.amount, decimals)
                    ),
                    Pubkey.from_string(info.owner),
                    account.owner,
                )
            )
        return found

    def verify_signatures(self, tx: VersionedTransaction) -> None:
        if not all(tx.verify_with_results()):
            raise RpcError(
                TRANSACTION_SIGNATURE_VERIFICATION_FAILURE,
                "Transaction signature verification failure",
            )

    def _nonce_ok(self, tx: VersionedTransaction) -> bool:
        """A durable-nonce transaction: first instruction AdvanceNonceAccount on a nonce account
        that holds the transaction's blockhash."""
        message = tx.message
        if not message.instructions:
            return False
        first = message.instructions[0]
        keys = list(message.account_keys)
        if first.program_id_index >= len(keys) or keys[first.program_id_index] != SYSTEM_PROGRAM:
            return False
        if bytes(first.data)[:4] != (4).to_bytes(4, "little") or not bytes(first.accounts):
            return False
        nonce_index = bytes(first.accounts)[0]
        if nonce_index >= len(keys):
            return False
        account = self.chain.get_account(keys[nonce_index])
        if account is None or account.owner != SYSTEM_PROGRAM or len(account.data) < 72:
            return False
        data = bytes(account.data)
        return int.from_bytes(data[4:8], "little") == 1 and data[40:72] == bytes(
            message.recent_blockhash
        )

    def age_ok(self, tx: VersionedTransaction) -> bool:
        return self.blockhash_valid(tx.message.recent_blockhash) or self._nonce_ok(tx)

    def simulate(
        self,
        tx: VersionedTransaction,
        *,
        sig_verify: bool = False,
        replace_blockhash: bool = False,
    ) -> SimulationOutcome:
        """Run a transaction without committing anything."""
        with self.lock:
            if sig_verify:  # before anything else, as in Agave
                self.verify_signatures(tx)
            replacement = None
            if replace_blockhash:
                blockhash, last_valid = self.latest_blockhash()
                tx = _with_blockhash(tx, blockhash)
                replacement = (blockhash, last_valid)
            elif not self.age_ok(tx):
                return SimulationOutcome(
                    err=TransactionErrorFieldless.BlockhashNotFound, logs=[], units_consumed=0
                )
            if tx.signatures[0] in self.records:
                return SimulationOutcome(
                    err=TransactionErrorFieldless.AlreadyProcessed, logs=[], units_consumed=0
                )
            keys, _, _, _ = self.account_keys(tx.message)
            pre = [self.lamports_in_svm(k) for k in keys]
            self.svm.with_sigverify(False)
            try:
                outcome = self.svm.simulate_transaction(tx)
            finally:
                self.svm.with_sigverify(True)
            if isinstance(outcome, FailedTransactionMetadata):
                meta = outcome.meta()
                return SimulationOutcome(
                    err=outcome.err(),
                    logs=list(meta.logs()),
                    units_consumed=meta.compute_units_consumed(),
                    fee=meta.fee(),
                    inner_instructions=compiled_to_ui(meta.inner_instructions()),
                    return_data=return_data(meta),
                    replacement_blockhash=replacement,
                )
            meta = outcome.meta()
            post_accounts = dict(outcome.post_accounts())
            post = [
                post_accounts[k].lamports if k in post_accounts else pre[i]
                for i, k in enumerate(keys)
            ]
            return SimulationOutcome(
                err=None,
                logs=list(meta.logs()),
                units_consumed=meta.compute_units_consumed(),
                fee=meta.fee(),
                inner_instructions=compiled_to_ui(meta.inner_instructions()),
                return_data=return_data(meta),
                post_accounts=post_accounts,
                replacement_blockhash=replacement,
                pre_balances=pre,
                post_balances=post,
            )

    def lamports_in_svm(self, key: Pubkey) -> int:
        account = self.svm.get_account(key)
        return account.lamports if account is not None else 0

    def process(self, tx: VersionedTransaction) -> tuple[TxRecord | None, Any]:
        """Execute a transaction whose signatures and age were checked. Returns the record
        when it landed (succeeded or failed after paying its fee) and the error, if any."""
        with self.lock:
            signature = tx.signatures[0]
            if signature in self.records:
                return None, TransactionErrorFieldless.AlreadyProcessed
            message = tx.message
            keys, writable, loaded_w, loaded_r = self.account_keys(message)
            pre = [self.lamports_in_svm(k) for k in keys]
            pre_tokens = self._token_balances(keys)
            for key, is_writable in zip(keys, writable, strict=True):
                if is_writable:
                    self.remember(key)
            slot, block_time = self.slot, self.block_time()
            outcome = self.svm.send_transaction(tx)
            if isinstance(outcome, FailedTransactionMetadata):
                err, meta = outcome.err(), outcome.meta()
                if self.svm.get_transaction(signature) is None:
                    return None, err  # rejected before execution: no fee, no block
            else:
                err, meta = None, outcome
            _, price = compute_budget(message, keys)
            record = TxRecord(
                signature=signature,
                slot=slot,
                block_time=block_time,
                index=self.transaction_count,
                transaction=tx,
                err=err,
                fee=meta.fee(),
                account_keys=keys,
                writable=writable,
                loaded_writable=loaded_w,
                loaded_readonly=loaded_r,
                pre_balances=pre,
                post_balances=[self.lamports_in_svm(k) for k in keys],
                pre_token_balances=pre_tokens,
                post_token_balances=self._token_balances(keys),
                logs=list(meta.logs()),
                inner_instructions=compiled_to_ui(meta.inner_instructions()),
                compute_units=meta.compute_units_consumed(),
                return_data=return_data(meta),
                memo=memo_of(message, keys),
                compute_unit_price=price,
            )
            written = frozenset(k for k, w in zip(keys, writable, strict=True) if w)
            self.history.add(record, written)
            self.emit(NodeEvent("transaction", slot, record=record))
            self.emit(NodeEvent("accounts", slot, pubkeys=tuple(written)))
            self._new_block()
            return record, err

    def submit(
        self, tx: VersionedTransaction, *, skip_preflight: bool = False
    ) -> SimulationOutcome | None:
        """sendTransaction: preflight (signatures, then a simulation) unless skipped, then
        execute. Returns the failed preflight (nothing landed), else None. With
        `skip_preflight`, what cannot land is dropped silently, as a validator drops it.
        Raises RpcError for a bad signature when preflight runs."""
        with self.lock:
            signature = tx.signatures[0]
            submission = self.submissions.get(signature)
            if submission is None or submission.record is None:
                submission = self.submissions[signature] = Submission(signature, tx)
            if not skip_preflight:
                self.verify_signatures(tx)
                outcome = self.simulate(tx)
                if outcome.err is not None:
                    if submission.record is None:
                        submission.err, submission.logs = outcome.err, outcome.logs
                        submission.units_consumed = outcome.units_consumed
                    return outcome
            elif not all(tx.verify_with_results()):
                submission.err = TransactionErrorFieldless.SignatureFailure
                return None
            elif not self.age_ok(tx):
                submission.err = TransactionErrorFieldless.BlockhashNotFound
                return None
            record, err = self.process(tx)
            if record is not None:
                submission.record, submission.err, submission.logs = record, err, record.logs
                submission.units_consumed = record.compute_units
            elif submission.record is None:
                submission.err = err
            return None

    def signatures_for(
        self, address: Pubkey, *, limit: int, before: Signature | None, until: Signature | None
    ) -> list[TxRecord]:
        with self.lock:
            return self.history.signatures_for(address, limit=limit, before=before, until=until)

    def fee_for_message(self, message: Any) -> int | None:
        """What the message would pay: 5,000 lamports a signature plus the priority fee
        (compute-unit price × limit); None when its blockhash is not valid."""
        if not self.blockhash_valid(message.recent_blockhash):
            return None
        keys = list(message.account_keys)
        limit, price = compute_budget(message, keys)
        if limit is None:
            limit = 0
            for ix in message.instructions:
                program = keys[ix.program_id_index] if ix.program_id_index < len(keys) else None
                if program != COMPUTE_BUDGET_PROGRAM:
                    limit += 3_000 if program in BUILTIN_PROGRAMS else 200_000
            limit = min(limit, 1_400_000)
        priority = (price * limit + 999_999) // 1_000_000
        return LAMPORTS_PER_SIGNATURE * message.header.num_required_signatures + priority

    def performance_sample(self) -> tuple[int, int, int]:
        with self.lock:
            return self.history.performance_sample()

    def prioritization_fees(self, accounts: list[Pubkey]) -> list[dict[str, int]]:
        with self.lock:
            return self.history.prioritization_fees(accounts)


def _with_blockhash(tx: VersionedTransaction, blockhash: Hash) -> VersionedTransaction:
    """The same transaction (same, now invalid, signatures) on another blockhash."""
    message = tx.message
    if isinstance(message, MessageV0):
        replaced: Any = MessageV0(
            message.header,
            list(message.account_keys),
            blockhash,
            list(message.instructions),
            list(message.address_table_lookups),
        )
    else:
        header = message.header
        replaced = Message.new_with_compiled_instructions(
            header.num_required_signatures,
            header.num_readonly_signed_accounts,
            header.num_readonly_unsigned_accounts,
            list(message.account_keys),
            blockhash,
            list(message.instructions),
        )
    return VersionedTransaction.populate(replaced, list(tx.signatures))
