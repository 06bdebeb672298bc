"""The Stake and Vote programs: account layout, instruction builders, activation arithmetic.

Neither solders (0.29: only the `StakeHistory` sysvar type) nor solana-py (only the Vote
program's withdraw) has stake instruction builders or a stake-state parser, so the layouts are
construct structs in the style of solana-py's `_layouts`, field for field after
`solana-stake-interface` and `solana-vote-interface` (bincode: u32 enum tags, little-endian
integers). Nothing here packs bytes by hand.

Activation follows `Delegation::stake_activating_and_deactivating` of the Stake program, with the
warmup/cooldown rate of 9% per epoch that the on-chain program uses from epoch 0 on
(`tests/test_stake.py` checks the figures against the program's own withdraw limit).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum
from typing import Literal, Protocol

from construct import (
    Bytes,
    ConstructError,
    Float64l,
    If,
    Int8ul,
    Int32ul,
    Int64sl,
    Int64ul,
    Pass,
    Switch,
    this,
)
from construct import Struct as cStruct
from pydantic import BaseModel
from solders import sysvar
from solders.account import Account
from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey
from solders.stake_history import StakeHistory

from reev.constants import STAKE_PROGRAM, U64_MAX, VOTE_PROGRAM

# Still passed to DelegateStake by every client; the current program ignores it.
STAKE_CONFIG = Pubkey.from_string("StakeConfig11111111111111111111111111111111")

STAKE_ACCOUNT_LEN = 200  # StakeStateV2::size_of()
VOTE_ACCOUNT_LEN = 3762  # VoteState::size_of()
# The Stake program LiteSVM loads refuses delegations under 1 SOL (custom error 12,
# InsufficientDelegation); tests/test_stake.py checks it.
MINIMUM_DELEGATION = 1_000_000_000
WARMUP_COOLDOWN_RATE = 0.09  # the rate since `reduce_stake_warmup_cooldown` (epoch 0 here)
STAKE_SEED_PREFIX = "stake:"

# --- account layout (StakeStateV2) -------------------------------------------------------

_AUTHORIZED = cStruct("staker" / Bytes(32), "withdrawer" / Bytes(32))
_LOCKUP = cStruct("unix_timestamp" / Int64sl, "epoch" / Int64ul, "custodian" / Bytes(32))
_META = cStruct("rent_exempt_reserve" / Int64ul, "authorized" / _AUTHORIZED, "lockup" / _LOCKUP)
_DELEGATION = cStruct(
    "voter_pubkey" / Bytes(32),
    "stake" / Int64ul,
    "activation_epoch" / Int64ul,
    "deactivation_epoch" / Int64ul,  # u64::MAX while not deactivated
    "warmup_cooldown_rate" / Float64l,  # deprecated, unused by the program
)
_STAKE = cStruct("delegation" / _DELEGATION, "credits_observed" / Int64ul)

STAKE_STATE_LAYOUT = cStruct(
    "state"
    / Int32ul,  # 0 Uninitialized, 1 Initialized(Meta), 2 Stake(Meta, Stake, flags), 3 RewardsPool
    "meta" / If(lambda ctx: ctx.state in (1, 2), _META),
    "stake" / If(this.state == 2, _STAKE),
    "stake_flags" / If(this.state == 2, Int8ul),
)
_KINDS: dict[int, Literal["uninitialized", "initialized", "delegated", "rewards_pool"]] = {
    0: "uninitialized",
    1: "initialized",
    2: "delegated",
    3: "rewards_pool",
}

StakeStatus = Literal[
    "uninitialized", "initialized", "activating", "active", "deactivating", "inactive"
]


class StakeInfo(BaseModel):
    """A stake account's fields. `state` and the three amounts after it depend on the epoch
    and the stake history, so they are filled in by `with_status` (`read_account` does it)."""

    kind: Literal["uninitialized", "initialized", "delegated", "rewards_pool"]
    state: StakeStatus | None = None
    staker: str | None = None
    withdrawer: str | None = None
    rent_exempt_reserve: int | None = None
    delegated_vote: str | None = None
    stake: int | None = None  # delegated lamports
    activation_epoch: int | None = None
    deactivation_epoch: int | None = None  # None: not deactivated
    effective: int | None = None
    activating: int | None = None
    deactivating: int | None = None
    epoch: int | None = None  # the epoch `state` was computed for


def decode_stake(data: bytes) -> StakeInfo | None:
    """The stake fields of a Stake-program account; None when the data is not a stake state."""
    if len(data) < 4:
        return None
    try:
        raw = STAKE_STATE_LAYOUT.parse(data)
    except ConstructError:  # short or odd data
        return None
    kind = _KINDS.get(raw.state)
    if kind is None:
        return None
    info = StakeInfo(kind=kind)
    if raw.meta is not None:
        info.rent_exempt_reserve = raw.meta.rent_exempt_reserve
        info.staker = str(Pubkey.from_bytes(raw.meta.authorized.staker))
        info.withdrawer = str(Pubkey.from_bytes(raw.meta.authorized.withdrawer))
    if raw.stake is not None:
        delegation = raw.stake.delegation
        info.delegated_vote = str(Pubkey.from_bytes(delegation.voter_pubkey))
        info.stake = delegation.stake
        info.activation_epoch = delegation.activation_epoch
        info.deactivation_epoch = (
            None if delegation.deactivation_epoch == U64_MAX else delegation.deactivation_epoch
        )
    return info


# --- activation ---------------------------------------------------------------------------


class _Entry(Protocol):
    effective: int
    activating: int
    deactivating: int


History = Mapping[int, _Entry] | StakeHistory


def _stake_and_activating(
    stake: int, activation: int, deactivation: int, epoch: int, history: History
) -> tuple[int, int]:
    if activation == U64_MAX:  # bootstrap stake
        return stake, 0
    if activation == deactivation:  # deactivated in the epoch it was delegated
        return 0, 0
    if epoch == activation:
        return 0, stake
    if epoch < activation:
        return 0, 0
    cluster = history.get(activation)
    if cluster is None:  # no history (or dropped out of it): fully effective
        return stake, 0
    previous, effective = activation, 0
    while True:
        current = previous + 1
        if cluster.activating == 0:
            break
        weight = (stake - effective) / cluster.activating
        newly_effective_cluster = cluster.effective * WARMUP_COOLDOWN_RATE
        effective += max(int(weight * newly_effective_cluster), 1)
        if effective >= stake:
            effective = stake
            break
        if current >= epoch or current >= deactivation:
            break
        following = history.get(current)
        if following is None:
            break
        previous, cluster = current, following
    return effective, stake - effective


def activation(
    stake: int, activation_epoch: int, deactivation_epoch: int | None, epoch: int, history: History
) -> tuple[int, int, int]:
    """(effective, activating, deactivating) lamports of a delegation at `epoch`."""
    deactivation = U64_MAX if deactivation_epoch is None else deactivation_epoch
    effective, activating = _stake_and_activating(
        stake, activation_epoch, deactivation, epoch, history
    )
    if epoch < deactivation:
        return effective, activating, 0
    if epoch == deactivation:
        return effective, 0, effective
    cluster = history.get(deactivation)
    if cluster is None:
        return 0, 0, 0
    previous = deactivation
    while True:
        current = previous + 1
        if cluster.deactivating == 0:
            break
        weight = effective / cluster.deactivating
        newly_not_effective_cluster = cluster.effective * WARMUP_COOLDOWN_RATE
        effective = max(effective - max(int(weight * newly_not_effective_cluster), 1), 0)
        if effective == 0 or current >= epoch:
            break
        following = history.get(current)
        if following is None:
            break
        previous, cluster = current, following
    return effective, 0, effective


def with_status(info: StakeInfo, epoch: int, history: History) -> StakeInfo:
    """`info` with `state`, `effective`, `activating` and `deactivating` at `epoch`."""
    update: dict[str, object] = {"epoch": epoch}
    if info.kind != "delegated" or info.stake is None or info.activation_epoch is None:
        update["state"] = "initialized" if info.kind == "initialized" else "uninitialized"
        return info.model_copy(update=update)
    effective, activating, deactivating = activation(
        info.stake, info.activation_epoch, info.deactivation_epoch, epoch, history
    )
    if info.deactivation_epoch is not None and epoch >= info.deactivation_epoch:
        state = "deactivating" if effective > 0 else "inactive"
    else:
        state = "activating" if activating > 0 else "active"
    update.update(
        state=state, effective=effective, activating=activating, deactivating=deactivating
    )
    return info.model_copy(update=update)


def withdrawable_lamports(lamports: int, info: StakeInfo) -> int:
    """What a Withdraw may take now (the program's rule): everything, closing the account, when
    nothing is staked; otherwise only what exceeds the staked lamports and the rent reserve."""
    staked = 0
    if info.kind == "delegated" and info.stake is not None:
        deactivated = (
            info.deactivation_epoch is not None
            and info.epoch is not None
            and info.epoch >= info.deactivation_epoch
        )
        staked = (info.effective or 0) if deactivated else info.stake
    if staked == 0:
        return lamports
    return max(lamports - staked - (info.rent_exempt_reserve or 0), 0)


class _ReadsAccounts(Protocol):
    def get_account(self, address: Pubkey) -> Account | None: ...


CLOCK_LAYOUT = cStruct(
    "slot" / Int64ul,
    "epoch_start_timestamp" / Int64sl,
    "epoch" / Int64ul,
    "leader_schedule_epoch" / Int64ul,
    "unix_timestamp" / Int64sl,
)


def epoch_and_history(chain: _ReadsAccounts) -> tuple[int, StakeHistory]:
    """The current epoch and stake history, read from the Clock and StakeHistory sysvars."""
    clock = chain.get_account(sysvar.CLOCK)
    history = chain.get_account(sysvar.STAKE_HISTORY)
    epoch = CLOCK_LAYOUT.parse(bytes(clock.data)).epoch if clock is not None else 0
    parsed = StakeHistory.from_bytes(bytes(history.data)) if history is not None else StakeHistory()
    return epoch, parsed


def stake_account_address(wallet: Pubkey, index: int) -> Pubkey:
    """Where `stake_sol` opens `wallet`'s `index`-th stake account:
    `create_with_seed(wallet, "stake:<index>", Stake program)`, as `solana create-stake-account
    --seed` and wallet apps do."""
    return Pubkey.create_with_seed(wallet, f"{STAKE_SEED_PREFIX}{index}", STAKE_PROGRAM)


# --- instructions -------------------------------------------------------------------------


class StakeInstructionType(IntEnum):
    INITIALIZE = 0
    DELEGATE_STAKE = 2
    WITHDRAW = 4
    DEACTIVATE = 5


STAKE_INSTRUCTIONS_LAYOUT = cStruct(
    "instruction_type" / Int32ul,
    "args"
    / Switch(
        lambda ctx: ctx.instruction_type,
        {
            StakeInstructionType.INITIALIZE: cStruct(
                "authorized" / _AUTHORIZED, "lockup" / _LOCKUP
            ),
            StakeInstructionType.WITHDRAW: cStruct("lamports" / Int64ul),
        },
        default=Pass,
    ),
)


class VoteInstructionType(IntEnum):
    INITIALIZE_ACCOUNT = 0


VOTE_INSTRUCTIONS_LAYOUT = cStruct(
    "instruction_type" / Int32ul,
    "args"
    / Switch(
        lambda ctx: ctx.instruction_type,
        {
            VoteInstructionType.INITIALIZE_ACCOUNT: cStruct(
                "node_pubkey" / Bytes(32),
                "authorized_voter" / Bytes(32),
                "authorized_withdrawer" / Bytes(32),
                "commission" / Int8ul,
            )
        },
    ),
)


def _meta(pubkey: Pubkey, *, signer: bool = False, writable: bool = False) -> AccountMeta:
    return AccountMeta(pubkey=pubkey, is_signer=signer, is_writable=writable)


def _stake_ix(
    kind: StakeInstructionType, accounts: list[AccountMeta], args: dict | None = None
) -> Instruction:
    data = STAKE_INSTRUCTIONS_LAYOUT.build({"instruction_type": kind, "args": args})
    return Instruction(STAKE_PROGRAM, data, accounts)


def initialize(stake_account: Pubkey, staker: Pubkey, withdrawer: Pubkey) -> Instruction:
    """Stake Initialize (no lockup): accounts stake (w), Rent sysvar."""
    args = {
        "authorized": {"staker": bytes(staker), "withdrawer": bytes(withdrawer)},
        "lockup": {"unix_timestamp": 0, "epoch": 0, "custodian": bytes(32)},
    }
    return _stake_ix(
        StakeInstructionType.INITIALIZE,
        [_meta(stake_account, writable=True), _meta(sysvar.RENT)],
        args,
    )


def delegate_stake(stake_account: Pubkey, vote_account: Pubkey, staker: Pubkey) -> Instruction:
    """Stake DelegateStake: stake (w), vote, Clock, StakeHistory, stake config, staker (s)."""
    return _stake_ix(
        StakeInstructionType.DELEGATE_STAKE,
        [
            _meta(stake_account, writable=True),
            _meta(vote_account),
            _meta(sysvar.CLOCK),
            _meta(sysvar.STAKE_HISTORY),
            _meta(STAKE_CONFIG),
            _meta(staker, signer=True),
        ],
    )


def deactivate(stake_account: Pubkey, staker: Pubkey) -> Instruction:
    """Stake Deactivate: stake (w), Clock, staker (s)."""
    return _stake_ix(
        StakeInstructionType.DEACTIVATE,
        [_meta(stake_account, writable=True), _meta(sysvar.CLOCK), _meta(staker, signer=True)],
    )


def withdraw(
    stake_account: Pubkey, recipient: Pubkey, withdrawer: Pubkey, lamports: int
) -> Instruction:
    """Stake Withdraw: stake (w), recipient (w), Clock, StakeHistory, withdrawer (s)."""
    return _stake_ix(
        StakeInstructionType.WITHDRAW,
        [
            _meta(stake_account, writable=True),
            _meta(recipient, writable=True),
            _meta(sysvar.CLOCK),
            _meta(sysvar.STAKE_HISTORY),
            _meta(withdrawer, signer=True),
        ],
        {"lamports": lamports},
    )


def initialize_vote_account(
    vote_account: Pubkey, node: Pubkey, authorized_withdrawer: Pubkey, commission: int
) -> Instruction:
    """Vote InitializeAccount: vote (w), Rent, Clock, node (s). The node is also the voter."""
    data = VOTE_INSTRUCTIONS_LAYOUT.build(
        {
            "instruction_type": VoteInstructionType.INITIALIZE_ACCOUNT,
            "args": {
                "node_pubkey": bytes(node),
                "authorized_voter": bytes(node),
                "authorized_withdrawer": bytes(authorized_withdrawer),
                "commission": commission,
            },
        }
    )
    return Instruction(
        VOTE_PROGRAM,
        data,
        [
            _meta(vote_account, writable=True),
            _meta(sysvar.RENT),
            _meta(sysvar.CLOCK),
            _meta(node, signer=True),
        ],
    )
