"""The linker's byte swaps (BPF_END, in the 32-bit ALU class but valid in SBPF v0) and its
handling of input sections aligned above 8 bytes: linked, run on LiteSVM, strict-deployed."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from elftools.elf.elffile import ELFFile
from solders.instruction import Instruction

from reev.programs.toolchain.linker import LinkError, link

from .amm_env import AmmEnv
from .deploy import deploy
from .elf import section

BYTE_SWAPS = """
#include "reev_sdk.h"
u64 entrypoint(u8 *input) {
  SolParameters params;
  sol_deserialize(input, &params);
  u64 x = read_u64(params.data);
  sol_log_64_(__builtin_bswap64(x), __builtin_bswap32((u32)x), __builtin_bswap16((u16)x), 0, 0);
  return 0;
}
"""


def test_byte_swaps_link_run_and_deploy(compile_c: Callable[..., bytes]) -> None:
    """BPF_END (`be16/32/64`, opcode 0xdc; `le`, 0xd4) is in the 32-bit ALU class but valid in
    SBPF v0: the linker keeps it."""
    obj = compile_c(BYTE_SWAPS)
    elf = link(obj)
    text = section(ELFFile(io.BytesIO(elf)), ".text").data()
    assert 0xDC in text[::8], "clang should emit the byte swaps as BPF_END"
    env = AmmEnv()
    program = env.keypair().pubkey()
    env.chain.svm.add_program(program, elf)
    value = 0x0102030405060708
    result = env.send([Instruction(program, value.to_bytes(8, "little"), [])])
    assert result.success, result.error
    swapped = (
        int.from_bytes(value.to_bytes(8, "little"), "big"),
        int.from_bytes((value & 0xFFFF_FFFF).to_bytes(4, "little"), "big"),
        int.from_bytes((value & 0xFFFF).to_bytes(2, "little"), "big"),
    )
    assert (
        f"Program log: {swapped[0]:#x}, {swapped[1]:#x}, {swapped[2]:#x}, 0x0, 0x0" in result.logs
    )
    deployed = deploy(env.chain, env.payer, elf, env.keypair(), env.keypair())
    assert deployed.success, deployed.logs[-3:]


def _aligned_table(alignment: int) -> str:
    return f"""
#include "reev_sdk.h"
static const char PAD[3] = "ab";
static const u8 TABLE[64] __attribute__((aligned({alignment}))) = {{7, 8, 9}};
u64 entrypoint(u8 *input) {{
  SolParameters params;
  sol_deserialize(input, &params);
  const u8 *volatile pad = (const u8 *)PAD;
  const u8 *volatile table = TABLE;
  sol_log_64_((u64)table % {alignment}, table[params.data[0]], pad[0], 0, 0);
  return 0;
}}
"""


def test_rodata_alignment_above_8_is_honoured(compile_c: Callable[..., bytes]) -> None:
    elf = link(compile_c(_aligned_table(64)))
    rodata = section(ELFFile(io.BytesIO(elf)), ".rodata")
    assert rodata["sh_addr"] % 64 == 0 and rodata["sh_addralign"] == 64
    env = AmmEnv()
    program = env.keypair().pubkey()
    env.chain.svm.add_program(program, elf)
    result = env.send([Instruction(program, bytes([1]), [])])
    assert result.success, result.error
    assert f"Program log: 0x0, 0x8, {ord('a'):#x}, 0x0, 0x0" in result.logs
    deployed = deploy(env.chain, env.payer, elf, env.keypair(), env.keypair())
    assert deployed.success, deployed.logs[-3:]


def test_an_alignment_beyond_a_page_is_refused(compile_c: Callable[..., bytes]) -> None:
    with pytest.raises(LinkError, match=r"wants alignment 8192.*at most 4096"):
        link(compile_c(_aligned_table(8192)))
