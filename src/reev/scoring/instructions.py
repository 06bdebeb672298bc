"""Instruction matching: expected instructions (with reev's weights) against generated ones.

Per pair, the program id earns `program_id_weight`, the data (base58, unless `"..."`) earns its
`data_weight`, and each expected account earns its `weight` when the account at the same
position has the same pubkey, is_signer and is_writable.

Two pairings:
- `reev`: expected[i] with generated[i], exactly as the original reev; extra instructions are
  ignored.
- `verified`: each expected instruction, in order, is paired with the best-matching generated
  instruction after the previous pair (so a preparatory instruction does not shift everything),
  and every generated instruction left unpaired is an *extra* that adds the mean weight of an
  expected instruction to the denominator: sending something nobody asked for costs points.
"""

from __future__ import annotations

from typing import Literal

from reev.chain.instructions import InstructionRecord
from reev.scoring.checks import Check
from reev.spec.models import ExpectedInstruction
from reev.spec.placeholders import KeyMap


def _possible(expected: ExpectedInstruction) -> float:
    return (
        expected.program_id_weight
        + expected.effective_data_weight
        + sum(a.weight for a in expected.accounts)
    )


def _compare(
    index: int, expected: ExpectedInstruction, generated: InstructionRecord | None, keys: KeyMap
) -> Check:
    possible = _possible(expected)
    program = str(keys.resolve(expected.program_id))
    name = f"instruction {index} ({expected.program_id})"
    if generated is None:
        return Check(
            component="instruction",
            name=name,
            passed=False,
            weight=possible,
            earned=0.0,
            reason="no generated instruction to compare with",
            expected=program,
        )
    earned = 0.0
    problems: list[str] = []
    if generated.program_id == program:
        earned += expected.program_id_weight
    else:
        problems.append(f"program is {generated.program_id}, expected {program}")
    if expected.checks_data:
        if generated.data == expected.data:
            earned += expected.effective_data_weight
        else:
            problems.append(f"data is {generated.data}, expected {expected.data}")
    for position, account in enumerate(expected.accounts):
        want = str(keys.resolve(account.pubkey))
        got = generated.accounts[position] if position < len(generated.accounts) else None
        if got is None:
            problems.append(f"account {position} missing, expected {account.pubkey}")
        elif (got.pubkey, got.is_signer, got.is_writable) == (
            want,
            account.is_signer,
            account.is_writable,
        ):
            earned += account.weight
        else:
            problems.append(
                f"account {position} is {got.pubkey} (signer={got.is_signer}, writable="
                f"{got.is_writable}), expected {account.pubkey} = {want} (signer="
                f"{account.is_signer}, writable={account.is_writable})"
            )
    return Check(
        component="instruction",
        name=name,
        passed=not problems,
        weight=possible,
        earned=earned,
        reason="; ".join(problems) or None,
        expected=program,
        actual=generated.program_id,
    )


def match_instructions(
    expected: list[ExpectedInstruction],
    generated: list[InstructionRecord],
    keys: KeyMap,
    pairing: Literal["reev", "verified"],
) -> list[Check]:
    if pairing == "reev":
        return [
            _compare(i, exp, generated[i] if i < len(generated) else None, keys)
            for i, exp in enumerate(expected)
        ]

    checks: list[Check] = []
    used: set[int] = set()
    cursor = 0
    for i, exp in enumerate(expected):
        best: tuple[float, int, Check] | None = None
        for j in range(cursor, len(generated)):
            candidate = _compare(i, exp, generated[j], keys)
            if best is None or candidate.earned > best[0]:
                best = (candidate.earned, j, candidate)
        if best is None or best[0] == 0:
            checks.append(_compare(i, exp, None, keys))
            continue
        _, j, check = best
        used.add(j)
        cursor = j + 1
        checks.append(check)

    mean_possible = sum(_possible(e) for e in expected) / len(expected) if expected else 0.0
    for j, extra in enumerate(generated):
        if j not in used:
            checks.append(
                Check(
                    component="instruction",
                    name=f"extra instruction {j} ({extra.program_id})",
                    passed=False,
                    weight=mean_possible,
                    earned=0.0,
                    reason="instruction not in the expected instructions",
                    actual=extra.model_dump(),
                )
            )
    return checks
