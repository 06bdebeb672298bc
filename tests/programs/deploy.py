"""Deploy an ELF through the upgradeable BPF loader with real transactions.

`LiteSVM.add_program` (how reev loads its programs) skips the loader's deploy-time checks; a
deploy through `BPFLoaderUpgradeab1e…` runs them all (strict ELF parsing, every syscall known,
the verifier), exactly as a cluster would: create and fill a buffer, then
`DeployWithMaxDataLen`. Instruction encodings follow the loader's bincode
`UpgradeableLoaderInstruction` (u32 tag, then the fields).
"""

from __future__ import annotations

import struct

from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.system_program import CreateAccountParams, create_account

from reev.chain.litesvm import LiteSVMChain
from reev.chain.protocol import TxResult
from reev.constants import SYSTEM_PROGRAM, UPGRADEABLE_LOADER_PROGRAM

RENT_SYSVAR = Pubkey.from_string("SysvarRent111111111111111111111111111111111")
CLOCK_SYSVAR = Pubkey.from_string("SysvarC1ock11111111111111111111111111111111")
BUFFER_HEADER = 37  # UpgradeableLoaderState::Buffer: u32 tag + Option<Pubkey>
PROGRAM_SIZE = 36  # UpgradeableLoaderState::Program: u32 tag + programdata address
CHUNK = 900  # bytes of ELF per Write transaction (fits the 1232-byte packet)


def deploy(
    chain: LiteSVMChain, payer: Keypair, elf: bytes, program: Keypair, buffer: Keypair
) -> TxResult:
    """Upload `elf` into a buffer and deploy it at `program`; the deploy transaction's result
    (the uploads must succeed)."""
    authority = payer.pubkey()
    space = BUFFER_HEADER + len(elf)
    create = create_account(
        CreateAccountParams(
            from_pubkey=payer.pubkey(),
            to_pubkey=buffer.pubkey(),
            lamports=chain.rent_exempt_minimum(space),
            space=space,
            owner=UPGRADEABLE_LOADER_PROGRAM,
        )
    )
    initialize = Instruction(
        UPGRADEABLE_LOADER_PROGRAM,
        struct.pack("<I", 0),
        [AccountMeta(buffer.pubkey(), False, True), AccountMeta(authority, False, False)],
    )
    result = chain.send([create, initialize], payer, [buffer])
    assert result.success, result.error
    for offset in range(0, len(elf), CHUNK):
        chunk = elf[offset : offset + CHUNK]
        write = Instruction(
            UPGRADEABLE_LOADER_PROGRAM,
            struct.pack("<IIQ", 1, offset, len(chunk)) + chunk,
            [AccountMeta(buffer.pubkey(), False, True), AccountMeta(authority, True, False)],
        )
        result = chain.send([write], payer, [])
        assert result.success, result.error
    programdata, _ = Pubkey.find_program_address(
        [bytes(program.pubkey())], UPGRADEABLE_LOADER_PROGRAM
    )
    create_program = create_account(
        CreateAccountParams(
            from_pubkey=payer.pubkey(),
            to_pubkey=program.pubkey(),
            lamports=chain.rent_exempt_minimum(PROGRAM_SIZE),
            space=PROGRAM_SIZE,
            owner=UPGRADEABLE_LOADER_PROGRAM,
        )
    )
    deploy_ix = Instruction(
        UPGRADEABLE_LOADER_PROGRAM,
        struct.pack("<IQ", 2, 2 * len(elf)),
        [
            AccountMeta(payer.pubkey(), True, True),
            AccountMeta(programdata, False, True),
            AccountMeta(program.pubkey(), False, True),
            AccountMeta(buffer.pubkey(), False, True),
            AccountMeta(RENT_SYSVAR, False, False),
            AccountMeta(CLOCK_SYSVAR, False, False),
            AccountMeta(SYSTEM_PROGRAM, False, False),
            AccountMeta(authority, True, False),
        ],
    )
    return chain.send([create_program, deploy_ix], payer, [program])
