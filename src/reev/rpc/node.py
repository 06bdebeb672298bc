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
  token balances, logs and inner instructions, and indexed by every account it loads.

All state changes go through one re-entrant lock, and listeners (the WebSocket subscriptions)
hear about every landed transaction, account write and new slot.
"""

from __future__ import annotations

import hashlib
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import base58
from solders.account import Account
from solders.account_decoder import UiTokenAmount
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import Message, MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction
from solders.transaction_metadata import FailedTransactionMetadata, TransactionMetadata
from solders.transaction_status import (
    TransactionErrorFieldless,
    TransactionReturnData,
    UiCompiledInstruction,
    UiInnerInstructions,
    UiTransactionTokenBalance,
)
from spl.token._layouts import ACCOUNT_LAYOUT
from spl.token.instructions import get_associated_token_address

from reev.chain.accounts import (
    ACCOUNT_LEN,
    LOOKUP_TABLE_META_SIZE,
    decode_account,
    decode_token_account,
    extensions,
)
from reev.chain.fork import ChainDataUnavailable
from reev.chain.litesvm import LiteSVMChain
from reev.constants import (
    ADDRESS_LOOKUP_TABLE,
    COMPUTE_BUDGET,
    MEMO,
    SYSTEM,
    TOKEN,
    TOKEN_2022,
    UPGRADEABLE_LOADER_ID,
)
from reev.rpc.encoding import empty_account, token_kind, ui_amount_string
from reev.rpc.errors import (
    INTERNAL_ERROR,
    TRANSACTION_SIGNATURE_VERIFICATION_FAILURE,
    RpcError,
    invalid_param,
)
from reev.spec.known_mints import WSOL_MINT

MAX_PROCESSING_AGE = 150  # blocks a blockhash stays valid for, as on every cluster
MAX_TRAVEL_EPOCHS = 512  # surfnet_timeTravel's reach per call (the StakeHistory sysvar's length)
LAMPORTS_PER_SIGNATURE = 5_000
SOLANA_CORE_VERSION = "2.2.0"  # reported by getVersion and in every response context
FEATURE_SET = 3_294_202_862
ALT_PROGRAM = Pubkey.from_string(ADDRESS_LOOKUP_TABLE)
MEMO_PROGRAMS = {MEMO, "Memo1UhkJRfHyvLMcVucJwxXeuD728EqVDDwQDxFMNo"}
# Builtins get 3,000 compute units by default instead of 200,000 (Agave 2.x fee estimate).
BUILTIN_PROGRAMS = {
    SYSTEM,
    COMPUTE_BUDGET,
    "Stake11111111111111111111111111111111111111",
    "Vote111111111111111111111111111111111111111",
    "Config1111111111111111111111111111111111111",
    str(ALT_PROGRAM),
    "BPFLoader2111111111111111111111111111111111",
    UPGRADEABLE_LOADER_ID,
}
FAUCET = Keypair.from_seed(hashlib.sha256(b"reev/rpc/faucet").digest())
_MISSING = object()


@dataclass
class TxRecord:
    """A landed transaction, as getTransaction / getSignatureStatuses report it."""

    signature: Signature
    slot: int
    block_time: int
    index: int
    transaction: VersionedTransaction
    err: Any  # a solders TransactionError, or None
    fee: int
    account_keys: list[Pubkey]
    writable: list[bool]
    loaded_writable: list[Pubkey]
    loaded_readonly: list[Pubkey]
    pre_balances: list[int]
    post_balances: list[int]
    pre_token_balances: list[UiTransactionTokenBalance]
    post_token_balances: list[UiTransactionTokenBalance]
    logs: list[str]
    inner_instructions: list[UiInnerInstructions]
    compute_units: int
    return_data: TransactionReturnData | None
    memo: str | None
    compute_unit_price: int = 0


@dataclass
class SimulationOutcome:
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
class Block:
    slot: int
    # (write-locked accounts, compute-unit price in micro-lamports) of each transaction in it
    transactions: list[tuple[frozenset[Pubkey], int]] = field(default_factory=list)


@dataclass
class Submission:
    """A transaction a client sent with sendTransaction, landed or not (one per signature)."""

    signature: Signature
    transaction: VersionedTransaction
    record: TxRecord | None = None  # set when it landed
    err: Any = None  # why it failed: preflight, dropped, or on chain
    logs: list[str] = field(default_factory=list)
    units_consumed: int = 0


@dataclass
class NodeEvent:
    """What listeners hear: `transaction` (record), `accounts` (pubkeys written), `slot`."""

    kind: str
    slot: int
    record: TxRecord | None = None
    pubkeys: tuple[Pubkey, ...] = ()


Listener = Callable[[NodeEvent], None]


def _compiled_to_ui(inner: list[list[Any]]) -> list[UiInnerInstructions]:
    out = []
    for index, instructions in enumerate(inner):
        if not instructions:
            continue
        out.append(
            UiInnerInstructions(
                index,
                [
                    UiCompiledInstruction(
                        compiled.program_id_index,
                        bytes(compiled.accounts),
                        base58.b58encode(bytes(compiled.data)).decode(),
                        item.stack_height(),
                    )
                    for item in instructions
                    for compiled in (item.instruction(),)  # methods in solders' InnerInstruction
                ],
            )
        )
    return out


def _return_data(meta: TransactionMetadata) -> TransactionReturnData | None:
    data = meta.return_data()
    return data if data is not None and len(bytes(data.data)) > 0 else None


def compute_budget(message: Any, keys: list[Pubkey]) -> tuple[int | None, int]:
    """(compute-unit limit if set, compute-unit price in micro-lamports) of a message."""
    limit: int | None = None
    price = 0
    for ix in message.instructions:
        if ix.program_id_index >= len(keys) or str(keys[ix.program_id_index]) != COMPUTE_BUDGET:
            continue
        data = bytes(ix.data)
        if len(data) >= 5 and data[0] == 2:
            limit = int.from_bytes(data[1:5], "little")
        elif len(data) >= 9 and data[0] == 3:
            price = int.from_bytes(data[1:9], "little")
    return limit, price


def _memo_of(message: Any, keys: list[Pubkey]) -> str | None:
    """getSignaturesForAddress' `memo`: `[length] text` for each memo instruction, `; `-joined."""
    memos = []
    for ix in message.instructions:
        if ix.program_id_index < len(keys) and str(keys[ix.program_id_index]) in MEMO_PROGRAMS:
            data = bytes(ix.data)
            memos.append(f"[{len(data)}] {data.decode('utf-8', errors='replace')}")
    return "; ".join(memos) if memos else None


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
        self.transaction_count = 0
        self.records: dict[Signature, TxRecord] = {}
        self._by_address: dict[Pubkey, list[Signature]] = {}
        self._blockhashes: dict[Hash, int] = {}
        self._blocks: deque[Block] = deque([Block(self.slot)], maxlen=MAX_PROCESSING_AGE)
        self._originals: dict[Pubkey, Account | None] = {}
        self.submissions: dict[Signature, Submission] = {}  # sendTransaction, in order
        self._register_blockhash()

    def reset_network(self) -> None:
        """Back to the chain as it was served (surfnet_resetNetwork): state, clock, history."""
        if self.factory is None:
            raise invalid_param("this chain was not served from a factory and cannot be reset")
        with self.lock:
            self._attach(self.factory())
            self._emit(NodeEvent("slot", self.slot))

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
        self._blocks.append(Block(self.slot))
        self._emit(NodeEvent("slot", self.slot))

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

    def _emit(self, event: NodeEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                pass

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
        if account is None or str(account.owner) not in (TOKEN, TOKEN_2022):
            return None
        state = decode_account(mint, account)
        return state.mint.decimals if state.mint is not None else None

    def rent_exempt_minimum(self, data_len: int) -> int:
        with self.lock:
            return self.chain.rent_exempt_minimum(data_len)

    def _remember(self, address: Pubkey) -> None:
        """Keep an account's first known state, for surfnet_resetAccount."""
        if address not in self._originals:
            self._originals[address] = self._before_cheat_code(address)

    def _before_cheat_code(self, address: Pubkey) -> Account | None:
        """The account a cheat code is about to change. On a fork replaying a snapshot that never
        saw it, none: a cheat code writes, and what it writes is the account from then on."""
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
                if table is None or table.owner != ALT_PROGRAM:
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
            if (
                account is None
                or str(account.owner) not in (TOKEN, TOKEN_2022)
                or account.lamports == 0
            ):
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
        if first.program_id_index >= len(keys) or str(keys[first.program_id_index]) != SYSTEM:
            return False
        if bytes(first.data)[:4] != (4).to_bytes(4, "little") or not bytes(first.accounts):
            return False
        nonce_index = bytes(first.accounts)[0]
        if nonce_index >= len(keys):
            return False
        account = self.chain.get_account(keys[nonce_index])
        if account is None or str(account.owner) != SYSTEM or len(account.data) < 72:
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
            pre = [self._lamports_raw(k) for k in keys]
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
                    inner_instructions=_compiled_to_ui(meta.inner_instructions()),
                    return_data=_return_data(meta),
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
                inner_instructions=_compiled_to_ui(meta.inner_instructions()),
                return_data=_return_data(meta),
                post_accounts=post_accounts,
                replacement_blockhash=replacement,
                pre_balances=pre,
                post_balances=post,
            )

    def _lamports_raw(self, key: Pubkey) -> int:
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
            pre = [self._lamports_raw(k) for k in keys]
            pre_tokens = self._token_balances(keys)
            for key, is_writable in zip(keys, writable):
                if is_writable:
                    self._remember(key)
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
                post_balances=[self._lamports_raw(k) for k in keys],
                pre_token_balances=pre_tokens,
                post_token_balances=self._token_balances(keys),
                logs=list(meta.logs()),
                inner_instructions=_compiled_to_ui(meta.inner_instructions()),
                compute_units=meta.compute_units_consumed(),
                return_data=_return_data(meta),
                memo=_memo_of(message, keys),
                compute_unit_price=price,
            )
            self.records[signature] = record
            self.transaction_count += 1
            for key in dict.fromkeys(keys):
                self._by_address.setdefault(key, []).append(signature)
            written = frozenset(k for k, w in zip(keys, writable) if w)
            self._blocks[-1].transactions.append((written, price))
            self._emit(NodeEvent("transaction", slot, record=record))
            self._emit(NodeEvent("accounts", slot, pubkeys=tuple(written)))
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

    def airdrop(self, to: Pubkey, lamports: int) -> Signature:
        """A transfer from the node's faucet (topped up as needed), recorded like any other."""
        with self.lock:
            faucet = FAUCET.pubkey()
            need = lamports + LAMPORTS_PER_SIGNATURE + self.rent_exempt_minimum(0)
            if self._lamports_raw(faucet) < need:
                self.svm.set_account(
                    faucet, Account(need + 10**15, b"", Pubkey.from_string(SYSTEM), False, 0)
                )
            blockhash, _ = self.latest_blockhash()
            message = Message.new_with_blockhash(
                [transfer(TransferParams(from_pubkey=faucet, to_pubkey=to, lamports=lamports))],
                faucet,
                blockhash,
            )
            tx = VersionedTransaction(message, [FAUCET])
            record, err = self.process(tx)
            if record is None:
                raise RpcError(INTERNAL_ERROR, f"airdrop request failed: {err}")
            return record.signature

    def signatures_for(
        self, address: Pubkey, *, limit: int, before: Signature | None, until: Signature | None
    ) -> list[TxRecord]:
        with self.lock:
            newest_first = list(reversed(self._by_address.get(address, [])))
        if before is not None:
            if before in newest_first:
                newest_first = newest_first[newest_first.index(before) + 1 :]
            else:
                newest_first = []
        out = []
        for signature in newest_first:
            if signature == until:
                break
            out.append(self.records[signature])
            if len(out) >= limit:
                break
        return out

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
                program = str(keys[ix.program_id_index]) if ix.program_id_index < len(keys) else ""
                if program != COMPUTE_BUDGET:
                    limit += 3_000 if program in BUILTIN_PROGRAMS else 200_000
            limit = min(limit, 1_400_000)
        priority = (price * limit + 999_999) // 1_000_000
        return LAMPORTS_PER_SIGNATURE * message.header.num_required_signatures + priority

    def prioritization_fees(self, accounts: list[Pubkey]) -> list[dict[str, int]]:
        wanted = set(accounts)
        out = []
        with self.lock:
            blocks = list(self._blocks)
        for block in blocks:
            prices = [
                price for written, price in block.transactions if not wanted or (written & wanted)
            ]
            out.append({"slot": block.slot, "prioritizationFee": min(prices) if prices else 0})
        return out

    # ---- cheat codes (surfpool's surfnet_*) ----------------------------------------------

    def set_account(self, address: Pubkey, account: Account) -> None:
        with self.lock:
            self._remember(address)
            self.chain.set_account(address, account)
            self._emit(NodeEvent("accounts", self.slot, pubkeys=(address,)))

    def update_account(
        self,
        address: Pubkey,
        *,
        lamports: int | None = None,
        data: bytes | None = None,
        owner: Pubkey | None = None,
        executable: bool | None = None,
        rent_epoch: int | None = None,
    ) -> None:
        with self.lock:
            base = self._before_cheat_code(address) or empty_account()
            self.set_account(
                address,
                Account(
                    lamports=base.lamports if lamports is None else lamports,
                    data=bytes(base.data) if data is None else data,
                    owner=base.owner if owner is None else owner,
                    executable=base.executable if executable is None else executable,
                    rent_epoch=base.rent_epoch if rent_epoch is None else rent_epoch,
                ),
            )

    def set_token_account(
        self, owner: Pubkey, mint: Pubkey, update: dict[str, Any], program: Pubkey
    ) -> Pubkey:
        """Create or update the associated token account of (owner, mint) under `program`."""
        with self.lock:
            mint_account = self.chain.get_account(mint)
            if mint_account is None:
                raise invalid_param(f"mint {mint} does not exist")
            if mint_account.owner != program:
                raise invalid_param(f"mint {mint} is owned by {mint_account.owner}, not {program}")
            address = get_associated_token_address(owner, mint, program)
            existing = self._before_cheat_code(address)
            if (
                existing is not None
                and existing.owner == program
                and token_kind(bytes(existing.data)) == "account"
            ):
                data = bytes(existing.data)
                fields = dict(ACCOUNT_LAYOUT.parse(data[:ACCOUNT_LEN]))
                tail = data[ACCOUNT_LEN:]
            else:
                fields = {
                    "mint": bytes(mint),
                    "owner": bytes(owner),
                    "amount": 0,
                    "delegate_option": 0,
                    "delegate": bytes(32),
                    "state": 1,
                    "is_native_option": 0,
                    "is_native": 0,
                    "delegated_amount": 0,
                    "close_authority_option": 0,
                    "close_authority": bytes(32),
                }
                tail = (
                    self._new_account_extensions(mint_account)
                    if str(program) == TOKEN_2022
                    else b""
                )
            fields.pop("_io", None)
            if "amount" in update:
                fields["amount"] = update["amount"]
            if "delegate" in update:
                delegate = update["delegate"]
                fields["delegate_option"] = 0 if delegate is None else 1
                fields["delegate"] = bytes(32) if delegate is None else bytes(delegate)
            if "state" in update:
                fields["state"] = {"uninitialized": 0, "initialized": 1, "frozen": 2}[
                    update["state"]
                ]
            if "delegatedAmount" in update:
                fields["delegated_amount"] = update["delegatedAmount"]
            if "closeAuthority" in update:
                authority = update["closeAuthority"]
                fields["close_authority_option"] = 0 if authority is None else 1
                fields["close_authority"] = bytes(32) if authority is None else bytes(authority)
            data = ACCOUNT_LAYOUT.build(fields) + tail
            rent = self.rent_exempt_minimum(len(data))
            if str(mint) == WSOL_MINT:
                fields["is_native_option"], fields["is_native"] = 1, rent
                data = ACCOUNT_LAYOUT.build(fields) + tail
                lamports = rent + fields["amount"]
            else:
                lamports = max(existing.lamports if existing is not None else 0, rent)
            self.set_account(address, Account(lamports, data, program, False, 0))
            return address

    @staticmethod
    def _new_account_extensions(mint_account: Account) -> bytes:
        """A new Token-2022 associated account: ImmutableOwner, plus TransferFeeAmount when the
        mint charges transfer fees (what the ATA program would create)."""
        tlv = (7).to_bytes(2, "little") + (0).to_bytes(2, "little")
        if 1 in extensions(bytes(mint_account.data)):
            tlv += (2).to_bytes(2, "little") + (8).to_bytes(2, "little") + bytes(8)
        return bytes([2]) + tlv

    def time_travel(
        self, *, slot: int | None = None, epoch: int | None = None, timestamp_ms: int | None = None
    ) -> None:
        """Move the clock (surfnet_timeTravel): to a slot, the first slot of an epoch, or the
        slot whose timestamp reaches a unix time in milliseconds (forward only)."""
        with self.lock:
            current = self.slot
            schedule = self.svm.get_epoch_schedule()
            if epoch is not None:
                target = schedule.get_first_slot_in_epoch(epoch)
            elif timestamp_ms is not None:
                now = self.block_time()
                seconds = timestamp_ms / 1000 - now
                target = current + max(0, int(-(-seconds // 0.4)))
                if seconds < 0:
                    raise invalid_param(
                        f"cannot travel to {timestamp_ms} ms: the clock is already at {now * 1000} ms"
                    )
            else:
                assert slot is not None
                target = slot
            if target < current and timestamp_ms is not None:
                raise invalid_param(
                    f"cannot travel back in time: slot {target} is before the current slot {current}"
                )
            epochs = (
                schedule.get_epoch(target) - schedule.get_epoch(current)
                if target < 2**63
                else MAX_TRAVEL_EPOCHS + 1
            )
            if epochs > MAX_TRAVEL_EPOCHS:
                # Every epoch crossed is recorded in the StakeHistory sysvar (512 entries long).
                raise invalid_param(
                    f"cannot travel more than {MAX_TRAVEL_EPOCHS} epochs ahead at once ({epochs} asked)"
                )
            if target != current:
                # Backward too (surfpool refuses): reev's stake setup opens "already active"
                # stake accounts two epochs back. Nothing is recorded on the way back.
                self.chain.warp_to_slot(target)
                self._emit(NodeEvent("slot", self.slot))

    def reset_account(self, address: Pubkey, *, include_owned: bool = False) -> list[Pubkey]:
        """Put accounts back as they were when the node started (surfnet_resetAccount)."""
        with self.lock:
            targets = [address]
            if include_owned:
                targets += [key for key, _ in self.chain.accounts_owned_by(address)]
            reset = []
            for key in targets:
                original = self._originals.get(key, _MISSING)
                if original is _MISSING:
                    continue
                self.chain.set_account(key, original if original is not None else empty_account())
                reset.append(key)
            if reset:
                self._emit(NodeEvent("accounts", self.slot, pubkeys=tuple(reset)))
            return reset


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
