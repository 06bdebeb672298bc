"""Pydantic models of a benchmark file.

The models accept the original reev YAML format unchanged and add the fields a verified
evaluation needs (more assertion types, `solution`, `mints`, `expected_outcome`). Every model
allows extra keys so that an unknown field becomes a warning with a file and line rather than
a hard failure; `reev validate --strict` turns those warnings into errors (see `loader.py`).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError
from solders.pubkey import Pubkey

from reev.constants import (
    STAKE_PROGRAM,
    SYSTEM_PROGRAM,
    TOKEN_2022_PROGRAM,
    TOKEN_PROGRAM,
    TOKEN_PROGRAMS,
    VOTE_PROGRAM,
)
from reev.defi.lend.layout import ReserveConfig
from reev.spec.known_mints import KNOWN_MINTS, LEND_ASSETS, LEND_SHARE_MINTS
from reev.units import AmountError, parse_base_units, parse_decimal, to_base_units

PRICE_DECIMALS = 8  # reev Lend oracle prices are USD x 10^8 (docs/lending.md, "Oracle")

_PLACEHOLDER = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")


def _address_or_placeholder(value: str) -> str:
    """A field that names an account: a base58 address or an ALL_CAPS_PLACEHOLDER."""
    if _PLACEHOLDER.fullmatch(value):
        return value
    try:
        Pubkey.from_string(value)
    except ValueError:
        raise ValueError(
            f"{value!r} is neither a base58 address nor a placeholder (ALL_CAPS with an underscore)"
        ) from None
    return value


Address = Annotated[str, AfterValidator(_address_or_placeholder)]
# An amount of lamports or token base units: an int or an integer string (the original reev
# format quotes token amounts), non-negative, at most a u64.
BaseUnits = Annotated[int, BeforeValidator(parse_base_units)]
OptionalBaseUnits = Annotated[
    int | None, BeforeValidator(lambda v: None if v is None else parse_base_units(v))
]


class SpecModel(BaseModel):
    """Base for every benchmark model: unknown keys are kept so the loader can report them."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class TokenData(SpecModel):
    """The `data` of a token account in `initial_state` (original reev shape)."""

    mint: Address
    owner: Address
    amount: BaseUnits = 0
    delegate: Address | None = None
    delegated_amount: BaseUnits = 0
    state: Literal["initialized", "frozen"] = "initialized"

    @model_validator(mode="after")
    def _delegation_is_consistent(self) -> TokenData:
        if self.delegated_amount and self.delegate is None:
            raise ValueError("delegated_amount needs a delegate")
        if self.delegated_amount > self.amount:
            raise ValueError("delegated_amount cannot exceed amount")
        return self


class VoteDeclaration(SpecModel):
    """An initialized vote account (the Vote program's InitializeAccount runs at setup).

    `node` (the validator identity, also the authorized voter) signs the initialization, so it
    must be a placeholder; without it the environment derives one. `withdrawer` defaults to it.
    """

    node: Address | None = None
    withdrawer: Address | None = None
    commission: int = Field(default=0, ge=0, le=100)


class StakeDeclaration(SpecModel):
    """A stake account, built at setup with the Stake program's own instructions.

    Delegated stake is the account's `lamports` minus the rent-exempt reserve (2282880). The
    setup delegates (and deactivates) in earlier epochs so that, when the episode starts, the
    account is in `state`: `active` was delegated 2 epochs before, `deactivating` was delegated 2
    epochs before and deactivated in the current epoch, `inactive` delegated 2 and deactivated
    1 epoch before, `activating` delegated in the current epoch.
    """

    staker: Address
    withdrawer: Address | None = None  # defaults to the staker
    state: Literal["initialized", "activating", "active", "deactivating", "inactive"] = "active"
    delegated_vote: Address | None = None

    @model_validator(mode="after")
    def _delegation_needs_a_vote_account(self) -> StakeDeclaration:
        if self.state == "initialized" and self.delegated_vote is not None:
            raise ValueError("an `initialized` stake account is not delegated: drop delegated_vote")
        if self.state != "initialized" and self.delegated_vote is None:
            raise ValueError(f"a stake account in state {self.state!r} needs a delegated_vote")
        return self


class InitialAccount(SpecModel):
    """One account that exists before the agent acts."""

    pubkey: Address
    owner: Address = str(SYSTEM_PROGRAM)
    lamports: OptionalBaseUnits = None
    data: TokenData | None = None
    vote: VoteDeclaration | None = None
    stake: StakeDeclaration | None = None

    @model_validator(mode="after")
    def _token_accounts_belong_to_a_token_program(self) -> InitialAccount:
        if self.data is not None and self.owner not in map(str, TOKEN_PROGRAMS):
            raise ValueError(
                f"an account with token `data` must be owned by the Token ({TOKEN_PROGRAM}) or "
                f"Token-2022 ({TOKEN_2022_PROGRAM}) program, not {self.owner}"
            )
        return self

    @model_validator(mode="after")
    def _vote_and_stake_accounts_belong_to_their_program(self) -> InitialAccount:
        kinds = [name for name in ("data", "vote", "stake") if getattr(self, name) is not None]
        if len(kinds) > 1:
            raise ValueError(
                f"an account has one of `data`, `vote`, `stake`, not {' and '.join(kinds)}"
            )
        for name, program in (("vote", VOTE_PROGRAM), ("stake", STAKE_PROGRAM)):
            if getattr(self, name) is not None and self.owner != str(program):
                raise ValueError(
                    f"an account with `{name}` must be owned by {program}, not {self.owner}"
                )
        return self


class TransferFeeDeclaration(SpecModel):
    """The Token-2022 transfer-fee extension of a declared mint.

    Every transfer withholds `min(ceil(amount × basis_points / 10000), maximum_fee)` base units
    in the recipient's token account. `authority` becomes both the transfer-fee-config authority
    and the withdraw-withheld authority; without it the fee can never change nor be withdrawn.
    """

    basis_points: int = Field(ge=0, le=10_000)
    maximum_fee: BaseUnits
    authority: Address | None = None


class MintDeclaration(SpecModel):
    """A mint the benchmark invents (reev extension).

    Well-known mints (USDC, USDT, wSOL, …) need no declaration; a benchmark declares its own
    so that decimals and authorities are explicit rather than guessed.
    """

    address: Address
    decimals: int = Field(ge=0, le=18)
    program: Literal["spl-token", "token-2022"] = "spl-token"
    mint_authority: Address | None = None
    freeze_authority: Address | None = None
    supply: OptionalBaseUnits = None
    transfer_fee: TransferFeeDeclaration | None = None

    @model_validator(mode="after")
    def _extensions_need_token_2022(self) -> MintDeclaration:
        if self.transfer_fee is not None and self.program != "token-2022":
            raise ValueError(
                f"transfer_fee: the transfer-fee extension exists only on Token-2022 mints; set "
                f"`program: token-2022` (this mint is {self.program})"
            )
        return self


class PoolDeclaration(SpecModel):
    """A constant-product pool of reev's AMM, built by real transactions at set-up.

    `id` is a placeholder: the pool account's keypair is derived like a wallet's, so the set-up
    can sign its creation. `reserves` are token units (human amounts, strings so that nothing
    passes through a float), in the order of `mints`, converted with each mint's decimals.
    The swap output is `floor(a·(1−f)·R_out / (R_in + a·(1−f)))` with the fee `f = fee_bps /
    10000` taken from the input and kept by the pool (docs/programs.md has the exact rounding).
    """

    id: Address
    mints: list[Address] = Field(min_length=2, max_length=2)
    reserves: list[str] = Field(min_length=2, max_length=2)
    fee_bps: int = Field(default=30, ge=0, lt=10_000)

    @field_validator("id")
    @classmethod
    def _id_is_a_placeholder(cls, value: str) -> str:
        if not _PLACEHOLDER.fullmatch(value):
            raise ValueError(
                "a pool id is a placeholder (ALL_CAPS with an underscore, e.g. SOL_USDC_POOL): "
                "the set-up derives its keypair to create the pool account"
            )
        return value

    @field_validator("reserves", mode="before")
    @classmethod
    def _reserves_are_exact(cls, value: Any) -> Any:
        if isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, float):
                    raise ValueError(
                        f'[{index}]: write the reserve as a quoted string ("{item}"): a YAML '
                        "float may not be exact"
                    )
            return [
                str(item) if isinstance(item, int) and not isinstance(item, bool) else item
                for item in value
            ]
        return value

    @field_validator("reserves")
    @classmethod
    def _reserves_are_positive(cls, value: list[str]) -> list[str]:
        for index, item in enumerate(value):
            try:
                amount = parse_decimal(item)
            except AmountError:
                raise ValueError(f"[{index}]: {item!r} is not a number of token units") from None
            if amount <= 0:
                raise ValueError(f"[{index}]: a pool reserve must be greater than zero, not {item}")
        return value

    @model_validator(mode="after")
    def _distinct_mints(self) -> PoolDeclaration:
        if self.mints[0] == self.mints[1]:
            raise ValueError(f"mints: a pool needs two different mints, not {self.mints[0]} twice")
        return self


def _usd_price(value: Any) -> str:
    """An oracle price: USD per whole token, more than zero, at most 8 decimals."""
    try:
        to_base_units(value, PRICE_DECIMALS)
    except AmountError as exc:
        raise ValueError(f'price {value!r}: {exc} (USD per whole token, e.g. "120.5")') from None
    return str(value)


class LendAmount(SpecModel):
    """An amount of one of reev Lend's assets in `lending.positions`, in token units (a
    string, as pool reserves are, so nothing passes through a float)."""

    model_config = ConfigDict(extra="forbid")

    mint: Address
    amount: str

    @field_validator("amount", mode="before")
    @classmethod
    def _amount_is_exact(cls, value: Any) -> Any:
        if isinstance(value, float):
            raise ValueError(
                f'write the amount as a quoted string ("{value}"): a YAML float may not be exact'
            )
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return value

    @field_validator("amount")
    @classmethod
    def _amount_is_positive(cls, value: str) -> str:
        try:
            amount = parse_decimal(value)
        except AmountError:
            raise ValueError(f"{value!r} is not a number of token units") from None
        if amount <= 0:
            raise ValueError(f"an amount must be greater than zero, not {value}")
        return value


class LendPosition(SpecModel):
    """Another wallet's position in reev Lend's default market, opened at set-up by real
    transactions the wallet signs (docs/lending.md, "Positions declared by a benchmark"):
    first every position's `deposit`s (Earn: the wallet receives shares), then every
    `collateral`, then every `borrow` (the borrowed assets land in the wallet)."""

    model_config = ConfigDict(extra="forbid")

    wallet: Address
    deposit: list[LendAmount] = Field(default_factory=list)
    collateral: list[LendAmount] = Field(default_factory=list)
    borrow: list[LendAmount] = Field(default_factory=list)

    @field_validator("wallet")
    @classmethod
    def _wallet_is_a_placeholder(cls, value: str) -> str:
        if not _PLACEHOLDER.fullmatch(value):
            raise ValueError(
                "a position's wallet is a placeholder (ALL_CAPS with an underscore, e.g. "
                "BORROWER_WALLET): the set-up signs its transactions with the derived keypair"
            )
        return value

    @model_validator(mode="after")
    def _something_to_do(self) -> LendPosition:
        if not (self.deposit or self.collateral or self.borrow):
            raise ValueError("a position needs a deposit, collateral or a borrow")
        if self.borrow and not self.collateral:
            raise ValueError("borrow: a borrow needs collateral in the same position")
        return self


U16, U32 = 2**16 - 1, 2**32 - 1


class LendReserveDeclaration(SpecModel):
    """Parameters of one of the default market's reserves that a benchmark changes (the
    fields it leaves out keep the default market's values, docs/lending.md). Ranges are
    `InitReserve`'s; the fields that constrain each other are checked with the defaults
    merged in."""

    model_config = ConfigDict(extra="forbid")

    mint: Address
    price: str | None = Field(default=None, description="USD per whole token, ≤ 8 decimals")
    ltv_bps: int | None = Field(default=None, ge=0, le=9_999)
    liquidation_threshold_bps: int | None = Field(default=None, ge=1, le=9_999)
    liquidation_bonus_bps: int | None = Field(default=None, ge=0, le=U16)
    kink_bps: int | None = Field(default=None, ge=1, le=9_999)
    base_rate_bps: int | None = Field(default=None, ge=0, le=100_000)
    slope1_bps: int | None = Field(default=None, ge=0, le=100_000)
    slope2_bps: int | None = Field(default=None, ge=0, le=100_000)
    max_price_age_slots: int | None = Field(default=None, ge=1, le=U32)

    @field_validator("price", mode="before")
    @classmethod
    def _price_is_positive(cls, value: Any) -> str | None:
        return None if value is None else _usd_price(value)

    @property
    def oracle_price(self) -> int | None:
        """The price as an oracle stores it (USD × 10^8), None when not declared."""
        return None if self.price is None else to_base_units(self.price, PRICE_DECIMALS)

    def apply(self, config: ReserveConfig) -> ReserveConfig:
        """`config` with the fields this declaration sets replaced."""
        changed = {
            name: value
            for name in ReserveConfig.__dataclass_fields__
            if (value := getattr(self, name)) is not None
        }
        return dataclasses.replace(config, **changed)


class LendingDeclaration(SpecModel):
    """`lending:` — reev Lend's default market as a task needs it: parameters of its reserves
    and other wallets' positions, opened before the agent acts, so that utilisation, rates and
    share prices are what the task needs."""

    model_config = ConfigDict(extra="forbid")

    close_factor_bps: int | None = Field(default=None, ge=1, le=10_000)
    reserves: list[LendReserveDeclaration] = Field(default_factory=list)
    positions: list[LendPosition] = Field(default_factory=list)


class PriceEvent(SpecModel):
    """`set_price`: the oracle of `mint` in every reev Lend market publishes `price`."""

    model_config = ConfigDict(extra="forbid")

    mint: Address
    price: str = Field(description="USD per whole token, at most 8 decimals (docs/lending.md)")

    @field_validator("price", mode="before")
    @classmethod
    def _price_is_positive(cls, value: Any) -> str:
        return _usd_price(value)

    @property
    def oracle_price(self) -> int:
        """The price as an oracle stores it: USD × 10^8."""
        return to_base_units(self.price, PRICE_DECIMALS)


class FlowEvent(SpecModel):
    """An environment event a flow step runs before its prompt (docs/benchmarks.md): exactly
    one of `advance_slots`, `advance_seconds` (400 ms per slot, rounded down) or `set_price`.
    `stale_prices: true` with an advance leaves the oracles unpublished, so they age."""

    model_config = ConfigDict(extra="forbid")

    advance_slots: int | None = Field(default=None, ge=1, le=10**10)
    advance_seconds: int | None = Field(default=None, ge=1, le=4 * 10**9)
    stale_prices: bool = False
    set_price: PriceEvent | None = None

    @model_validator(mode="after")
    def _one_event(self) -> FlowEvent:
        given = [
            name
            for name in ("advance_slots", "advance_seconds", "set_price")
            if getattr(self, name) is not None
        ]
        if len(given) != 1:
            raise ValueError(
                "an event is exactly one of advance_slots, advance_seconds or set_price"
                + (f" (got {', '.join(given)})" if given else "")
            )
        if self.stale_prices and self.set_price is not None:
            raise ValueError("stale_prices goes with advance_slots or advance_seconds")
        if self.advance_seconds is not None and self.slots < 1:
            raise ValueError(f"advance_seconds: {self.advance_seconds} s is less than one slot")
        return self

    @property
    def slots(self) -> int:
        """The slots an advance moves (0 for a price event)."""
        if self.advance_slots is not None:
            return self.advance_slots
        if self.advance_seconds is not None:
            return self.advance_seconds * 5 // 2
        return 0


class FlowStep(SpecModel):
    """One step of a multi-step `flow` benchmark."""

    step: int
    description: str = ""
    prompt: str
    critical: bool = True
    timeout: float | None = Field(default=None, gt=0)
    depends_on: list[str] = Field(default_factory=list)
    solution: list[ToolCallSpec] | None = None
    # Epochs the chain moves forward before this step runs (stake warms up and cools down).
    advance_epochs: int = Field(default=0, ge=0, le=512)
    # Environment events run in order before the step (after advance_epochs): time, prices.
    events: list[FlowEvent] = Field(default_factory=list)


def step_reference(ref: str) -> int | None:
    """`step_1`, `step_1_result` (reev's spelling) or `1` → 1."""
    match = re.fullmatch(r"(?:step_)?(\d+)(?:_result)?", ref.strip())
    return int(match.group(1)) if match else None


class ToolCallSpec(SpecModel):
    """A reference tool call: the deterministic agent replays these through the tool layer."""

    tool: str
    args: dict[str, Any] = Field(default_factory=dict)


class AddressDerivation(SpecModel):
    """How to compute an address that does not exist before the episode."""

    type: Literal["AssociatedTokenAccount"]
    owner: Address
    mint: Address


class AccountWithSeedDerivation(SpecModel):
    """`create_with_seed(base, seed, program)`: `stake_sol` opens a wallet's n-th stake account
    at base = the wallet, seed = `stake:<n>`, program = the Stake program."""

    type: Literal["AccountWithSeed"]
    base: Address
    seed: str = Field(min_length=1, max_length=32)
    program: Address


class _Assertion(SpecModel):
    weight: float = Field(default=1.0, ge=0)


class SolBalance(_Assertion):
    type: Literal["SolBalance"]
    pubkey: Address
    expected: BaseUnits


class _ChangeAssertion(_Assertion):
    """A balance change bounded by an exact value and/or a range (signed, in base units)."""

    expected_change: int | None = None
    expected_change_gte: int | None = None
    expected_change_lte: int | None = None

    @model_validator(mode="after")
    def _one_bound(self) -> _ChangeAssertion:
        if (
            self.expected_change is None
            and self.expected_change_gte is None
            and self.expected_change_lte is None
        ):
            raise ValueError(
                f"{type(self).__name__} needs expected_change, expected_change_gte or expected_change_lte"
            )
        return self


class SolBalanceChange(_ChangeAssertion):
    type: Literal["SolBalanceChange"]
    pubkey: Address


class TokenAccountBalance(_Assertion):
    type: Literal["TokenAccountBalance"]
    pubkey: Address
    expected: OptionalBaseUnits = None
    expected_gte: OptionalBaseUnits = None
    address_derivation: AddressDerivation | None = None

    @model_validator(mode="after")
    def _one_bound(self) -> TokenAccountBalance:
        if self.expected is None and self.expected_gte is None:
            raise ValueError("TokenAccountBalance needs expected or expected_gte")
        return self


class TokenAccountBalanceChange(_ChangeAssertion):
    type: Literal["TokenAccountBalanceChange"]
    pubkey: Address
    address_derivation: AddressDerivation | None = None


class AccountExists(_Assertion):
    type: Literal["AccountExists"]
    pubkey: Address
    owner: Address | None = None
    address_derivation: AddressDerivation | None = None


class AccountClosed(_Assertion):
    type: Literal["AccountClosed"]
    pubkey: Address
    address_derivation: AddressDerivation | None = None


class TokenAccountDelegate(_Assertion):
    type: Literal["TokenAccountDelegate"]
    pubkey: Address
    delegate: Address | None = Field(
        default=None, description="Expected delegate, or null for 'no delegate'"
    )
    delegated_amount: int | None = None
    address_derivation: AddressDerivation | None = None


class TokenAccountState(_Assertion):
    type: Literal["TokenAccountState"]
    pubkey: Address
    state: Literal["initialized", "frozen"]
    address_derivation: AddressDerivation | None = None


class MintSupply(_Assertion):
    type: Literal["MintSupply"]
    pubkey: Address
    expected: BaseUnits


class TokenAccountWithheld(_Assertion):
    """The Token-2022 transfer fees withheld in a token account (its TransferFeeAmount), in base
    units. Fails on an account without that extension."""

    type: Literal["TokenAccountWithheld"]
    pubkey: Address
    expected: BaseUnits
    address_derivation: AddressDerivation | None = None


class TransactionLogs(_Assertion):
    """Some successful transaction's program logs contain these lines, consecutively.

    For effects that leave no account state behind, such as a memo
    (`["Program log: Memo (len 8)", "Program log: INV-4521"]`).
    """

    type: Literal["TransactionLogs"]
    contains: list[str] = Field(min_length=1)


class StakeAccountState(_Assertion):
    """A stake account's state at the end, computed against the current epoch and the stake
    history (`closed`: the account no longer exists, e.g. everything was withdrawn)."""

    type: Literal["StakeAccountState"]
    pubkey: Address
    state: Literal["initialized", "activating", "active", "deactivating", "inactive", "closed"]
    delegated_vote: Address | None = None
    stake: OptionalBaseUnits = None  # delegated lamports, exactly
    stake_gte: OptionalBaseUnits = None
    staker: Address | None = None
    withdrawer: Address | None = None
    address_derivation: (
        Annotated[AddressDerivation | AccountWithSeedDerivation, Field(discriminator="type")] | None
    ) = None

    @model_validator(mode="after")
    def _closed_has_no_fields(self) -> StakeAccountState:
        fields = ("delegated_vote", "stake", "stake_gte", "staker", "withdrawer")
        checked = [f for f in fields if getattr(self, f) is not None]
        if self.state == "closed" and checked:
            raise ValueError(f"a closed stake account has no {', '.join(checked)}")
        return self


Assertion = Annotated[
    SolBalance
    | SolBalanceChange
    | TokenAccountBalance
    | TokenAccountBalanceChange
    | AccountExists
    | AccountClosed
    | TokenAccountDelegate
    | TokenAccountState
    | MintSupply
    | TokenAccountWithheld
    | TransactionLogs
    | StakeAccountState,
    Field(discriminator="type"),
]


class ExpectedAccountMeta(SpecModel):
    pubkey: Address
    is_signer: bool
    is_writable: bool
    weight: float = Field(default=1.0, ge=0)


class ExpectedInstruction(SpecModel):
    """One instruction the agent should produce, with reev's per-part weights."""

    program_id: Address
    program_id_weight: float = Field(default=1.0, ge=0)
    accounts: list[ExpectedAccountMeta] = Field(default_factory=list)
    data: str | None = None
    data_weight: float | None = Field(default=None, ge=0)

    @property
    def checks_data(self) -> bool:
        """`"..."` or an absent `data` means "any data" (reev semantics)."""
        return self.data is not None and self.data != "..."

    @property
    def effective_data_weight(self) -> float:
        if not self.checks_data:
            return 0.0
        return 1.0 if self.data_weight is None else self.data_weight


class GroundTruth(SpecModel):
    transaction_status: Literal["Success", "Failure", "Skip"] = "Success"
    final_state_assertions: list[Assertion] = Field(default_factory=list)
    expected_instructions: list[ExpectedInstruction] = Field(default_factory=list)
    skip_instruction_validation: bool = False
    min_score: float | None = Field(default=None, ge=0, le=1)


class Benchmark(SpecModel):
    """A whole benchmark file."""

    id: str = Field(min_length=1)
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    prompt: str
    initial_state: list[InitialAccount] = Field(default_factory=list)
    mints: list[MintDeclaration] = Field(default_factory=list)
    pools: list[PoolDeclaration] = Field(default_factory=list)
    lending: LendingDeclaration | None = None
    flow: list[FlowStep] | None = None
    ground_truth: GroundTruth = Field(default_factory=GroundTruth)
    solution: list[ToolCallSpec] | None = None
    expected_outcome: Literal["pass", "fail"] = "pass"

    @model_validator(mode="after")
    def _mints_are_known_or_declared(self) -> Benchmark:
        declared = {m.address for m in self.mints}
        for index, account in enumerate(self.initial_state):
            if account.data is not None:
                mint = account.data.mint
                if mint not in declared and mint not in KNOWN_MINTS | LEND_SHARE_MINTS:
                    raise ValueError(
                        f"initial_state[{index}]: mint {mint} is not a well-known mint; declare it "
                        "under `mints:` with its decimals"
                    )
        return self

    @model_validator(mode="after")
    def _pools_use_known_mints(self) -> Benchmark:
        """Each pool's mints are well-known or declared, and its reserves fit their decimals.

        The error carries the field's path (`ctx.path`) so the loader reports its line."""
        decimals = {m.address: m.decimals for m in self.mints}
        ids: set[str] = set()
        taken = {a.pubkey for a in self.initial_state} | set(decimals)
        for index, pool in enumerate(self.pools):
            if pool.id in ids:
                raise _at(("pools", index, "id"), f"pool id {pool.id} is used twice")
            ids.add(pool.id)
            if pool.id in taken:
                raise _at(
                    ("pools", index, "id"),
                    f"{pool.id} is already an account of the benchmark; the set-up creates the "
                    "pool account, so its id must be a name of its own",
                )
            for side, (mint, reserve) in enumerate(zip(pool.mints, pool.reserves, strict=True)):
                places = decimals.get(mint)
                if places is None and mint in KNOWN_MINTS:
                    places = KNOWN_MINTS[mint].decimals
                if places is None:
                    raise _at(
                        ("pools", index, "mints", side),
                        f"mint {mint} is not a well-known mint; declare it under `mints:` with "
                        "its decimals",
                    )
                try:
                    to_base_units(reserve, places)
                except AmountError as exc:
                    raise _at(("pools", index, "reserves", side), str(exc)) from None
        return self

    @model_validator(mode="after")
    def _lending_uses_the_markets_assets(self) -> Benchmark:
        """Each position's wallet is a wallet of its own, used once, and its amounts are of the
        default market's assets (USDC, wSOL) and fit their decimals. Errors carry the field's
        path so the loader reports its line."""
        if self.lending is None:
            return self
        from reev.defi.lend.default_market import DEFAULT_RESERVES  # built on reev.spec

        defaults = {str(r.asset_mint): r.config for r in DEFAULT_RESERVES}
        seen: set[str] = set()
        for index, reserve in enumerate(self.lending.reserves):
            where_r: tuple[str | int, ...] = ("lending", "reserves", index)
            if reserve.mint not in defaults:
                raise _at(
                    (*where_r, "mint"),
                    f"mint {reserve.mint} is not an asset of reev Lend's default market "
                    f"({', '.join(defaults)})",
                )
            if reserve.mint in seen:
                raise _at((*where_r, "mint"), f"the reserve of {reserve.mint} is declared twice")
            seen.add(reserve.mint)
            problem = reserve.apply(defaults[reserve.mint]).problem()
            if problem is not None:
                raise _at(where_r, f"with the default market's other values, {problem}")
        tokens = {a.pubkey for a in self.initial_state if a.data is not None}
        wallets: set[str] = set()
        for index, position in enumerate(self.lending.positions):
            where: tuple[str | int, ...] = ("lending", "positions", index)
            if position.wallet in wallets:
                raise _at((*where, "wallet"), f"{position.wallet} has two positions; merge them")
            wallets.add(position.wallet)
            if position.wallet in tokens or position.wallet in {p.id for p in self.pools}:
                raise _at(
                    (*where, "wallet"),
                    f"{position.wallet} is a token account or a pool of the benchmark, not a wallet",
                )
            for kind in ("deposit", "collateral", "borrow"):
                for item, entry in enumerate(getattr(position, kind)):
                    asset = LEND_ASSETS.get(entry.mint)
                    if asset is None:
                        names = ", ".join(LEND_ASSETS)
                        raise _at(
                            (*where, kind, item, "mint"),
                            f"mint {entry.mint} is not an asset of reev Lend's default market "
                            f"({names})",
                        )
                    try:
                        to_base_units(entry.amount, asset.decimals)
                    except AmountError as exc:
                        raise _at((*where, kind, item, "amount"), str(exc)) from None
        return self

    @model_validator(mode="after")
    def _flow_steps_ordered(self) -> Benchmark:
        if self.flow:
            numbers = [s.step for s in self.flow]
            if numbers != sorted(numbers) or len(set(numbers)) != len(numbers):
                raise ValueError("flow steps must have distinct, increasing `step` numbers")
            for step in self.flow:
                for ref in step.depends_on:
                    target = step_reference(ref)
                    if target is None or target not in numbers or target >= step.step:
                        raise ValueError(
                            f"step {step.step}: depends_on {ref!r} must name an earlier step "
                            "(`step_N` or `step_N_result`)"
                        )
        return self

    @property
    def is_flow(self) -> bool:
        return bool(self.flow)

    @property
    def step_count(self) -> int:
        return len(self.flow) if self.flow else 1


def _at(path: tuple[str | int, ...], message: str) -> PydanticCustomError:
    """A whole-benchmark validation error about one field: the loader reads `path` to report
    the field's own line instead of the file's first one."""
    return PydanticCustomError("benchmark_field", "{message}", {"message": message, "path": path})


FlowStep.model_rebuild()
