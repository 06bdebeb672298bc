"""The SDK's 128-bit helpers (two u64 limbs) against Python's integers, on chain.

A test program runs `mul_div_floor`, `mul_div_ceil` and `isqrt_mul` on the instruction's
operands and returns the results; hypothesis draws operands across the whole u64 range, with
extra weight on the edges (0, 1, powers of two, 2^64 − 1) where limb arithmetic breaks.
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Callable
from math import isqrt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from solders.instruction import Instruction
from solders.pubkey import Pubkey

from reev.programs.toolchain.linker import link

from .amm_env import AmmEnv

U64_MAX = 2**64 - 1
MATH = """
#include "reev_sdk.h"
u64 entrypoint(u8 *input) {
  SolParameters params;
  sol_deserialize(input, &params);
  u64 a = read_u64(params.data), b = read_u64(params.data + 8), d = read_u64(params.data + 16);
  u64 out[5] = {0, 0, 0, 0, 0};
  out[0] = mul_div_floor(a, b, d, &out[1]);
  out[2] = mul_div_ceil(a, b, d, &out[3]);
  out[4] = isqrt_mul(a, b);
  sol_set_return_data((const u8 *)out, sizeof(out));
  return 0;
}
"""

edges = st.sampled_from(
    [0, 1, 2, 3, 2**31, 2**32 - 1, 2**32, 2**32 + 1, 2**63, U64_MAX - 1, U64_MAX]
)
u64 = st.one_of(edges, st.integers(0, 2**32), st.integers(0, U64_MAX))


@pytest.fixture(scope="module")
def math_program(compile_c_module: Callable[..., bytes]) -> tuple[AmmEnv, Pubkey]:
    env = AmmEnv()
    program = env.keypair().pubkey()
    env.chain.svm.add_program(program, link(compile_c_module(MATH)))
    return env, program


def run(env: AmmEnv, program: Pubkey, a: int, b: int, d: int) -> tuple[int, ...]:
    result = env.send([Instruction(program, struct.pack("<QQQ", a, b, d), [])])
    assert result.success, result.error
    line = next(line for line in result.logs if line.startswith(f"Program return: {program} "))
    return struct.unpack("<5Q", base64.b64decode(line.split()[-1]))


@settings(max_examples=300, derandomize=True, deadline=None, database=None)
@given(a=u64, b=u64, d=u64)
def test_mul_div_and_isqrt_agree_with_python(
    math_program: tuple[AmmEnv, Pubkey], a: int, b: int, d: int
) -> None:
    env, program = math_program
    ok_floor, floor, ok_ceil, ceil, root = run(env, program, a, b, d)
    exact_floor = a * b // d if d else None
    exact_ceil = -(-a * b // d) if d else None
    assert bool(ok_floor) == (exact_floor is not None and exact_floor <= U64_MAX)
    if ok_floor:
        assert floor == exact_floor
    assert bool(ok_ceil) == (exact_ceil is not None and exact_ceil <= U64_MAX)
    if ok_ceil:
        assert ceil == exact_ceil
    assert root == isqrt(a * b)
