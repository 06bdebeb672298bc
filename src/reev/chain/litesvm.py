"""The embedded chain: solders' LiteSVM, in-process, a fresh VM per episode.

LiteSVM loads System, SPL Token, Token-2022, ATA, Memo, Address Lookup Table, Compute Budget and
Stake programs by default. The clock is pinned so that programs reading it behave the same in
every run, and the blockhash is rotated after each transaction so that an agent may legitimately
send the same transfer twice (each lands in its own "block").
"""

from __future__ import annotations

from solders.account import Account
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.litesvm import Clock, LiteSVM
from solders.message import Message
from solders.pubkey import Pubkey
from solders.transaction import Transaction
from solders.transaction_metadata import FailedTransactionMetadata

from reev.chain.errors import describe_error
from reev.chain.instructions import InstructionRecord
from reev.chain.protocol import TxResult

FIXED_SLOT = 300_000_000
FIXED_UNIX_TIMESTAMP = 1_735_689_600  # 2025-01-01T00:00:00Z
PACKET_DATA_SIZE = 1232  # a serialized transaction must fit one packet, as on every cluster


class LiteSVMChain:
    """`Chain` over an in-process LiteSVM."""

    def __init__(self) -> None:
        self.svm = LiteSVM()
        schedule = self.svm.get_epoch_schedule()
        self.svm.warp_to_slot(FIXED_SLOT)
        self.svm.set_clock(
            Clock(
                slot=FIXED_SLOT,
                epoch_start_timestamp=FIXED_UNIX_TIMESTAMP,
                epoch=schedule.get_epoch(FIXED_SLOT),
                leader_schedule_epoch=schedule.get_leader_schedule_epoch(FIXED_SLOT),
                unix_timestamp=FIXED_UNIX_TIMESTAMP,
            )
        )

    def get_account(self, address: Pubkey) -> Account | None:
        account = self.svm.get_account(address)
        # LiteSVM reports closed accounts as zero-lamport, empty system accounts.
        if account is None or (account.lamports == 0 and len(account.data) == 0):
            return None
        return account

    def set_account(self, address: Pubkey, account: Account) -> None:
        self.svm.set_account(address, account)

    def rent_exempt_minimum(self, data_len: int) -> int:
        return self.svm.minimum_balance_for_rent_exemption(data_len)

    def accounts_owned_by(self, program: Pubkey) -> list[tuple[Pubkey, Account]]:
        return [
            (address, account)
            for address, account in self.svm.get_program_accounts(program)
            if account.lamports > 0
        ]

    def send(
        self, instructions: list[Instruction], payer: Keypair, signers: list[Keypair]
    ) -> TxResult:
        records = [InstructionRecord.from_instruction(ix) for ix in instructions]
        blockhash = self.svm.latest_blockhash()
        message = Message.new_with_blockhash(instructions, payer.pubkey(), blockhash)
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
        outcome = self.svm.send_transaction(tx)
        self.svm.expire_blockhash()
        if isinstance(outcome, FailedTransactionMetadata):
            meta = outcome.meta()
            raw_error = str(outcome.err())
            return TxResult(
                signature=str(tx.signatures[0]),
                success=False,
                error=describe_error(raw_error, [r.program_id for r in records]),
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
