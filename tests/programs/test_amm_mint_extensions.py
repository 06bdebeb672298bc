"""Which Token-2022 mint extensions a pool accepts (docs/programs.md, error 22), on mints built
by the real Token-2022 instructions on LiteSVM, and the token-account type check.

The extension instructions are encoded here from the Token-2022 instruction layout (the SPL
client library builds only the transfer-fee one): a tag byte, for the pointer/config families
a sub-instruction byte 0 (`Initialize`), then the fields, `OptionalNonZeroPubkey` as 32 bytes
(zeros for none)."""

from __future__ import annotations

import struct
from collections.abc import Sequence

import pytest
from solders.account import Account
from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey
from solders.system_program import CreateAccountParams, create_account
from spl.token.instructions import initialize_mint2, initialize_transfer_fee_config
from spl.token.models import InitializeMint2Params, InitializeTransferFeeConfigParams

from reev.constants import TOKEN_2022_PROGRAM
from reev.defi.amm.layout import FLAG_FEE_A, FLAG_FEE_B, AmmError, lp_mint_address
from reev.defi.amm.model import TransferFee

from .amm_env import AmmEnv, Mint, assert_fails, custom_error, funded_pool, swap_ix, trader

_TLV_START = 166  # the base mint padded to 165 bytes, then the account-type byte

# Token-2022 instruction tags and the value sizes of their extensions.
_PERMANENT_DELEGATE = 35  # InitializePermanentDelegate { delegate }: 32 bytes
_TRANSFER_HOOK = 36  # TransferHookExtension::Initialize { authority, program_id }: 64
_NON_TRANSFERABLE = 32  # InitializeNonTransferableMint: 0
_INTEREST_BEARING = 33  # InterestBearingMintExtension::Initialize { authority, rate: i16 }: 52
_METADATA_POINTER = 39  # MetadataPointerExtension::Initialize { authority, address }: 64


def _extension_ix(mint: Pubkey, data: bytes) -> Instruction:
    return Instruction(TOKEN_2022_PROGRAM, data, [AccountMeta(mint, False, True)])


def extension_mint(
    env: AmmEnv, extensions: Sequence[tuple[bytes, int]], fee: TransferFee | None = None
) -> Mint:
    """A Token-2022 mint with `extensions` (instruction data, value size) initialised by their
    instructions before `InitializeMint2`, and optionally a transfer fee, in one transaction."""
    keypair = env.keypair()
    mint = keypair.pubkey()
    sizes = [size for _, size in extensions] + ([108] if fee else [])
    space = _TLV_START + sum(4 + size for size in sizes)
    ixs = [
        create_account(
            CreateAccountParams(
                from_pubkey=env.payer.pubkey(),
                to_pubkey=mint,
                lamports=env.chain.rent_exempt_minimum(space),
                space=space,
                owner=TOKEN_2022_PROGRAM,
            )
        ),
        *(_extension_ix(mint, data) for data, _ in extensions),
    ]
    if fee is not None:
        ixs.append(
            initialize_transfer_fee_config(
                InitializeTransferFeeConfigParams(
                    program_id=TOKEN_2022_PROGRAM,
                    mint=mint,
                    transfer_fee_config_authority=None,
                    withdraw_withheld_authority=None,
                    transfer_fee_basis_points=fee.basis_points,
                    maximum_fee=fee.maximum_fee,
                )
            )
        )
    ixs.append(
        initialize_mint2(
            InitializeMint2Params(
                decimals=6,
                program_id=TOKEN_2022_PROGRAM,
                mint=mint,
                mint_authority=env.payer.pubkey(),
                freeze_authority=None,
            )
        )
    )
    env.ok(ixs, [keypair])
    account = env.chain.get_account(mint)
    assert account is not None and len(account.data) == space
    return Mint(mint, TOKEN_2022_PROGRAM, 6, fee)


def extension_types(env: AmmEnv, mint: Mint) -> list[int]:
    """The ExtensionType values in a mint's TLV list, as the chain stores them."""
    account = env.chain.get_account(mint.address)
    assert account is not None
    data, at, types = bytes(account.data), _TLV_START, []
    while at + 4 <= len(data):
        kind, size = struct.unpack_from("<HH", data, at)
        if kind == 0:
            break
        types.append(kind)
        at += 4 + size
    return types


def _key(env: AmmEnv) -> bytes:
    return bytes(env.keypair().pubkey())


REFUSED = {
    "permanent delegate": (lambda env: [(bytes([_PERMANENT_DELEGATE]) + _key(env), 32)], 12),
    "transfer hook": (lambda env: [(bytes([_TRANSFER_HOOK, 0]) + _key(env) + _key(env), 64)], 14),
    "non-transferable": (lambda env: [(bytes([_NON_TRANSFERABLE]), 0)], 9),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
@pytest.mark.parametrize("side", ["x", "y"])
def test_a_mint_with_an_unsafe_extension_is_refused(env: AmmEnv, name: str, side: str) -> None:
    build, extension_type = REFUSED[name]
    unsafe = extension_mint(env, build(env))
    assert extension_types(env, unsafe) == [extension_type]
    plain = env.mint()
    x, y = (unsafe, plain) if side == "x" else (plain, unsafe)
    keypair = env.keypair()
    create, *vaults, init = env.pool_instructions(keypair.pubkey(), x, y, 30)
    env.ok([create, *vaults], [keypair])  # pool account and vaults exist, as a client makes them
    watched = [keypair.pubkey(), lp_mint_address(keypair.pubkey())[0], unsafe.address]
    watched += [meta.pubkey for meta in vaults[0].accounts[1:2] + vaults[1].accounts[1:2]]
    assert_fails(env, [init], [], AmmError.UNSUPPORTED_MINT_EXTENSION, watched)


def test_a_fee_mint_with_metadata_and_interest_still_makes_a_working_pool(env: AmmEnv) -> None:
    fee = TransferFee(100, 10**9)
    allowed = extension_mint(
        env,
        [
            (bytes([_METADATA_POINTER, 0]) + _key(env) + _key(env), 64),
            (bytes([_INTEREST_BEARING, 0]) + _key(env) + struct.pack("<h", 500), 52),
        ],
        fee=fee,
    )
    assert sorted(extension_types(env, allowed)) == [1, 10, 18]
    pool, _, _ = funded_pool(env, allowed, env.mint(), 10**9, 10**9)
    state = env.state(pool)
    assert state.flags == (FLAG_FEE_A if pool.mint_a == allowed else FLAG_FEE_B)
    user = trader(env, pool, 10**6, 10**6)
    side = "a" if pool.mint_a == allowed else "b"
    env.ok([swap_ix(env, pool, user, side, 10**5, 0)], [user.keypair])
    after = env.state(pool)
    # what reached the vault is the amount minus the 1 % transfer fee
    arrived = (
        (after.reserve_a - state.reserve_a) if side == "a" else (after.reserve_b - state.reserve_b)
    )
    assert arrived == 10**5 - fee.on(10**5)


def test_a_mint_typed_account_never_passes_as_a_token_account(env: AmmEnv) -> None:
    """A Token-2022 account longer than 165 bytes must carry the account type (2): the same
    bytes with the mint type (1) are refused as a user's token account."""
    x, y = env.mint(token_2022=True), env.mint(token_2022=True)
    pool, _, _ = funded_pool(env, x, y, 10**9, 10**9)
    user = trader(env, pool, 10**6, 10**6)
    account = env.chain.get_account(user.a)
    assert account is not None and len(account.data) > 165 and bytes(account.data)[165] == 2
    swap = swap_ix(env, pool, user, "a", 1_000, 0)
    retyped = bytearray(account.data)
    retyped[165] = 1
    env.chain.set_account(
        user.a,
        Account(
            lamports=account.lamports,
            data=bytes(retyped),
            owner=account.owner,
            executable=False,
            rent_epoch=0,
        ),
    )
    state = env.state(pool)
    watched = [pool.address, user.a, user.b, state.vault_a, state.vault_b]
    assert_fails(env, [swap], [user.keypair], AmmError.INVALID_TOKEN_ACCOUNT, watched)
    # the untouched bytes pass: the type byte alone made the difference
    env.chain.set_account(user.a, account)
    result = env.send([swap], [user.keypair])
    assert result.success, (custom_error(result), result.logs[-3:])
