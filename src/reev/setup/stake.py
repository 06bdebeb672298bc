"""Vote and stake accounts of `initial_state`, built at setup by the Vote and Stake programs.

`build_initial_state` writes ordinary accounts directly and hands every account declared with
`vote:` or `stake:` to `build_stake_accounts`:

1. each vote account's space (3762 zeroed bytes, owned by the Vote program, its declared
   lamports or at least the rent-exempt minimum) is written, then the Vote program's
   `InitializeAccount` runs, signed by the node (the validator identity, also the voter);
2. each stake account's space (200 zeroed bytes owned by the Stake program, with its declared
   lamports) is written, then Stake `Initialize` (no lockup), `DelegateStake` and `Deactivate`
   run as its `state` needs, signed by the staker.

A stake account that must already be `active`, `deactivating` or `inactive` when the episode
starts is delegated in an earlier epoch: the clock is set back to the first slot of epoch E - 2
(E: the episode's epoch), the stake delegated there, the clock moved forward epoch by epoch
(`LiteSVMChain.advance_epochs` records the stake history at each boundary), `inactive` ones
deactivated in E - 1, `deactivating` ones in E, and the clock returned to the slot it had. So
every episode starts at the same slot, with the stake history a real cluster would have.

A setup-only fee payer, funded for the purpose and removed afterwards, pays every fee, so no
declared account is charged. Setup may sign with any key the environment holds for a
placeholder; only the agent is limited to the user's key. A node or staker given as a literal
address cannot sign, which is an error.
"""

from __future__ import annotations

import hashlib

from solders import sysvar
from solders.account import Account
from solders.epoch_schedule import EpochSchedule
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from reev.chain import stake as stake_program
from reev.chain.protocol import Chain, TimeTravel
from reev.constants import STAKE_PROGRAM, SYSTEM_PROGRAM, VOTE_PROGRAM
from reev.setup.errors import SetupError
from reev.spec.models import Benchmark, InitialAccount
from reev.spec.placeholders import KeyMap

EARLY_STATES = ("active", "deactivating", "inactive")  # delegated two epochs before the start
SETUP_PAYER_LAMPORTS = 1_000_000_000_000


def _setup_payer() -> Keypair:
    return Keypair.from_seed(hashlib.sha256(b"reev/stake-setup-payer").digest())


def _system_account(lamports: int) -> Account:
    return Account(
        lamports=lamports, data=b"", owner=SYSTEM_PROGRAM, executable=False, rent_epoch=0
    )


def is_built_here(account: InitialAccount) -> bool:
    return account.vote is not None or account.stake is not None


class _Builder:
    def __init__(self, chain: Chain, keys: KeyMap):
        self.chain = chain
        self.keys = keys
        self.payer = _setup_payer()
        self.vote_accounts: set[Pubkey] = set()
        self.reserve = chain.rent_exempt_minimum(stake_program.STAKE_ACCOUNT_LEN)

    def send(self, what: str, instruction: Instruction, *signers: Keypair) -> None:
        result = self.chain.send([instruction], self.payer, list(signers))
        if not result.success:
            raise SetupError(f"{what}: {result.error}")

    def key(self, name: str, what: str) -> Keypair:
        keypair = self.keys.keypairs.get(self.keys.resolve(name))
        if keypair is None:
            raise SetupError(
                f"{what} {name} must sign at setup: use a placeholder name, not an address"
            )
        return keypair

    def allocate(self, address: Pubkey, lamports: int, space: int, owner: Pubkey) -> None:
        self.chain.set_account(
            address,
            Account(
                lamports=lamports, data=bytes(space), owner=owner, executable=False, rent_epoch=0
            ),
        )

    def vote_account(self, account: InitialAccount) -> None:
        vote = account.vote
        assert vote is not None
        address = self.keys.resolve(account.pubkey)
        if vote.node is not None:
            node = self.key(vote.node, f"{account.pubkey}: vote.node")
        else:
            node = Keypair.from_seed(hashlib.sha256(f"reev/vote-node/{address}".encode()).digest())
        withdrawer = self.keys.resolve(vote.withdrawer) if vote.withdrawer else node.pubkey()
        rent = self.chain.rent_exempt_minimum(stake_program.VOTE_ACCOUNT_LEN)
        self.allocate(
            address,
            max(account.lamports or 0, rent),
            stake_program.VOTE_ACCOUNT_LEN,
            VOTE_PROGRAM,
        )
        ix = stake_program.initialize_vote_account(
            address, node.pubkey(), withdrawer, vote.commission
        )
        self.send(f"{account.pubkey}: vote InitializeAccount", ix, node)
        self.vote_accounts.add(address)

    def open_stake(self, account: InitialAccount) -> None:
        spec = account.stake
        assert spec is not None
        address = self.keys.resolve(account.pubkey)
        staker = self.keys.resolve(spec.staker)
        withdrawer = self.keys.resolve(spec.withdrawer) if spec.withdrawer else staker
        delegated = spec.state != "initialized"
        needed = self.reserve + (stake_program.MINIMUM_DELEGATION if delegated else 0)
        if account.lamports is None or account.lamports < needed:
            what = f"the rent-exempt reserve {self.reserve}"
            if delegated:
                what += f" + the minimum delegation {stake_program.MINIMUM_DELEGATION}"
            raise SetupError(
                f"{account.pubkey}: a stake account in state {spec.state!r} needs lamports of at "
                "least "
                f"{needed} ({what}), got {account.lamports}"
            )
        self.allocate(address, account.lamports, stake_program.STAKE_ACCOUNT_LEN, STAKE_PROGRAM)
        self.send(
            f"{account.pubkey}: stake Initialize",
            stake_program.initialize(address, staker, withdrawer),
        )
        if not delegated:
            return
        assert spec.delegated_vote is not None
        vote = self.keys.resolve(spec.delegated_vote)
        if vote not in self.vote_accounts:
            raise SetupError(
                f"{account.pubkey}: delegated_vote {spec.delegated_vote} is not a vote account of "
                "initial_state (declare it with `vote:`)"
            )
        signer = self.key(spec.staker, f"{account.pubkey}: stake.staker")
        ix = stake_program.delegate_stake(address, vote, staker)
        self.send(f"{account.pubkey}: stake DelegateStake", ix, signer)

    def deactivate(self, account: InitialAccount) -> None:
        assert account.stake is not None
        signer = self.key(account.stake.staker, f"{account.pubkey}: stake.staker")
        ix = stake_program.deactivate(self.keys.resolve(account.pubkey), signer.pubkey())
        self.send(f"{account.pubkey}: stake Deactivate", ix, signer)


def build_stake_accounts(chain: Chain, benchmark: Benchmark, keys: KeyMap) -> None:
    """Build every `vote:` and `stake:` account (see the module docstring)."""
    votes = [a for a in benchmark.initial_state if a.vote is not None]
    stakes = [a for a in benchmark.initial_state if a.stake is not None]
    if not votes and not stakes:
        return
    clock_account = chain.get_account(sysvar.CLOCK)
    schedule_account = chain.get_account(sysvar.EPOCH_SCHEDULE)
    if clock_account is None or schedule_account is None:
        raise SetupError(
            "vote and stake accounts need a chain with the Clock and EpochSchedule sysvars"
        )
    clock = stake_program.CLOCK_LAYOUT.parse(bytes(clock_account.data))
    schedule = EpochSchedule.from_bytes(bytes(schedule_account.data))
    early = [(a, a.stake) for a in stakes if a.stake is not None and a.stake.state in EARLY_STATES]
    clock_mover: TimeTravel | None = None
    if early:
        first, first_stake = early[0]
        if not isinstance(chain, TimeTravel):
            raise SetupError(
                f"{first.pubkey}: a stake account already {first_stake.state} needs a chain "
                "that can move its clock (warp_to_slot, advance_epochs)"
            )
        if clock.epoch < 2:
            raise SetupError(
                "stake accounts that are already active need the episode to start at epoch 2 or "
                "later"
            )
        clock_mover = chain

    builder = _Builder(chain, keys)
    chain.set_account(builder.payer.pubkey(), _system_account(SETUP_PAYER_LAMPORTS))
    if clock_mover is not None:
        clock_mover.warp_to_slot(schedule.get_first_slot_in_epoch(clock.epoch - 2))
    for account in votes:
        builder.vote_account(account)
    for account, _ in early:  # epoch E - 2
        builder.open_stake(account)
    if clock_mover is not None:
        clock_mover.advance_epochs(1)  # E - 1
        for account, stake in early:
            if stake.state == "inactive":
                builder.deactivate(account)
        clock_mover.advance_epochs(1)  # E, first slot
        clock_mover.warp_to_slot(clock.slot)
    for account in stakes:  # epoch E
        assert account.stake is not None
        if account.stake.state in ("initialized", "activating"):
            builder.open_stake(account)
        elif account.stake.state == "deactivating":
            builder.deactivate(account)
    chain.set_account(builder.payer.pubkey(), _system_account(0))
