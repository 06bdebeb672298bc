"""The program toolchain: reproducible builds, strict deploys, the linker's output and refusals."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from elftools.elf.elffile import ELFFile
from solders.instruction import Instruction
from solders.litesvm import LiteSVM

from reev.programs import AMM_PROGRAM_ID, reev_programs
from reev.programs.toolchain import build
from reev.programs.toolchain.linker import MM_PROGRAM_START, LinkError, link

from .amm_env import AmmEnv
from .deploy import deploy
from .elf import section

HELLO = """
#include "reev_sdk.h"
static const char GREETING[] = "hello from reev";
u64 entrypoint(u8 *input) {
  SolParameters params;
  sol_deserialize(input, &params);
  sol_log_(GREETING, sizeof(GREETING) - 1);
  sol_log_64_(params.ka_num, params.data_len, 0, 0, 0);
  return 0;
}
"""


def test_committed_programs_equal_a_fresh_build(clang: str) -> None:
    programs = build.programs()
    assert [p.name for p in programs] == ["amm", "lend"]
    for program in programs:
        assert program.output.read_bytes() == build.build(program, clang), (
            f"{program.output} differs from a fresh build: run `make programs` and commit it"
        )


def test_build_check_passes_on_the_committed_files(
    clang: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert build.main(["--check"]) == 0
    assert "amm: " in capsys.readouterr().out


def test_every_program_deploys_through_the_upgradeable_loader(env: AmmEnv) -> None:
    for elf in reev_programs().values():
        result = deploy(env.chain, env.payer, elf, env.keypair(), env.keypair())
        assert result.success, (result.error, result.logs[-3:])
        assert any(line.startswith("Deployed program") for line in result.logs)


def test_a_misspelt_syscall_loads_with_add_program_but_the_strict_deploy_refuses_it(
    env: AmmEnv,
) -> None:
    elf = reev_programs()[AMM_PROGRAM_ID]
    misspelt = elf.replace(b"sol_log_\0", b"sol_lox_\0")  # same length: only the name changes
    assert misspelt != elf
    LiteSVM().add_program(AMM_PROGRAM_ID, misspelt)  # no deploy checks: loads fine
    result = deploy(env.chain, env.payer, misspelt, env.keypair(), env.keypair())
    assert not result.success
    assert any("Unresolved symbol (sol_lox_)" in line for line in result.logs)


def test_the_output_is_an_sbpf_v0_shared_object() -> None:
    elf = ELFFile(io.BytesIO(reev_programs()[AMM_PROGRAM_ID]))
    assert (elf.header["e_type"], elf.header["e_machine"], elf.header["e_flags"]) == (
        "ET_DYN",
        "EM_BPF",
        0,
    )
    names = [s.name for s in elf.iter_sections()][1:]
    assert names == [".text", ".rodata", ".dynamic", ".dynsym", ".dynstr", ".rel.dyn", ".shstrtab"]
    for each in elf.iter_sections():
        if each["sh_flags"] & 0x2:  # SHF_ALLOC: loaded, so address == file offset
            assert each["sh_addr"] == each["sh_offset"], each.name
            assert not each["sh_flags"] & 0x1, f"{each.name} is writable"
        if each.name in (".text", ".rodata", ".dynamic", ".dynsym", ".rel.dyn"):
            assert each["sh_offset"] % 8 == 0, each.name
    text = section(elf, ".text")
    assert text["sh_addr"] <= elf.header["e_entry"] < text["sh_addr"] + text["sh_size"]
    # every dynamic relocation is a syscall site: R_BPF_64_32 on `call -1` naming a known syscall
    dynsym = section(elf, ".dynsym")
    data = text.data()
    relocations = list(section(elf, ".rel.dyn").iter_relocations())
    assert relocations
    for relocation in relocations:
        assert relocation["r_info_type"] == 10
        at = relocation["r_offset"] - text["sh_addr"]
        assert (
            data[at] == 0x85 and int.from_bytes(data[at + 4 : at + 8], "little", signed=True) == -1
        )
        assert dynsym.get_symbol(relocation["r_info_sym"]).name.startswith("sol_")


def test_a_linked_program_runs_and_reads_its_rodata(compile_c: Callable[..., bytes]) -> None:
    env = AmmEnv()
    program = env.keypair().pubkey()
    env.chain.svm.add_program(program, link(compile_c(HELLO)))
    result = env.send([Instruction(program, b"\x01\x02\x03", [])])
    assert result.success, result.error
    assert "Program log: hello from reev" in result.logs
    assert "Program log: 0x0, 0x3, 0x0, 0x0, 0x0" in result.logs


FUNCTION_POINTERS = """
#include "reev_sdk.h"
__attribute__((noinline)) static u64 twice(u64 x) { return 2 * x; }
__attribute__((noinline)) static u64 square(u64 x) { return x * x; }
static u64 (*const OPS[])(u64) = {twice, square};  /* a pointer table in .rodata */
u64 entrypoint(u8 *input) {
  SolParameters params;
  sol_deserialize(input, &params);
  sol_log_64_(OPS[params.data[0] & 1](params.data[1]), 0, 0, 0, 0);  /* callx */
  return 0;
}
"""


def test_function_pointers_and_callx_run_and_deploy(compile_c: Callable[..., bytes]) -> None:
    env = AmmEnv()
    elf = link(compile_c(FUNCTION_POINTERS))
    program = env.keypair().pubkey()
    env.chain.svm.add_program(program, elf)
    for op, expected in [(0, 2 * 7), (1, 7 * 7)]:
        result = env.send([Instruction(program, bytes([op, 7]), [])])
        assert result.success, result.error
        assert f"Program log: {expected:#x}, 0x0, 0x0, 0x0, 0x0" in result.logs
    deployed = deploy(env.chain, env.payer, elf, env.keypair(), env.keypair())
    assert deployed.success, deployed.logs[-3:]


def test_rodata_addresses_are_absolute(compile_c: Callable[..., bytes]) -> None:
    elf = ELFFile(io.BytesIO(link(compile_c(HELLO))))
    rodata = section(elf, ".rodata")
    text = section(elf, ".text").data()
    immediates = [
        int.from_bytes(text[i + 4 : i + 8], "little")
        | int.from_bytes(text[i + 12 : i + 16], "little") << 32
        for i in range(0, len(text) - 8, 8)
        if text[i] == 0x18
    ]
    assert MM_PROGRAM_START + rodata["sh_addr"] in immediates


def test_the_linker_refuses_writable_data(compile_c: Callable[..., bytes]) -> None:
    obj = compile_c(
        "unsigned long long counter = 5;\nunsigned long long entrypoint(void *i) { return counter++; }\n"
    )
    with pytest.raises(LinkError, match=r"section \.data is writable data"):
        link(obj)
    obj = compile_c(
        "unsigned long long counter;\nunsigned long long entrypoint(void *i) { return counter++; }\n"
    )
    with pytest.raises(LinkError, match=r"section \.bss is writable data"):
        link(obj)


def test_the_linker_refuses_an_unknown_syscall(compile_c: Callable[..., bytes]) -> None:
    obj = compile_c(
        "extern void sol_lgo_(const char *, unsigned long long);\n"
        'unsigned long long entrypoint(void *i) { sol_lgo_("x", 1); return 0; }\n'
    )
    with pytest.raises(LinkError, match=r"unknown function 'sol_lgo_'"):
        link(obj)


def test_the_linker_refuses_v3_instructions(compile_c: Callable[..., bytes]) -> None:
    source = (
        "unsigned int entrypoint(unsigned int *i) { return i[0] > 7 ? i[1] + i[2] : i[3] * 3; }\n"
    )
    with pytest.raises(LinkError, match=r"32-bit (ALU instruction|jump)"):
        link(compile_c(source, "-mcpu=v3"))
    link(compile_c(source))  # the same code for v2 links


def test_the_linker_refuses_a_program_without_entrypoint(compile_c: Callable[..., bytes]) -> None:
    with pytest.raises(LinkError, match="no `entrypoint`"):
        link(compile_c("unsigned long long main(void *i) { return 0; }\n"))


def test_the_linker_refuses_what_is_not_a_bpf_object() -> None:
    with pytest.raises(LinkError, match="not an ELF object"):
        link(b"not an elf")
    with pytest.raises(LinkError, match="not a relocatable object"):
        link(reev_programs()[AMM_PROGRAM_ID])
