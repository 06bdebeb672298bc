"""Token-2022 mints with extensions (the transfer fee), built by real transactions at setup.

A mint with an extension cannot be written with the base layout: its account carries a
type-length-value area after byte 165 that the program reads on every instruction, and each of
its token accounts needs a matching extension too (`TransferFeeAmount`, where fees are withheld).
So `build_initial_state` still writes ordinary mints and token accounts directly (fast), and
hands every declared mint with an extension to `build_extension_mints` (here), which builds it the way
a deployer would, with the real programs:

1. System `CreateAccount` of the mint with the space its extensions need (`reev.chain.token2022.mint_space`), then
   `InitializeTransferFeeConfig` and `InitializeMint2`, in one transaction;
2. for each token account of that mint in `initial_state`: the Associated Token Account program
   creates it (under Token-2022 it sizes the account for the mint's extensions: 182 bytes with
   the transfer fee), then `MintToChecked` its balance, `ApproveChecked` its delegate and
   `FreezeAccount` it when declared, in one transaction per account;
3. authorities handed over with `SetAuthority` when setup had to hold them (below).

Who pays and who signs. A setup-only fee payer, funded for the purpose and removed afterwards,
pays every fee and every rent, so no declared account is charged anything: the user's SOL is
exactly what the benchmark declares. Setup may sign with any key the environment holds for a
placeholder (the mint, its authority, an account owner); only the *agent* is limited to the
user's key. When a needed key is not held (an authority given as a literal address, or no
authority at all), the setup payer acts as that authority while the balances are created and
then hands it to the declared one (or removes it) with `SetAuthority`.

Two things are written directly even on this path: an account at an address that is neither an
associated token account nor a key setup holds is pre-allocated (zeroed, owned by Token-2022)
before its `Initialize…` instruction, exactly what `CreateAccount` would leave; and a declared
`supply` larger than the balances is set in the mint's base state afterwards, since no
instruction raises a supply without putting the tokens in some account.
"""

from __future__ import annotations

import hashlib

from solders.account import Account
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.system_program import (
    CreateAccountParams,
    TransferParams,
    create_account,
    transfer,
)
from spl.token.instructions import (
    AuthorityType,
    approve_checked,
    create_associated_token_account,
    freeze_account,
    get_associated_token_address,
    initialize_account3,
    initialize_mint2,
    initialize_transfer_fee_config,
    mint_to_checked,
    set_authority,
)
from spl.token.models import (
    ApproveCheckedParams,
    FreezeAccountParams,
    InitializeAccount3Params,
    InitializeMint2Params,
    InitializeTransferFeeConfigParams,
    MintToCheckedParams,
    SetAuthorityParams,
)

from reev.chain.accounts import MINT_LEN
from reev.chain.layouts import MINT_LAYOUT
from reev.chain.protocol import Chain
from reev.chain.token2022 import mint_space, token_account_space
from reev.constants import SYSTEM_PROGRAM, TOKEN_2022_PROGRAM, U64_MAX
from reev.setup.errors import SetupError
from reev.spec.models import Benchmark, InitialAccount, MintDeclaration
from reev.spec.placeholders import KeyMap

_SETUP_FUNDS = 1_000_000_000_000  # 1000 SOL for fees and rents; the payer is removed afterwards


def has_extensions(declared: MintDeclaration) -> bool:
    return declared.transfer_fee is not None


def extension_mints(benchmark: Benchmark, keys: KeyMap) -> set[Pubkey]:
    """The declared mints this module builds (the others are written directly)."""
    return {keys.resolve(m.address) for m in benchmark.mints if has_extensions(m)}


class _Builder:
    """Builds the extension mints of one benchmark on one chain."""

    def __init__(self, chain: Chain, benchmark: Benchmark, keys: KeyMap) -> None:
        self.chain = chain
        self.benchmark = benchmark
        self.keys = keys
        digest = hashlib.sha256(f"reev/setup-payer/{benchmark.id}".encode()).digest()
        self.payer = Keypair.from_seed(digest)

    def send(self, what: str, instructions: list[Instruction], signers: list[Keypair]) -> None:
        unique = {kp.pubkey(): kp for kp in signers if kp.pubkey() != self.payer.pubkey()}
        result = self.chain.send(instructions, self.payer, list(unique.values()))
        if not result.success:
            logs = "; ".join(result.logs[-4:])
            raise SetupError(f"{what}: the setup transaction failed: {result.error} ({logs})")

    def key(self, address: Pubkey | None) -> Keypair | None:
        return self.keys.keypairs.get(address) if address is not None else None

    def build(self) -> None:
        self.chain.set_account(
            self.payer.pubkey(),
            Account(
                lamports=_SETUP_FUNDS,
                data=b"",
                owner=SYSTEM_PROGRAM,
                executable=False,
                rent_epoch=0,
            ),
        )
        try:
            for declared in self.benchmark.mints:
                if has_extensions(declared):
                    self.build_mint(declared)
        finally:
            # The payer was never declared: it must not outlive setup.
            self.chain.set_account(
                self.payer.pubkey(),
                Account(lamports=0, data=b"", owner=SYSTEM_PROGRAM, executable=False, rent_epoch=0),
            )

    def build_mint(self, declared: MintDeclaration) -> None:
        fee = declared.transfer_fee
        assert fee is not None
        mint = self.keys.resolve(declared.address)
        label = f"mint {declared.address}"
        if self.chain.get_account(mint) is not None:
            raise SetupError(f"{label}: an account already exists at {mint}")
        accounts = [
            a
            for a in self.benchmark.initial_state
            if a.data is not None and self.keys.resolve(a.data.mint) == mint
        ]
        held = sum(a.data.amount for a in accounts if a.data is not None)
        if held > U64_MAX:
            raise SetupError(f"{label}: the token accounts hold {held} in all, more than a u64")
        if declared.supply is not None and declared.supply < held:
            raise SetupError(
                f"{label}: declared supply {declared.supply} is less than the {held} the accounts hold"
            )

        # Authorities: the declared one when setup holds its key, else the setup payer for now.
        mint_authority = (
            self.keys.resolve(declared.mint_authority) if declared.mint_authority else None
        )
        freeze_authority = (
            self.keys.resolve(declared.freeze_authority) if declared.freeze_authority else None
        )
        minter = self.key(mint_authority) or self.payer
        needs_freeze = any(a.data is not None and a.data.state == "frozen" for a in accounts)
        freezer = (self.key(freeze_authority) or self.payer) if needs_freeze else None
        fee_authority = self.keys.resolve(fee.authority) if fee.authority else None

        # 1. The mint: CreateAccount, InitializeTransferFeeConfig, InitializeMint2.
        space = mint_space(transfer_fee=True)
        lamports = self.chain.rent_exempt_minimum(space)
        instructions: list[Instruction] = []
        signers: list[Keypair] = []
        mint_key = self.key(mint)
        if mint_key is not None:
            instructions.append(
                create_account(
                    CreateAccountParams(
                        from_pubkey=self.payer.pubkey(),
                        to_pubkey=mint,
                        lamports=lamports,
                        space=space,
                        owner=TOKEN_2022_PROGRAM,
                    )
                )
            )
            signers.append(mint_key)
        else:
            self._preallocate(mint, space, lamports)
        instructions.append(
            initialize_transfer_fee_config(
                InitializeTransferFeeConfigParams(
                    program_id=TOKEN_2022_PROGRAM,
                    mint=mint,
                    transfer_fee_config_authority=fee_authority,
                    withdraw_withheld_authority=fee_authority,
                    transfer_fee_basis_points=fee.basis_points,
                    maximum_fee=fee.maximum_fee,
                )
            )
        )
        instructions.append(
            initialize_mint2(
                InitializeMint2Params(
                    decimals=declared.decimals,
                    program_id=TOKEN_2022_PROGRAM,
                    mint=mint,
                    mint_authority=minter.pubkey(),
                    freeze_authority=freezer.pubkey() if freezer else freeze_authority,
                )
            )
        )
        self.send(label, instructions, signers)

        # 2. Its token accounts, with their balances.
        for account in accounts:
            self.build_token_account(account, mint, declared.decimals, minter, freezer)

        # 3. A declared supply above the balances (see the module docstring).
        if declared.supply is not None and declared.supply > held:
            self._set_supply(mint, declared.supply)

        # 4. Hand over what setup held.
        handover: list[Instruction] = []
        if minter.pubkey() != mint_authority:
            handover.append(
                self._set_authority(mint, AuthorityType.MINT_TOKENS, minter, mint_authority)
            )
        if freezer is not None and freezer.pubkey() != freeze_authority:
            handover.append(
                self._set_authority(mint, AuthorityType.FREEZE_ACCOUNT, freezer, freeze_authority)
            )
        if handover:
            self.send(f"{label}: authorities", handover, [minter, *([freezer] if freezer else [])])

    def build_token_account(
        self,
        account: InitialAccount,
        mint: Pubkey,
        decimals: int,
        minter: Keypair,
        freezer: Keypair | None,
    ) -> None:
        data = account.data
        assert data is not None
        label = f"{account.pubkey}"
        address = self.keys.resolve(account.pubkey)
        owner = self.keys.resolve(data.owner)
        if self.keys.resolve(account.owner) != TOKEN_2022_PROGRAM:
            raise SetupError(
                f"{label}: token account owned by {account.owner}, but its mint belongs to {TOKEN_2022_PROGRAM}"
            )
        if self.chain.get_account(address) is not None:
            raise SetupError(f"{label}: an account already exists at {address}")
        instructions: list[Instruction] = []
        signers: list[Keypair] = []
        if address == get_associated_token_address(owner, mint, TOKEN_2022_PROGRAM):
            instructions.append(
                create_associated_token_account(
                    self.payer.pubkey(), owner, mint, TOKEN_2022_PROGRAM
                )
            )
            space = token_account_space(transfer_fee=True, immutable_owner=True)
        else:
            space = token_account_space(transfer_fee=True)
            self._preallocate(address, space, self.chain.rent_exempt_minimum(space))
            instructions.append(
                initialize_account3(
                    InitializeAccount3Params(
                        program_id=TOKEN_2022_PROGRAM, account=address, mint=mint, owner=owner
                    )
                )
            )
        if data.amount:
            instructions.append(
                mint_to_checked(
                    MintToCheckedParams(
                        program_id=TOKEN_2022_PROGRAM,
                        mint=mint,
                        dest=address,
                        mint_authority=minter.pubkey(),
                        amount=data.amount,
                        decimals=decimals,
                    )
                )
            )
            signers.append(minter)
        if data.delegate is not None:
            owner_key = self.key(owner)
            if owner_key is None:
                raise SetupError(
                    f"{label}: a delegate on an account of a Token-2022 mint with extensions is "
                    f"approved by its owner, and setup holds no key for {data.owner}"
                )
            instructions.append(
                approve_checked(
                    ApproveCheckedParams(
                        program_id=TOKEN_2022_PROGRAM,
                        source=address,
                        mint=mint,
                        delegate=self.keys.resolve(data.delegate),
                        owner=owner,
                        amount=data.delegated_amount,
                        decimals=decimals,
                    )
                )
            )
            signers.append(owner_key)
        if data.state == "frozen":
            assert freezer is not None
            instructions.append(
                freeze_account(
                    FreezeAccountParams(
                        program_id=TOKEN_2022_PROGRAM,
                        account=address,
                        mint=mint,
                        authority=freezer.pubkey(),
                    )
                )
            )
            signers.append(freezer)
        rent = self.chain.rent_exempt_minimum(space)
        if account.lamports is not None and account.lamports > rent:
            instructions.append(
                transfer(
                    TransferParams(
                        from_pubkey=self.payer.pubkey(),
                        to_pubkey=address,
                        lamports=account.lamports - rent,
                    )
                )
            )
        self.send(label, instructions, signers)

    def _preallocate(self, address: Pubkey, space: int, lamports: int) -> None:
        """What System `CreateAccount` leaves, for an address whose key setup does not hold."""
        if self.chain.get_account(address) is not None:
            raise SetupError(f"an account already exists at {address}")
        self.chain.set_account(
            address,
            Account(
                lamports=lamports,
                data=bytes(space),
                owner=TOKEN_2022_PROGRAM,
                executable=False,
                rent_epoch=0,
            ),
        )

    def _set_supply(self, mint: Pubkey, supply: int) -> None:
        account = self.chain.get_account(mint)
        assert account is not None
        data = bytes(account.data)
        base = dict(MINT_LAYOUT.parse(data[:MINT_LEN]))
        base["supply"] = supply
        self.chain.set_account(
            mint,
            Account(
                lamports=account.lamports,
                data=MINT_LAYOUT.build(base) + data[MINT_LEN:],
                owner=account.owner,
                executable=account.executable,
                rent_epoch=account.rent_epoch,
            ),
        )

    def _set_authority(
        self, mint: Pubkey, kind: AuthorityType, current: Keypair, new: Pubkey | None
    ) -> Instruction:
        return set_authority(
            SetAuthorityParams(
                program_id=TOKEN_2022_PROGRAM,
                account=mint,
                authority=kind,
                current_authority=current.pubkey(),
                new_authority=new,
            )
        )


def build_extension_mints(chain: Chain, benchmark: Benchmark, keys: KeyMap) -> None:
    """Build every declared Token-2022 mint with extensions, and its token accounts, with real
    transactions (see the module docstring). Raises `SetupError` when that cannot be done."""
    if any(has_extensions(m) for m in benchmark.mints):
        _Builder(chain, benchmark, keys).build()
