"""The reev instruction contract: `{program_id, accounts[{pubkey, is_signer, is_writable}], data}`.

`data` is base58, as in the original reev, so expected instructions written for reev compare
byte for byte with what agents produce here.
"""

from __future__ import annotations

import base58
from pydantic import BaseModel
from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey


class AccountMetaRecord(BaseModel):
    pubkey: str
    is_signer: bool
    is_writable: bool


class InstructionRecord(BaseModel):
    program_id: str
    accounts: list[AccountMetaRecord]
    data: str

    @classmethod
    def from_instruction(cls, ix: Instruction) -> InstructionRecord:
        return cls(
            program_id=str(ix.program_id),
            accounts=[
                AccountMetaRecord(
                    pubkey=str(meta.pubkey), is_signer=meta.is_signer, is_writable=meta.is_writable
                )
                for meta in ix.accounts
            ],
            data=base58.b58encode(bytes(ix.data)).decode(),
        )

    def to_instruction(self) -> Instruction:
        return Instruction(
            Pubkey.from_string(self.program_id),
            base58.b58decode(self.data),
            [
                AccountMeta(Pubkey.from_string(m.pubkey), m.is_signer, m.is_writable)
                for m in self.accounts
            ],
        )
