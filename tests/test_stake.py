"""Native staking on a real LiteSVM chain: vote and stake accounts built at setup by the Vote and
Stake programs, epochs that really pass (stake history included), the stake tools and their
error paths, the StakeAccountState assertion, and the stake benchmarks.

Expected values come from rules, never from outputs: a stake account's rent-exempt reserve is the
chain's minimum for 200 bytes, a transaction costs 5000 lamports per signature, and
activation/deactivation is checked against the Stake program's own withdraw limit.
"""

from __future__ import annotations

import textwrap
from decimal import Decimal

import pytest
from solders import sysvar
from solders.pubkey import Pubkey

import reev.chain.litesvm as litesvm_module
from helpers.chain_env import ChainEnv
from helpers.episodes import ScriptedAgent, run
from helpers.suite import benchmark
from reev.agents import DeterministicAgent
from reev.chain import LiteSVMChain
from reev.chain.accounts import AccountState
from reev.chain.litesvm import (
    CLUSTER_EFFECTIVE_STAKE,
    FIXED_SLOT,
    FIXED_UNIX_TIMESTAMP,
    SLOT_DURATION_MS,
)
from reev.chain.observe import read_account
from reev.chain.stake import (
    MINIMUM_DELEGATION,
    STAKE_ACCOUNT_LEN,
    VOTE_ACCOUNT_LEN,
    decode_stake,
    stake_account_address,
    withdraw,
    withdrawable_lamports,
)
from reev.constants import STAKE_PROGRAM, VOTE_PROGRAM
from reev.scoring.assertions import evaluate_assertion
from reev.setup import SetupError, build_initial_state
from reev.spec import parse_benchmark, resolve_placeholders
from reev.spec.models import Benchmark, StakeAccountState
from reev.tools import call_tool

STAKE = str(STAKE_PROGRAM)
VOTE = str(VOTE_PROGRAM)
SYSTEM = "11111111111111111111111111111111"
LAMPORTS_PER_SIGNATURE = 5_000
SOL = 10**9
USER_LAMPORTS = 10 * SOL
STAKED = 3 * SOL  # each declared stake account delegates this much

STATES = ["initialized", "activating", "active", "deactivating", "inactive"]


def source(extra: str = "") -> str:
    accounts = "\n".join(
        f"""  - pubkey: STAKE_{state.upper()}
    owner: {STAKE}
    lamports: {{lamports}}
    stake: {{staker: USER_WALLET_PUBKEY, state: {state}{"" if state == "initialized" else ", delegated_vote: VALIDATOR_VOTE"}}}"""
        for state in STATES
    )
    return (
        textwrap.dedent(
            f"""\
            id: stake-test
            prompt: "Exercise the stake tools."
            initial_state:
              - {{pubkey: USER_WALLET_PUBKEY, owner: "{SYSTEM}", lamports: {USER_LAMPORTS}}}
              - {{pubkey: FRIEND_WALLET, owner: "{SYSTEM}", lamports: {USER_LAMPORTS}}}
              - pubkey: VALIDATOR_VOTE
                owner: {VOTE}
                vote: {{node: VALIDATOR_NODE, commission: 7}}
              - pubkey: OTHER_VOTE
                owner: {VOTE}
                vote: {{node: OTHER_NODE}}
              - pubkey: FRIENDS_STAKE
                owner: {STAKE}
                lamports: {{lamports}}
                stake: {{staker: FRIEND_WALLET, delegated_vote: VALIDATOR_VOTE, state: active}}
            """
        )
        + accounts
        + "\n"
        + extra
    )


class Env(ChainEnv):
    def state(self, address: Pubkey | str) -> AccountState | None:
        return read_account(self.chain, address)

    def stake_state(self, address: Pubkey | str) -> str | None:
        state = self.state(address)
        return None if state is None else state.stake.state

    def lamports(self, address: Pubkey | str) -> int:
        state = self.state(address)
        return state.lamports if state else 0

    def call(self, name: str, args: dict):
        return call_tool(self.ctx, name, args)

    def submit(self) -> dict:
        outcome = self.call("submit_transaction", {})
        assert outcome.ok, outcome.error
        return outcome.result


def make_env(text: str | None = None) -> Env:
    chain = LiteSVMChain()
    reserve = chain.rent_exempt_minimum(STAKE_ACCOUNT_LEN)
    loaded = parse_benchmark(
        (text or source()).replace("{lamports}", str(STAKED + reserve)), "stake-test.yml"
    )
    return Env.build(loaded.benchmark, chain=chain)


@pytest.fixture
def env() -> Env:
    return make_env()


def reserve(env: Env) -> int:
    return env.chain.rent_exempt_minimum(STAKE_ACCOUNT_LEN)


# --- the environment -------------------------------------------------------------------------


def test_vote_account_is_initialized_by_the_vote_program(env):
    account = env.chain.get_account(env.addr("VALIDATOR_VOTE"))
    assert account is not None
    assert str(account.owner) == VOTE
    assert len(account.data) == VOTE_ACCOUNT_LEN
    assert account.lamports == env.chain.rent_exempt_minimum(VOTE_ACCOUNT_LEN)
    data = bytes(account.data)
    # VoteStateVersions: u32 version tag (non-zero once initialized), then the node pubkey and,
    # in the current versions, the commission right after the authorized withdrawer.
    assert int.from_bytes(data[:4], "little") != 0
    assert Pubkey.from_bytes(data[4:36]) == env.addr("VALIDATOR_NODE")
    assert bytes(env.addr("VALIDATOR_NODE")) in data[36:100]  # the node is also the voter


def test_declared_stake_accounts_start_in_their_state(env):
    epoch = env.chain.epoch
    for state in STATES:
        info = env.state(env.addr(f"STAKE_{state.upper()}")).stake
        assert info is not None and info.state == state, state
        assert info.staker == info.withdrawer == env.a("USER_WALLET_PUBKEY")
        assert info.epoch == epoch
        assert info.rent_exempt_reserve == reserve(env)
        if state != "initialized":
            assert info.stake == STAKED
            assert info.delegated_vote == env.a("VALIDATOR_VOTE")
    # When each one was delegated and deactivated (the documented plan).
    activation = {
        s: env.state(env.addr(f"STAKE_{s.upper()}")).stake.activation_epoch for s in STATES[1:]
    }
    deactivation = {
        s: env.state(env.addr(f"STAKE_{s.upper()}")).stake.deactivation_epoch for s in STATES[1:]
    }
    assert activation == {
        "activating": epoch,
        "active": epoch - 2,
        "deactivating": epoch - 2,
        "inactive": epoch - 2,
    }
    assert deactivation == {
        "activating": None,
        "active": None,
        "deactivating": epoch,
        "inactive": epoch - 1,
    }
    # Setup left the clock where every episode starts, and paid nothing from declared accounts.
    clock = env.chain.svm.get_clock()
    assert (clock.slot, clock.unix_timestamp) == (FIXED_SLOT, FIXED_UNIX_TIMESTAMP)
    assert env.lamports(env.addr("USER_WALLET_PUBKEY")) == USER_LAMPORTS
    assert env.lamports(env.addr("STAKE_ACTIVE")) == STAKED + reserve(env)


def test_setup_records_the_stake_history_of_the_earlier_epochs(env):
    epoch = env.chain.epoch
    history = env.chain.svm.get_stake_history()
    delegated_early = 3 * STAKED + STAKED  # active, deactivating, inactive + the friend's (active)
    first = history.get(epoch - 2)
    assert (first.effective, first.activating, first.deactivating) == (
        CLUSTER_EFFECTIVE_STAKE,
        delegated_early,
        0,
    )
    second = history.get(epoch - 1)  # all active; the `inactive` one deactivated in this epoch
    assert (second.effective, second.activating, second.deactivating) == (
        CLUSTER_EFFECTIVE_STAKE + delegated_early,
        0,
        STAKED,
    )
    assert history.get(epoch) is None  # the current epoch is not over


def test_advance_epochs_moves_the_clock_and_the_vote_accounts_epoch_stake(env):
    schedule = env.chain.svm.get_epoch_schedule()
    start = env.chain.epoch
    assert env.chain.advance_epochs(2) == start + 2
    clock = env.chain.svm.get_clock()
    first_slot = schedule.get_first_slot_in_epoch(start + 2)
    expected_time = FIXED_UNIX_TIMESTAMP + (first_slot - FIXED_SLOT) * SLOT_DURATION_MS // 1000
    assert (clock.epoch, clock.slot, clock.unix_timestamp, clock.epoch_start_timestamp) == (
        start + 2,
        first_slot,
        expected_time,
        expected_time,
    )
    # The Clock sysvar account (what programs read) agrees.
    data = bytes(env.chain.get_account(sysvar.CLOCK).data)
    assert int.from_bytes(data[:8], "little") == first_slot
    # Active at start + 2: active, activating (now active) and the friend's; deactivating and
    # inactive are done.
    assert env.chain.svm.epoch_stake(env.addr("VALIDATOR_VOTE")) == 3 * STAKED
    assert env.chain.svm.epoch_stake(env.addr("OTHER_VOTE")) == 0
    assert env.chain.advance_epochs(0) == start + 2
    with pytest.raises(ValueError):
        env.chain.advance_epochs(-1)


def test_full_lifecycle_with_real_state_transitions(env):
    user = env.addr("USER_WALLET_PUBKEY")
    before = env.lamports(user)
    outcome = env.call("stake_sol", {"amount": "2", "vote_account": env.a("VALIDATOR_VOTE")})
    assert outcome.ok, outcome.error
    address = outcome.result["stake_account"]
    assert address == str(stake_account_address(user, 0))
    assert outcome.result["instructions_added"] == 3
    assert env.submit()["success"]
    assert env.lamports(user) == before - 2 * SOL - reserve(env) - LAMPORTS_PER_SIGNATURE
    assert env.stake_state(address) == "activating"

    env.chain.advance_epochs(1)
    assert env.stake_state(address) == "active"
    # Withdrawing active stake: the tool warns, the Stake program refuses.
    outcome = env.call("withdraw_stake", {"stake_account": address})
    assert (
        outcome.ok and "warning" in outcome.result and outcome.result["withdrawable_lamports"] == 0
    )
    result = env.submit()
    assert not result["success"] and "insufficient funds" in result["error"]
    assert env.stake_state(address) == "active"

    assert env.call("deactivate_stake", {"stake_account": address}).ok
    assert env.submit()["success"]
    assert env.stake_state(address) == "deactivating"
    assert env.call("withdraw_stake", {"stake_account": address}).ok
    assert not env.submit()["success"]  # still cooling down

    env.chain.advance_epochs(1)
    assert env.stake_state(address) == "inactive"
    outcome = env.call("withdraw_stake", {"stake_account": address})
    assert outcome.ok and "warning" not in outcome.result and outcome.result["closes_account"]
    assert env.submit()["success"]
    assert env.state(address) is None
    # Everything came back; five transactions paid one signature each.
    assert env.lamports(user) == before - 5 * LAMPORTS_PER_SIGNATURE


def test_activation_arithmetic_matches_the_stake_programs_withdraw_limit(monkeypatch):
    """With a small cluster, stake warms up and cools down over several epochs. At every epoch
    of the cooldown, the decoded effective stake gives exactly the limit the Stake program
    enforces: withdrawing `withdrawable_lamports` succeeds, one lamport more fails."""
    monkeypatch.setattr(litesvm_module, "CLUSTER_EFFECTIVE_STAKE", 10 * SOL)
    env = make_env(
        textwrap.dedent(
            f"""\
            id: stake-test
            prompt: x
            initial_state:
              - {{pubkey: USER_WALLET_PUBKEY, lamports: {USER_LAMPORTS}}}
              - {{pubkey: OTHER_VOTE, owner: {VOTE}, vote: {{node: OTHER_NODE}}}}
            """
        )
    )
    user = env.addr("USER_WALLET_PUBKEY")
    address = call_tool(
        env.ctx, "stake_sol", {"amount": "5", "vote_account": env.a("OTHER_VOTE")}
    ).result["stake_account"]
    assert env.submit()["success"]
    partial = []
    for _ in range(3):
        env.chain.advance_epochs(1)
        info = env.state(address).stake
        partial.append((info.state, 0 < info.effective < info.stake))
    assert partial == [("activating", True)] * 3  # 9% of a small cluster per epoch
    assert env.call("deactivate_stake", {"stake_account": address}).ok and env.submit()["success"]
    seen = []
    for _ in range(3):
        state = env.state(address)
        limit = withdrawable_lamports(state.lamports, state.stake)
        seen.append(state.stake.state)
        assert 0 < limit < state.lamports - reserve(env)
        too_much = env.chain.send(
            [withdraw(Pubkey.from_string(address), user, user, limit + 1)], env.keys.user, []
        )
        assert not too_much.success and "insufficient funds" in too_much.error
        exact = env.chain.send(
            [withdraw(Pubkey.from_string(address), user, user, limit)], env.keys.user, []
        )
        assert exact.success, exact.error
        # Put it back for the next epoch's check.
        refund = call_tool(
            env.ctx, "sol_transfer", {"recipient": address, "amount": str(Decimal(limit) / SOL)}
        )
        assert refund.ok and env.submit()["success"]
        env.chain.advance_epochs(1)
    assert seen == ["deactivating"] * 3


def test_decode_is_none_for_data_that_is_not_a_stake_state():
    assert decode_stake(b"") is None
    assert decode_stake(bytes([7, 0, 0, 0]) + bytes(196)) is None
    assert decode_stake(bytes([2, 0, 0, 0])) is None  # truncated
    assert decode_stake(bytes(STAKE_ACCOUNT_LEN)).kind == "uninitialized"


# --- setup errors ----------------------------------------------------------------------------


def _bench(text: str) -> Benchmark:
    return parse_benchmark(text, "t.yml").benchmark


@pytest.mark.parametrize(
    ("stake", "lamports", "message"),
    [
        (
            "{staker: USER_WALLET_PUBKEY, delegated_vote: NOT_A_VOTE, state: active}",
            5 * SOL,
            "is not a vote account of initial_state",
        ),
        (
            "{staker: USER_WALLET_PUBKEY, delegated_vote: VALIDATOR_VOTE, state: activating}",
            SOL,
            "needs lamports of at least",
        ),
        (
            f"{{staker: '{SYSTEM}', delegated_vote: VALIDATOR_VOTE, state: inactive}}",
            5 * SOL,
            "must sign at setup",
        ),
    ],
)
def test_setup_refuses_stake_it_cannot_build(stake, lamports, message):
    bench = _bench(
        textwrap.dedent(
            f"""\
            id: bad-stake
            prompt: x
            initial_state:
              - {{pubkey: USER_WALLET_PUBKEY, lamports: 1000000000}}
              - {{pubkey: NOT_A_VOTE, lamports: 1000000000}}
              - {{pubkey: VALIDATOR_VOTE, owner: {VOTE}, vote: {{node: VALIDATOR_NODE}}}}
              - {{pubkey: MY_STAKE, owner: {STAKE}, lamports: {lamports}, stake: {stake}}}
            """
        )
    )
    with pytest.raises(SetupError, match=message):
        build_initial_state(LiteSVMChain(), bench, resolve_placeholders(bench, 0))


@pytest.mark.parametrize(
    ("account", "message"),
    [
        (
            f"{{pubkey: S_ONE, owner: '{SYSTEM}', lamports: 5, stake: {{staker: U_W, delegated_vote: V_V}}}}",
            "must be owned by Stake",
        ),
        (
            f"{{pubkey: S_ONE, owner: {STAKE}, lamports: 5, stake: {{staker: U_W}}}}",
            "needs a delegated_vote",
        ),
        (
            f"{{pubkey: S_ONE, owner: {STAKE}, lamports: 5, stake: {{staker: U_W, state: initialized, delegated_vote: V_V}}}}",
            "not delegated",
        ),
        (f"{{pubkey: V_V, owner: {STAKE}, vote: {{node: N_N}}}}", "must be owned by Vote"),
        (
            f"{{pubkey: V_V, owner: {VOTE}, vote: {{node: N_N, commission: 101}}}}",
            "less than or equal to 100",
        ),
    ],
)
def test_stake_and_vote_declarations_are_checked_at_load(account, message):
    from reev.spec.loader import BenchmarkError

    with pytest.raises(BenchmarkError, match=message):
        _bench(f"id: x\nprompt: x\ninitial_state:\n  - {account}\n")


def test_advance_epochs_must_not_be_negative():
    from reev.spec.loader import BenchmarkError

    with pytest.raises(BenchmarkError, match="advance_epochs"):
        _bench("id: x\nprompt: x\nflow:\n  - {step: 1, prompt: a, advance_epochs: -1}\n")


# --- tools -----------------------------------------------------------------------------------


def test_stake_sol_refuses_what_cannot_be_delegated(env):
    checks = [
        ({"amount": "2", "vote_account": env.a("VALIDATOR_NODE")}, "there is no account at"),
        (
            {"amount": "2", "vote_account": env.a("FRIEND_WALLET")},
            "is not a vote account (owned by 11111111111111111111111111111111)",
        ),
        ({"amount": "2", "vote_account": VOTE}, "is not a vote account"),  # the Vote program itself
        (
            {"amount": "0.999999999", "vote_account": env.a("VALIDATOR_VOTE")},
            "the minimum delegation is 1 SOL",
        ),
        (
            {"amount": "1.0000000001", "vote_account": env.a("VALIDATOR_VOTE")},
            "more than 9 decimal places",
        ),
    ]
    for args, message in checks:
        outcome = env.call("stake_sol", args)
        assert not outcome.ok and outcome.error_kind == "tool_error", args
        assert message in outcome.error, outcome.error
    assert env.ctx.staged == []


def test_minimum_delegation_is_the_programs(env):
    """The 1 SOL the tool enforces is what the Stake program enforces on this chain."""
    vote = env.a("VALIDATOR_VOTE")
    env.ctx.staged.clear()
    outcome = env.call("stake_sol", {"amount": "1", "vote_account": vote})
    staged = list(env.ctx.staged)
    assert outcome.ok and env.submit()["success"]
    # The same instructions with one lamport less delegated (built by hand around the tool).
    from solders.system_program import CreateAccountWithSeedParams, create_account_with_seed

    user = env.addr("USER_WALLET_PUBKEY")
    address = stake_account_address(user, 1)
    create = create_account_with_seed(
        CreateAccountWithSeedParams(
            from_pubkey=user,
            to_pubkey=address,
            base=user,
            seed="stake:1",
            lamports=MINIMUM_DELEGATION - 1 + reserve(env),
            space=STAKE_ACCOUNT_LEN,
            owner=STAKE_PROGRAM,
        )
    )
    from reev.chain.stake import delegate_stake, initialize

    result = env.chain.send(
        [
            create,
            initialize(address, user, user),
            delegate_stake(address, Pubkey.from_string(vote), user),
        ],
        env.keys.user,
        [],
    )
    assert not result.success and "instruction 2" in result.error
    assert len(staged) == 3


def test_two_stakes_in_one_transaction_get_two_addresses(env):
    user = env.addr("USER_WALLET_PUBKEY")
    first = env.call("stake_sol", {"amount": "1", "vote_account": env.a("VALIDATOR_VOTE")}).result
    second = env.call("stake_sol", {"amount": "1.5", "vote_account": env.a("OTHER_VOTE")}).result
    assert (first["stake_account"], second["stake_account"]) == (
        str(stake_account_address(user, 0)),
        str(stake_account_address(user, 1)),
    )
    assert env.submit()["success"]
    assert env.state(second["stake_account"]).stake.stake == 3 * SOL // 2
    # The next call skips the indices now taken on chain.
    third = env.call("stake_sol", {"amount": "1", "vote_account": env.a("VALIDATOR_VOTE")}).result
    assert third["stake_account"] == str(stake_account_address(user, 2))


def test_deactivate_stake_error_paths(env):
    checks = [
        (env.a("FRIENDS_STAKE"), f"its staker is {env.a('FRIEND_WALLET')}, not your wallet"),
        (
            env.a("STAKE_DEACTIVATING"),
            f"was already deactivated in epoch {env.chain.epoch} (state deactivating)",
        ),
        (env.a("STAKE_INACTIVE"), "was already deactivated"),
        (env.a("STAKE_INITIALIZED"), "is not delegated (state initialized)"),
        (
            env.a("USER_WALLET_PUBKEY"),
            "is not a stake account (owned by 11111111111111111111111111111111)",
        ),
        (str(stake_account_address(env.addr("USER_WALLET_PUBKEY"), 9)), "there is no account at"),
        ("nope", "is not a valid Solana address"),
    ]
    for address, message in checks:
        outcome = env.call("deactivate_stake", {"stake_account": address})
        assert not outcome.ok and outcome.error_kind == "tool_error", address
        assert message in outcome.error, outcome.error
    assert env.ctx.staged == []
    assert env.call("deactivate_stake", {"stake_account": env.a("STAKE_ACTIVATING")}).ok
    assert env.call("deactivate_stake", {"stake_account": env.a("STAKE_ACTIVE")}).ok
    assert env.submit()["success"]
    assert env.stake_state(env.addr("STAKE_ACTIVE")) == "deactivating"
    # Deactivated in the epoch it was delegated: never effective, so inactive at once.
    assert env.stake_state(env.addr("STAKE_ACTIVATING")) == "inactive"


def test_withdraw_stake_checks_the_withdrawer_and_the_amount(env):
    held = STAKED + reserve(env)
    checks = [
        ({"stake_account": env.a("FRIENDS_STAKE")}, f"its withdrawer is {env.a('FRIEND_WALLET')}"),
        (
            {"stake_account": env.a("STAKE_INACTIVE"), "amount": "3.00228289"},
            "the stake account holds 3.00228288 SOL",
        ),
        ({"stake_account": env.a("STAKE_INACTIVE"), "amount": "0"}, "must be greater than zero"),
        (
            {"stake_account": env.a("STAKE_INACTIVE"), "recipient": "bad"},
            "recipient: 'bad' is not a valid",
        ),
    ]
    for args, message in checks:
        outcome = env.call("withdraw_stake", args)
        assert not outcome.ok and outcome.error_kind == "tool_error", args
        assert message in outcome.error, outcome.error
    assert env.ctx.staged == []
    # An initialized (never delegated) account and an inactive one: everything, to a friend.
    friend = env.addr("FRIEND_WALLET")
    friend_before = env.lamports(friend)
    for name in ("STAKE_INITIALIZED", "STAKE_INACTIVE"):
        outcome = env.call(
            "withdraw_stake", {"stake_account": env.a(name), "recipient": str(friend)}
        )
        assert (
            outcome.ok
            and outcome.result["withdraw_lamports"] == held
            and "warning" not in outcome.result
        )
    assert env.submit()["success"]
    assert env.lamports(friend) == friend_before + 2 * held
    assert (
        env.state(env.addr("STAKE_INACTIVE")) is None
        and env.state(env.addr("STAKE_INITIALIZED")) is None
    )


def test_withdrawing_active_or_deactivating_stake_fails_on_chain(env):
    user = env.addr("USER_WALLET_PUBKEY")
    for name in ("STAKE_ACTIVE", "STAKE_DEACTIVATING", "STAKE_ACTIVATING"):
        before = env.lamports(user)
        outcome = env.call("withdraw_stake", {"stake_account": env.a(name)})
        assert outcome.ok and outcome.result["withdrawable_lamports"] == 0
        assert "the Stake program will reject this withdrawal" in outcome.result["warning"]
        result = env.submit()
        assert not result["success"]
        assert (
            result["error"]
            == "instruction 0 (Stake11111111111111111111111111111111111111) failed: insufficient funds"
        )
        assert env.lamports(env.addr(name)) == STAKED + reserve(env)
        assert env.lamports(user) == before - LAMPORTS_PER_SIGNATURE
    # Lamports above stake + reserve can be withdrawn from an active account (rewards, top-ups).
    assert call_tool(
        env.ctx, "sol_transfer", {"recipient": env.a("STAKE_ACTIVE"), "amount": "0.5"}
    ).ok
    assert env.submit()["success"]
    outcome = env.call("withdraw_stake", {"stake_account": env.a("STAKE_ACTIVE"), "amount": "0.5"})
    assert outcome.result["withdrawable_lamports"] == SOL // 2 and "warning" not in outcome.result
    assert env.submit()["success"]
    assert env.stake_state(env.addr("STAKE_ACTIVE")) == "active"


def test_get_stake_account(env):
    result = env.call("get_stake_account", {"address": env.a("STAKE_DEACTIVATING")}).result
    epoch = env.chain.epoch
    assert result == {
        "address": env.a("STAKE_DEACTIVATING"),
        "exists": True,
        "stake_account": env.a("STAKE_DEACTIVATING"),
        "state": "deactivating",
        "epoch": epoch,
        "lamports": STAKED + reserve(env),
        "sol": "3.00228288",
        "staker": env.a("USER_WALLET_PUBKEY"),
        "withdrawer": env.a("USER_WALLET_PUBKEY"),
        "rent_exempt_reserve_lamports": reserve(env),
        "delegated_vote": env.a("VALIDATOR_VOTE"),
        "stake_lamports": STAKED,
        "stake_sol": "3",
        "activation_epoch": epoch - 2,
        "deactivation_epoch": epoch,
        "effective_lamports": STAKED,
        "activating_lamports": 0,
        "deactivating_lamports": STAKED,
        "withdrawable_lamports": 0,
    }
    initialized = env.call("get_stake_account", {"address": env.a("STAKE_INITIALIZED")}).result
    assert initialized["state"] == "initialized" and "delegated_vote" not in initialized
    assert initialized["withdrawable_lamports"] == STAKED + reserve(env)
    missing = stake_account_address(env.addr("USER_WALLET_PUBKEY"), 0)
    assert env.call("get_stake_account", {"address": str(missing)}).result == {
        "address": str(missing),
        "exists": False,
        "lamports": 0,
        "sol": "0",
    }
    outcome = env.call("get_stake_account", {"address": env.a("VALIDATOR_VOTE")})
    assert not outcome.ok and f"is not a stake account (owned by {VOTE})" in outcome.error


# --- the assertion ---------------------------------------------------------------------------


def _check(env: Env, **fields):
    assertion = StakeAccountState(type="StakeAccountState", **fields)
    address = str(env.keys.resolve(assertion.pubkey))
    return evaluate_assertion(assertion, env.keys, {}, {address: env.state(address)})


def test_stake_account_state_assertion(env):
    ok = _check(
        env,
        pubkey="STAKE_ACTIVE",
        state="active",
        delegated_vote="VALIDATOR_VOTE",
        stake=STAKED,
        stake_gte=STAKED,
        staker="USER_WALLET_PUBKEY",
        withdrawer="USER_WALLET_PUBKEY",
    )
    assert ok.passed, ok.reason
    failures = {
        "state": _check(env, pubkey="STAKE_ACTIVE", state="deactivating"),
        "vote": _check(env, pubkey="STAKE_ACTIVE", state="active", delegated_vote="OTHER_VOTE"),
        "stake": _check(env, pubkey="STAKE_ACTIVE", state="active", stake=STAKED + 1),
        "stake_gte": _check(env, pubkey="STAKE_ACTIVE", state="active", stake_gte=STAKED + 1),
        "staker": _check(env, pubkey="FRIENDS_STAKE", state="active", staker="USER_WALLET_PUBKEY"),
        "closed": _check(env, pubkey="STAKE_INACTIVE", state="closed"),
        "missing": _check(
            env,
            pubkey=str(stake_account_address(env.addr("USER_WALLET_PUBKEY"), 0)),
            state="active",
        ),
        "not stake": _check(env, pubkey="VALIDATOR_VOTE", state="active"),
    }
    assert {k: c.passed for k, c in failures.items()} == dict.fromkeys(failures, False)
    assert failures["state"].reason == "state is 'active', expected 'deactivating'"
    assert (
        failures["vote"].reason
        == f"delegated_vote is {env.a('VALIDATOR_VOTE')!r}, expected {env.a('OTHER_VOTE')!r}"
    )
    assert failures["stake"].reason == f"stake is {STAKED}, expected {STAKED + 1}"
    assert failures["missing"].reason == "state is 'closed', expected 'active'"
    assert failures["not stake"].reason.endswith(f"is not a stake account (owner {VOTE})")
    assert _check(
        env, pubkey=str(stake_account_address(env.addr("USER_WALLET_PUBKEY"), 0)), state="closed"
    ).passed


def test_closed_stake_assertion_takes_no_other_fields():
    with pytest.raises(ValueError, match="closed stake account has no stake"):
        StakeAccountState(type="StakeAccountState", pubkey="X_Y", state="closed", stake=5)


def test_account_with_seed_derivation_names_the_stake_sol_address():
    bench = benchmark("030-stake-delegate")
    keys = resolve_placeholders(bench, 3)
    assert keys.addresses["USER_STAKE_ACCOUNT"] == stake_account_address(keys.user.pubkey(), 0)
    assert "USER_STAKE_ACCOUNT" not in keys.visible  # ground truth only
    assert keys.keypairs.get(keys.addresses["USER_STAKE_ACCOUNT"]) is None


# --- benchmarks and flows ----------------------------------------------------------------------


def test_lifecycle_flow_observes_each_state(tmp_path):
    result, session = run(benchmark("033-flow-stake-lifecycle"), DeterministicAgent(), tmp_path)
    assert result.passed and result.score == pytest.approx(1.0)
    stake = str(
        resolve_placeholders(benchmark("033-flow-stake-lifecycle"), 0).addresses[
            "USER_STAKE_ACCOUNT"
        ]
    )
    seen = []
    for step in session.steps:
        states = {a.address: a.stake for a in step.observation.accounts}
        info = states.get(stake)
        seen.append(None if info is None else (info.state, info.epoch))
    start = seen[1][1] - 1
    assert seen == [None, ("active", start + 1), ("inactive", start + 2)]


def test_without_the_epoch_advance_the_withdrawal_fails(tmp_path):
    bench = benchmark("033-flow-stake-lifecycle").model_copy(deep=True)
    bench.flow[2].advance_epochs = 0  # the stake is still deactivating when step 3 runs
    result, session = run(bench, DeterministicAgent(), tmp_path)
    assert not result.passed
    last = session.steps[2].transactions
    assert len(last) == 1 and not last[0].success and "insufficient funds" in last[0].error
    failed = {c.name for c in session.final_result.checks if not c.passed}
    assert (
        "StakeAccountState USER_STAKE_ACCOUNT" in failed
        and "SolBalance USER_WALLET_PUBKEY" in failed
    )


def test_delegating_to_the_validator_identity_or_another_amount_does_not_pass(tmp_path):
    bench = benchmark("030-stake-delegate")
    wrong_target = ScriptedAgent(
        [
            [
                ("stake_sol", {"amount": "2", "vote_account": "{VALIDATOR_NODE_PUBKEY}"}),
                ("submit_transaction", {}),
            ]
        ]
    )
    result, session = run(bench, wrong_target, tmp_path)
    assert not result.passed
    assert "not a vote account" in wrong_target.seen_results[0]["error"]

    off_by_one = ScriptedAgent(
        [
            [
                ("stake_sol", {"amount": "2.000000001", "vote_account": "{VALIDATOR_VOTE_PUBKEY}"}),
                ("submit_transaction", {}),
            ]
        ]
    )
    result, session = run(bench, off_by_one, tmp_path)
    assert not result.passed
    failed = {c.name: c.reason for c in session.final_result.checks if not c.passed}
    assert (
        failed["StakeAccountState USER_STAKE_ACCOUNT"] == "stake is 2000000001, expected 2000000000"
    )


def test_deactivating_the_wrong_stake_account_does_not_pass(tmp_path):
    bench = benchmark("031-stake-deactivate")
    agent = ScriptedAgent(
        [
            [
                ("deactivate_stake", {"stake_account": "{STAKE_ACCOUNT_ONE}"}),
                ("submit_transaction", {}),
            ]
        ]
    )
    result, session = run(bench, agent, tmp_path)
    assert not result.passed
    failed = {c.name for c in session.final_result.checks if not c.passed}
    assert {"StakeAccountState STAKE_ACCOUNT_TWO", "StakeAccountState STAKE_ACCOUNT_ONE"} <= failed


def test_episode_fails_cleanly_on_a_chain_that_cannot_advance(tmp_path):
    class FixedClockChain(LiteSVMChain):
        advance_epochs = None  # type: ignore[assignment]

    bench = benchmark("033-flow-stake-lifecycle")
    # Only the step needs it (setup declares no already-active stake here).
    result, session = run(bench, DeterministicAgent(), tmp_path, chain_factory=FixedClockChain)
    assert result.status == "Failed" and "cannot advance epochs" in (result.error or "")
    assert session.steps[1].status == "failed"
