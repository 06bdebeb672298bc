"""Evaluate `final_state_assertions` against the account states captured by the runner.

The scorer never touches a chain: the runner captures, before and after the agent acts, the
states of exactly the addresses `addresses_to_capture` names, and this module reads those.
"""

from __future__ import annotations

from collections.abc import Mapping

from solders.pubkey import Pubkey
from spl.token.instructions import get_associated_token_address

from reev.chain.accounts import AccountState
from reev.chain.protocol import TxResult
from reev.scoring.checks import Check
from reev.spec.known_mints import KNOWN_MINTS, TOKEN_PROGRAM
from reev.spec.models import (
    AccountClosed,
    AccountExists,
    Assertion,
    Benchmark,
    MintSupply,
    SolBalance,
    SolBalanceChange,
    StakeAccountState,
    TokenAccountBalance,
    TokenAccountBalanceChange,
    TokenAccountDelegate,
    TokenAccountState,
    TokenAccountWithheld,
    TransactionLogs,
)
from reev.spec.placeholders import KeyMap

States = Mapping[str, AccountState | None]


def _own_derivation(assertion: Assertion, keys: KeyMap) -> tuple[str, str] | None:
    """(owner, mint) of an associated-token-account derivation that differs from the one its
    name resolves to. The original reev derived each assertion's address from its own
    `address_derivation` ("pubkey is not used when address_derivation is present"), and its
    files reuse one name (`UNUSED_PLACEHOLDER`) for accounts of different mints."""
    derivation = getattr(assertion, "address_derivation", None)
    if isinstance(assertion, TransactionLogs) or derivation is None:
        return None
    if derivation.type != "AssociatedTokenAccount":
        return None
    named = keys.token_accounts.get(str(assertion.pubkey))
    if named is None or (named[0], named[1]) == (derivation.owner, derivation.mint):
        return None
    return derivation.owner, derivation.mint


def assertion_address(assertion: Assertion, keys: KeyMap) -> str:
    """The account an assertion reads: its name's address, or its own derivation's."""
    if isinstance(assertion, TransactionLogs):
        raise ValueError("TransactionLogs reads transactions, not an account")
    own = _own_derivation(assertion, keys)
    if own is None:
        return str(keys.resolve(assertion.pubkey))
    mint = str(keys.resolve(own[1]))
    known = KNOWN_MINTS.get(mint)
    program = Pubkey.from_string(known.program) if known else TOKEN_PROGRAM
    return str(
        get_associated_token_address(keys.resolve(own[0]), Pubkey.from_string(mint), program)
    )


def addresses_to_capture(benchmark: Benchmark, keys: KeyMap) -> list[str]:
    """Every address an assertion reads (resolved), in a stable order."""
    seen: list[str] = []
    for assertion in benchmark.ground_truth.final_state_assertions:
        if isinstance(assertion, TransactionLogs):
            continue  # reads transactions, not accounts
        address = assertion_address(assertion, keys)
        if address not in seen:
            seen.append(address)
    return seen


def _bounds(exact: int | None, gte: int | None, lte: int | None) -> str:
    parts = []
    if exact is not None:
        parts.append(f"== {exact}")
    if gte is not None:
        parts.append(f">= {gte}")
    if lte is not None:
        parts.append(f"<= {lte}")
    return " and ".join(parts)


def _within(value: int, exact: int | None, gte: int | None, lte: int | None) -> bool:
    return (
        (exact is None or value == exact)
        and (gte is None or value >= gte)
        and (lte is None or value <= lte)
    )


def _token_amount(state: AccountState | None) -> int | None:
    return state.token.amount if state is not None and state.token is not None else None


def _logs_contain(logs: list[str], lines: list[str]) -> bool:
    n = len(lines)
    return any(logs[i : i + n] == lines for i in range(len(logs) - n + 1))


def evaluate_transaction_logs(assertion: TransactionLogs, transactions: list[TxResult]) -> Check:
    found = [
        t.signature for t in transactions if t.success and _logs_contain(t.logs, assertion.contains)
    ]
    return Check(
        component="state",
        name=f"TransactionLogs {assertion.contains[-1]!r}",
        passed=bool(found),
        weight=assertion.weight,
        earned=assertion.weight if found else 0.0,
        reason=None if found else "no successful transaction logged these lines",
        expected=assertion.contains,
        actual=found,
    )


def _stake_account_state(
    assertion: StakeAccountState, keys: KeyMap, address: str, after: AccountState | None
) -> tuple[bool, str | None, object, object]:
    """State (at the epoch of the capture), then the optional fields, of a stake account."""
    expected: dict[str, object] = {"state": assertion.state}
    for name in ("delegated_vote", "staker", "withdrawer"):
        value = getattr(assertion, name)
        if value is not None:
            expected[name] = str(keys.resolve(value))
    if assertion.stake is not None:
        expected["stake"] = assertion.stake
    if assertion.stake_gte is not None:
        expected["stake"] = f">= {assertion.stake_gte}"
    if after is None:
        actual: dict[str, object] = {"state": "closed"}
    elif after.stake is None:
        actual = {"state": None, "owner": after.owner}
    else:
        info = after.stake
        actual = {"state": info.state, "epoch": info.epoch}
        fields = ("delegated_vote", "staker", "withdrawer", "stake")
        actual.update({k: getattr(info, k) for k in fields if k in expected})
    wrong = [k for k, v in expected.items() if k != "stake" and actual.get(k) != v]
    stake = actual.get("stake")
    if assertion.stake is not None and stake != assertion.stake:
        wrong.append("stake")
    gte = assertion.stake_gte
    if gte is not None and not (isinstance(stake, int) and stake >= gte):
        wrong.append("stake")
    if not wrong:
        return True, None, expected, actual
    if after is not None and after.stake is None:
        reason = f"account {address} is not a stake account (owner {after.owner})"
    else:
        reason = "; ".join(
            f"{k} is {actual.get(k)!r}, expected {expected[k]!r}" for k in dict.fromkeys(wrong)
        )
    return False, reason, expected, actual


def evaluate_assertion(
    assertion: Assertion,
    keys: KeyMap,
    initial: States,
    final: States,
    transactions: list[TxResult] | None = None,
) -> Check:
    if isinstance(assertion, TransactionLogs):
        return evaluate_transaction_logs(assertion, transactions or [])
    address = assertion_address(assertion, keys)
    own = _own_derivation(assertion, keys)
    label = f"{assertion.type} {assertion.pubkey}" + (f" (mint {own[1]})" if own else "")
    before = initial.get(address)
    after = final.get(address)
    passed: bool
    reason: str | None = None
    expected: object
    actual: object

    match assertion:
        case SolBalance():
            actual = after.lamports if after else 0
            expected = assertion.expected
            passed = actual == expected
            if not passed:
                reason = f"SOL balance is {actual} lamports, expected {expected}"
        case SolBalanceChange():
            actual = (after.lamports if after else 0) - (before.lamports if before else 0)
            expected = _bounds(
                assertion.expected_change,
                assertion.expected_change_gte,
                assertion.expected_change_lte,
            )
            passed = _within(
                actual,
                assertion.expected_change,
                assertion.expected_change_gte,
                assertion.expected_change_lte,
            )
            if not passed:
                reason = f"SOL balance changed by {actual} lamports, expected a change {expected}"
        case TokenAccountBalance():
            actual = _token_amount(after)
            expected = _bounds(assertion.expected, assertion.expected_gte, None)
            if actual is None:
                passed = False
                reason = f"token account {address} does not exist"
            else:
                passed = _within(actual, assertion.expected, assertion.expected_gte, None)
                if not passed:
                    reason = f"token balance is {actual} base units, expected {expected}"
        case TokenAccountBalanceChange():
            now = _token_amount(after)
            then = _token_amount(before) or 0
            expected = _bounds(
                assertion.expected_change,
                assertion.expected_change_gte,
                assertion.expected_change_lte,
            )
            actual = None if now is None else now - then
            if now is None:
                passed = False
                reason = f"token account {address} does not exist"
            else:
                passed = _within(
                    now - then,
                    assertion.expected_change,
                    assertion.expected_change_gte,
                    assertion.expected_change_lte,
                )
                if not passed:
                    reason = f"token balance changed by {now - then}, expected a change {expected}"
        case AccountExists():
            expected_owner = str(keys.resolve(assertion.owner)) if assertion.owner else None
            expected = {"exists": True, "owner": expected_owner}
            actual = {"exists": after is not None, "owner": after.owner if after else None}
            passed = after is not None and (expected_owner is None or after.owner == expected_owner)
            if after is None:
                reason = f"account {address} does not exist"
            elif not passed:
                reason = f"account {address} is owned by {after.owner}, expected {expected_owner}"
        case AccountClosed():
            expected = {"exists": False}
            actual = {"exists": after is not None}
            passed = after is None
            if after is not None:
                reason = f"account {address} still exists with {after.lamports} lamports"
        case TokenAccountDelegate():
            delegate = str(keys.resolve(assertion.delegate)) if assertion.delegate else None
            token = after.token if after else None
            expected = {"delegate": delegate, "delegated_amount": assertion.delegated_amount}
            actual = {
                "delegate": token.delegate if token else None,
                "delegated_amount": token.delegated_amount if token else None,
            }
            if token is None:
                passed = False
                reason = f"token account {address} does not exist"
            else:
                passed = token.delegate == delegate and (
                    assertion.delegated_amount is None
                    or token.delegated_amount == assertion.delegated_amount
                )
                if not passed:
                    reason = f"delegate is {actual}, expected {expected}"
        case TokenAccountState():
            token = after.token if after else None
            expected = assertion.state
            actual = token.state if token else None
            passed = actual == expected
            if not passed:
                reason = (
                    f"token account {address} does not exist"
                    if token is None
                    else f"token account is {actual}, expected {expected}"
                )
        case MintSupply():
            mint = after.mint if after else None
            expected = assertion.expected
            actual = mint.supply if mint else None
            passed = actual == expected
            if not passed:
                reason = (
                    f"mint {address} does not exist"
                    if mint is None
                    else f"mint supply is {actual}, expected {expected}"
                )
        case TokenAccountWithheld():
            token = after.token if after else None
            expected = assertion.expected
            actual = token.withheld_amount if token else None
            passed = actual == expected
            if not passed:
                if token is None:
                    reason = f"token account {address} does not exist"
                elif actual is None:
                    reason = (
                        f"token account {address} has no transfer-fee extension (nothing withheld)"
                    )
                else:
                    reason = f"withheld transfer fees are {actual} base units, expected {expected}"
        case StakeAccountState():
            passed, reason, expected, actual = _stake_account_state(assertion, keys, address, after)
        case _:  # pragma: no cover - the union is closed
            raise TypeError(f"unhandled assertion {assertion!r}")

    return Check(
        component="state",
        name=label,
        passed=passed,
        weight=assertion.weight,
        earned=assertion.weight if passed else 0.0,
        reason=reason,
        expected=expected,
        actual=actual,
    )


def evaluate_assertions(
    benchmark: Benchmark,
    keys: KeyMap,
    initial: States,
    final: States,
    transactions: list[TxResult] | None = None,
) -> list[Check]:
    return [
        evaluate_assertion(a, keys, initial, final, transactions)
        for a in benchmark.ground_truth.final_state_assertions
    ]
