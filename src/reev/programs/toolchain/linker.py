"""reev's SBPF v0 linker: clang's relocatable BPF object in, a loadable Solana program out.

Solana's loader (solana-sbpf, "lenient" parser for SBPF v0) wants an ELF shared object
(`ET_DYN`, `EM_BPF`, `e_flags` 0) whose sections sit at a virtual address equal to their file
offset (strict deploys check it), with one `.text`, read-only data, and a dynamic section whose
`DT_REL` table lists every syscall site as an `R_BPF_64_32` relocation naming the syscall in
`.dynsym` (the loader hashes the name with murmur3 and patches the call). Everything else is
resolved here, at link time:

* calls between the program's own functions become PC-relative `call imm` (v0 registers every
  `call imm != -1` as a function, so no relocation is needed);
* addresses of read-only data become absolute: the loader maps `.text` and `.rodata` at
  `0x100000000 + file offset`, so `lddw` immediates and pointer tables get that value directly and
  need no dynamic relocation (the loader leaves absolute values alone);
* `callx` reads its register from the immediate in v0, not from the dst field clang writes;
* an input section's alignment is honoured: `.rodata` starts at a file offset (and so, the
  mapping base being 2^32, an address) that is a multiple of the largest alignment its inputs
  ask for, up to a page (4096 bytes); more is refused, and so is `.text` asking for more than 8
  (it starts right after the headers).

Refused, with an error naming what is wrong: writable data (`.data`, `.bss`; v0 has none), a
call to an unknown symbol (see `syscalls.SYSCALLS`), 32-bit ALU and jump instructions (clang
emits them only for other CPU versions, and v0's 32-bit semantics differ), and any opcode v0
does not execute (signed division, sign-extending loads, ...). The byte swaps `le`/`be` (BPF_END,
0xd4/0xdc with an immediate of 16, 32 or 64) share the 32-bit ALU class but are v0 instructions
(`__builtin_bswap*` compiles to them), so they are kept.

The output is a pure function of the object's bytes: no time stamps, no paths, no symbol table.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass, field

from elftools.elf.elffile import ELFFile
from elftools.elf.relocation import Relocation, RelocationSection
from elftools.elf.sections import Section, SymbolTableSection

from reev.errors import InputError
from reev.programs.toolchain.syscalls import SYSCALLS

MM_PROGRAM_START = 0x1_0000_0000  # where the loader maps .text and .rodata (v0)
INSN = 8
EM_BPF = 247

# BPF relocation types (llvm/BinaryFormat/ELFRelocs/BPF.def)
R_BPF_64_64 = 1  # lddw immediate
R_BPF_64_ABS64 = 2  # 64-bit data word
R_BPF_64_ABS32 = 3
R_BPF_64_NODYLD32 = 4  # debug info only
R_BPF_64_32 = 10  # call immediate

# Opcodes SBPF v0 executes (solana-sbpf ebpf.rs), 32-bit ALU excluded on purpose.
_ALU64 = {
    0x07, 0x0F, 0x17, 0x1F, 0x27, 0x2F, 0x37, 0x3F, 0x47, 0x4F, 0x57, 0x5F, 0x67, 0x6F,
    0x77, 0x7F, 0x87, 0x97, 0x9F, 0xA7, 0xAF, 0xB7, 0xBF, 0xC7, 0xCF,
}  # fmt: skip
_JMP = {
    0x05, 0x15, 0x1D, 0x25, 0x2D, 0x35, 0x3D, 0x45, 0x4D, 0x55, 0x5D, 0x65, 0x6D, 0x75,
    0x7D, 0xA5, 0xAD, 0xB5, 0xBD, 0xC5, 0xCD, 0xD5, 0xDD,
}  # fmt: skip
_MEM = {0x61, 0x69, 0x71, 0x79, 0x62, 0x6A, 0x72, 0x7A, 0x63, 0x6B, 0x73, 0x7B}
_DIV_MOD = {0x37, 0x3F, 0x97, 0x9F}
OP_LDDW, OP_CALL, OP_CALLX, OP_EXIT = 0x18, 0x85, 0x8D, 0x95
OP_LE, OP_BE = 0xD4, 0xDC  # BPF_END: byte swaps, in the ALU32 class but valid in v0
_END_WIDTHS = (16, 32, 64)
MAX_ALIGN = 4096  # the largest input-section alignment honoured (a page)
CLASS_ALU32, CLASS_JMP32 = 0x04, 0x06

SHT_PROGBITS, SHT_STRTAB, SHT_DYNAMIC, SHT_REL, SHT_DYNSYM, SHT_NOBITS = 1, 3, 6, 9, 11, 8
SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR = 0x1, 0x2, 0x4
PT_LOAD, PT_DYNAMIC = 1, 2
PF_X, PF_R = 1, 4
DT_NULL, DT_STRTAB, DT_SYMTAB, DT_STRSZ, DT_SYMENT = 0, 5, 6, 10, 11
DT_REL, DT_RELSZ, DT_RELENT = 17, 18, 19
STB_GLOBAL, STT_NOTYPE, STT_FUNC = 1, 0, 2

EHDR_SIZE, PHDR_SIZE, SHDR_SIZE, SYM_SIZE, REL_SIZE, DYN_SIZE = 64, 56, 64, 24, 16, 16
N_PHDRS = 3
ENTRYPOINT = "entrypoint"


class LinkError(InputError):
    """The object cannot become an SBPF v0 program; the message says why and where."""


def _align(value: int, alignment: int) -> int:
    return (value + alignment - 1) // alignment * alignment


@dataclass
class _Placed:
    """An input section copied into an output section at `offset` (bytes from its start)."""

    section: Section
    output: str  # ".text" or ".rodata"
    offset: int


@dataclass
class _Image:
    text: bytearray = field(default_factory=bytearray)
    rodata: bytearray = field(default_factory=bytearray)
    placed: dict[int, _Placed] = field(default_factory=dict)  # input section index -> placement
    rodata_align: int = INSN  # the largest alignment a .rodata input asks for

    def buffer(self, output: str) -> bytearray:
        return self.text if output == ".text" else self.rodata


def _is_ignored(section: Section) -> bool:
    """Sections with no bytes in the program: symbols, relocations, debug info, notes."""
    name = section.name
    return (
        not section["sh_flags"] & SHF_ALLOC
        or name.startswith((".debug", ".BTF", ".llvm", ".note", ".comment"))
        or section["sh_type"] in ("SHT_REL", "SHT_RELA", "SHT_SYMTAB", "SHT_STRTAB")
    )


def _collect(elf: ELFFile) -> _Image:
    image = _Image()
    for index, section in enumerate(elf.iter_sections()):
        if index == 0 or _is_ignored(section):
            continue
        flags = section["sh_flags"]
        size = section["sh_size"]
        if flags & SHF_WRITE or section["sh_type"] == "SHT_NOBITS":
            if size:
                raise LinkError(
                    f"section {section.name} is writable data ({size} bytes): SBPF v0 programs "
                    "have none; make it `static const` or keep the state in an account"
                )
            continue
        output = ".text" if flags & SHF_EXECINSTR else ".rodata"
        buffer = image.buffer(output)
        alignment = max(int(section["sh_addralign"]), 1)
        limit = INSN if output == ".text" else MAX_ALIGN
        if alignment > limit or alignment & (alignment - 1):
            raise LinkError(
                f"section {section.name} wants alignment {alignment}: reev's linker places "
                f"{output} inputs at power-of-two alignments of at most {limit} bytes"
            )
        if output == ".rodata":
            image.rodata_align = max(image.rodata_align, alignment)
        buffer.extend(b"\0" * (_align(len(buffer), alignment) - len(buffer)))
        image.placed[index] = _Placed(section, output, len(buffer))
        buffer.extend(section.data())
    if not image.text:
        raise LinkError("the object has no code (.text is empty)")
    return image


class _Linker:
    def __init__(self, obj: bytes) -> None:
        try:
            self.elf = ELFFile(io.BytesIO(obj))
        except Exception as error:  # pyelftools raises its own ELFError and struct errors
            raise LinkError(f"not an ELF object: {error}") from error
        header = self.elf.header
        if self.elf.elfclass != 64 or not self.elf.little_endian:
            raise LinkError(
                "the object is not a 64-bit little-endian ELF (compile with -target bpfel)"
            )
        if header["e_machine"] not in ("EM_BPF", EM_BPF):
            raise LinkError(f"the object is for {header['e_machine']}, not BPF")
        if header["e_type"] != "ET_REL":
            raise LinkError(
                f"the object is {header['e_type']}, not a relocatable object (clang -c)"
            )
        self.image = _collect(self.elf)
        symtab = self.elf.get_section_by_name(".symtab")
        if not isinstance(symtab, SymbolTableSection):
            raise LinkError("the object has no symbol table")
        self.symtab = symtab
        self.syscall_sites: list[tuple[int, str]] = []  # (offset in .text, syscall name)

    # -- addresses ------------------------------------------------------------------------

    def _symbol_address(self, index: int, text_at: int, rodata_at: int) -> tuple[str, int]:
        """(output section, file offset) of a defined symbol."""
        symbol = self.symtab.get_symbol(index)
        shndx = symbol["st_shndx"]
        if not isinstance(shndx, int) or shndx not in self.image.placed:
            raise LinkError(
                f"symbol {symbol.name or index!r} is in a section the program does not keep"
            )
        placed = self.image.placed[shndx]
        base = text_at if placed.output == ".text" else rodata_at
        return placed.output, base + placed.offset + int(symbol["st_value"])

    def _entry(self, text_at: int) -> int:
        for symbol in self.symtab.iter_symbols():
            if symbol.name == ENTRYPOINT and symbol["st_shndx"] != "SHN_UNDEF":
                index = symbol["st_shndx"]
                placed = self.image.placed.get(index) if isinstance(index, int) else None
                if placed is None or placed.output != ".text":
                    raise LinkError(f"`{ENTRYPOINT}` is not a function in .text")
                return text_at + placed.offset + int(symbol["st_value"])
        raise LinkError(f"the program defines no `{ENTRYPOINT}` function")

    # -- relocations ----------------------------------------------------------------------

    def _relocate(self, text_at: int, rodata_at: int) -> None:
        for section in self.elf.iter_sections():
            if not isinstance(section, RelocationSection):
                continue
            target = self.image.placed.get(section["sh_info"])
            if target is None:
                continue  # relocations of debug info and other dropped sections
            if section.is_RELA():
                raise LinkError(f"{section.name}: RELA relocations are not produced for BPF")
            for relocation in section.iter_relocations():
                self._apply(target, relocation, text_at, rodata_at)

    def _apply(self, target: _Placed, relocation: Relocation, text_at: int, rodata_at: int) -> None:
        kind = relocation["r_info_type"]
        sym_index = relocation["r_info_sym"]
        where = target.offset + int(relocation["r_offset"])
        buffer = self.image.buffer(target.output)
        symbol = self.symtab.get_symbol(sym_index)
        undefined = symbol["st_shndx"] == "SHN_UNDEF"
        site = f"{target.section.name}+{int(relocation['r_offset']):#x}"
        if target.output == ".text" and kind == R_BPF_64_32:
            if buffer[where] != OP_CALL:
                raise LinkError(f"{site}: R_BPF_64_32 on a non-call instruction")
            if undefined:
                if symbol.name not in SYSCALLS:
                    raise LinkError(
                        f"{site}: call to unknown function {symbol.name!r}: not defined in the "
                        "program and not a syscall reev knows (reev.programs.toolchain.syscalls; "
                        "use sol_memcpy_/sol_memset_ instead of memcpy/memset)"
                    )
                buffer[where + 1] &= 0x0F  # src 0: a syscall, as Solana's toolchain writes it
                struct.pack_into("<i", buffer, where + 4, -1)
                self.syscall_sites.append((where, symbol.name))
                return
            output, address = self._symbol_address(sym_index, text_at, rodata_at)
            (imm,) = struct.unpack_from("<i", buffer, where + 4)
            destination = address + (imm + 1) * INSN
            if output != ".text" or (destination - text_at) % INSN:
                raise LinkError(f"{site}: call target {symbol.name!r} is not an instruction")
            pc = (text_at + where) // INSN
            struct.pack_into("<i", buffer, where + 4, destination // INSN - pc - 1)
            return
        if undefined:
            raise LinkError(f"{site}: reference to undefined data symbol {symbol.name!r}")
        _, address = self._symbol_address(sym_index, text_at, rodata_at)
        if target.output == ".text" and kind == R_BPF_64_64:
            if buffer[where] != OP_LDDW:
                raise LinkError(f"{site}: R_BPF_64_64 on a non-lddw instruction")
            (addend,) = struct.unpack_from("<I", buffer, where + 4)
            value = MM_PROGRAM_START + address + addend
            struct.pack_into("<I", buffer, where + 4, value & 0xFFFF_FFFF)
            struct.pack_into("<I", buffer, where + 12, value >> 32)
        elif target.output == ".rodata" and kind == R_BPF_64_ABS64:
            (addend,) = struct.unpack_from("<Q", buffer, where)
            struct.pack_into("<Q", buffer, where, MM_PROGRAM_START + address + addend)
        else:
            raise LinkError(
                f"{site}: relocation type {kind} against {symbol.name!r} is not supported "
                "(32-bit data addresses cannot hold a program address)"
            )

    # -- instruction checks ---------------------------------------------------------------

    def _check_instructions(self) -> None:
        text = self.image.text
        pc = 0
        count = len(text) // INSN
        if len(text) % INSN:
            raise LinkError(".text is not a whole number of instructions")
        while pc < count:
            at = pc * INSN
            op = text[at]
            where = f".text instruction {pc} (opcode {op:#04x})"
            if op in (OP_LE, OP_BE):
                width = struct.unpack_from("<i", text, at + 4)[0]
                if width not in _END_WIDTHS:
                    raise LinkError(f"{where}: byte swap of width {width} (16, 32 or 64)")
                pc += 1
                continue
            if op & 0x07 == CLASS_ALU32:
                raise LinkError(
                    f"{where}: 32-bit ALU instruction; compile with -mcpu=v2 (no alu32)"
                )
            if op & 0x07 == CLASS_JMP32:
                raise LinkError(f"{where}: 32-bit jump; compile with -mcpu=v2 (v3 emits them)")
            if op == OP_LDDW:
                if pc + 1 >= count or text[at + INSN] != 0:
                    raise LinkError(f"{where}: lddw without its second half")
                pc += 2
                continue
            if op in _DIV_MOD and struct.unpack_from("<h", text, at + 2)[0] != 0:
                raise LinkError(f"{where}: signed division/modulo (SBPF v0 has only unsigned)")
            if op == OP_CALLX:
                register = text[at + 1] & 0x0F
                # v0 takes callx's register from the immediate; clang writes it in dst
                text[at + 1] &= 0xF0
                struct.pack_into("<i", text, at + 4, register)
            elif (
                op not in _ALU64
                and op not in _JMP
                and op not in _MEM
                and op not in (OP_CALL, OP_EXIT)
            ):
                raise LinkError(f"{where}: not an SBPF v0 instruction")
            pc += 1

    # -- output ---------------------------------------------------------------------------

    def link(self) -> bytes:
        # .text and .rodata come first, so relocating needs only their places; the dynamic
        # tables after them are sized by the syscalls relocation finds.
        text_at = EHDR_SIZE + N_PHDRS * PHDR_SIZE
        rodata_at = _align(text_at + len(self.image.text), self.image.rodata_align)
        self._relocate(text_at, rodata_at)
        self._check_instructions()
        names = sorted({name for _, name in self.syscall_sites})
        dynstr = bytearray(b"\0")
        name_offsets: dict[str, int] = {}
        for name in [ENTRYPOINT, *names]:
            name_offsets[name] = len(dynstr)
            dynstr.extend(name.encode() + b"\0")
        n_dynsym = 2 + len(names)  # null, entrypoint, syscalls
        n_dyn = 8 if self.syscall_sites else 5
        dynamic_at = _align(rodata_at + len(self.image.rodata), 8)
        dynsym_at = dynamic_at + n_dyn * DYN_SIZE
        dynstr_at = dynsym_at + n_dynsym * SYM_SIZE
        rel_at = _align(dynstr_at + len(dynstr), 8)
        shstrtab_at = rel_at + len(self.syscall_sites) * REL_SIZE
        section_names = [
            ".text",
            ".rodata",
            ".dynamic",
            ".dynsym",
            ".dynstr",
            ".rel.dyn",
            ".shstrtab",
        ]
        shstrtab = bytearray(b"\0")
        sh_name: dict[str, int] = {}
        for name in section_names:
            sh_name[name] = len(shstrtab)
            shstrtab.extend(name.encode() + b"\0")
        shdrs_at = _align(shstrtab_at + len(shstrtab), 8)
        entry = self._entry(text_at)

        symbol_index = {name: 2 + i for i, name in enumerate(names)}
        dynsym = bytearray(SYM_SIZE)  # the null symbol
        dynsym += struct.pack(
            "<IBBHQQ", name_offsets[ENTRYPOINT], (STB_GLOBAL << 4) | STT_FUNC, 0, 1, entry, 0
        )
        for name in names:
            dynsym += struct.pack(
                "<IBBHQQ", name_offsets[name], (STB_GLOBAL << 4) | STT_NOTYPE, 0, 0, 0, 0
            )
        rel_dyn = bytearray()
        for where, name in sorted(self.syscall_sites):
            rel_dyn += struct.pack("<QQ", text_at + where, (symbol_index[name] << 32) | R_BPF_64_32)
        dynamic = bytearray()
        entries = [
            (DT_SYMTAB, dynsym_at),
            (DT_STRTAB, dynstr_at),
            (DT_STRSZ, len(dynstr)),
            (DT_SYMENT, SYM_SIZE),
        ]
        if self.syscall_sites:
            entries += [(DT_REL, rel_at), (DT_RELSZ, len(rel_dyn)), (DT_RELENT, REL_SIZE)]
        entries.append((DT_NULL, 0))
        for tag, value in entries:
            dynamic += struct.pack("<qQ", tag, value)
        assert len(dynamic) == n_dyn * DYN_SIZE

        out = bytearray(shdrs_at + (len(section_names) + 1) * SHDR_SIZE)
        ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)  # 64-bit, LE, version 1, System V ABI
        struct.pack_into(
            "<16sHHIQQQIHHHHHH", out, 0, ident, 3, EM_BPF, 1, entry, EHDR_SIZE, shdrs_at, 0,
            EHDR_SIZE, PHDR_SIZE, N_PHDRS, SHDR_SIZE, len(section_names) + 1, len(section_names),
        )  # fmt: skip
        ro_end = shstrtab_at  # .rodata and the dynamic tables: one read-only segment
        phdrs = [
            (PT_LOAD, PF_R | PF_X, text_at, len(self.image.text)),
            (PT_LOAD, PF_R, rodata_at, ro_end - rodata_at),
            (PT_DYNAMIC, PF_R, dynamic_at, len(dynamic)),
        ]
        for i, (kind, flags, at, size) in enumerate(phdrs):
            struct.pack_into(
                "<IIQQQQQQ", out, EHDR_SIZE + i * PHDR_SIZE, kind, flags, at, at, at, size, size, 8
            )
        for at, data in (
            (text_at, self.image.text),
            (rodata_at, self.image.rodata),
            (dynamic_at, dynamic),
            (dynsym_at, dynsym),
            (dynstr_at, dynstr),
            (rel_at, rel_dyn),
            (shstrtab_at, shstrtab),
        ):
            out[at : at + len(data)] = data
        index = {name: i + 1 for i, name in enumerate(section_names)}
        sections = [
            (
                ".text",
                SHT_PROGBITS,
                SHF_ALLOC | SHF_EXECINSTR,
                text_at,
                len(self.image.text),
                0,
                0,
                8,
                0,
            ),
            (
                ".rodata",
                SHT_PROGBITS,
                SHF_ALLOC,
                rodata_at,
                len(self.image.rodata),
                0,
                0,
                self.image.rodata_align,
                0,
            ),
            (
                ".dynamic",
                SHT_DYNAMIC,
                SHF_ALLOC,
                dynamic_at,
                len(dynamic),
                index[".dynstr"],
                0,
                8,
                DYN_SIZE,
            ),
            (
                ".dynsym",
                SHT_DYNSYM,
                SHF_ALLOC,
                dynsym_at,
                len(dynsym),
                index[".dynstr"],
                1,
                8,
                SYM_SIZE,
            ),
            (".dynstr", SHT_STRTAB, SHF_ALLOC, dynstr_at, len(dynstr), 0, 0, 1, 0),
            (
                ".rel.dyn",
                SHT_REL,
                SHF_ALLOC,
                rel_at,
                len(rel_dyn),
                index[".dynsym"],
                0,
                8,
                REL_SIZE,
            ),
            (".shstrtab", SHT_STRTAB, 0, shstrtab_at, len(shstrtab), 0, 0, 1, 0),
        ]
        for i, (name, kind, flags, at, size, link, info, align, entsize) in enumerate(sections):
            address = at if flags & SHF_ALLOC else 0
            struct.pack_into(
                "<IIQQQQIIQQ", out, shdrs_at + (i + 1) * SHDR_SIZE,
                sh_name[name], kind, flags, address, at, size, link, info, align, entsize,
            )  # fmt: skip
        return bytes(out)


def link(obj: bytes) -> bytes:
    """Link one relocatable BPF object (clang-19 -c) into an SBPF v0 program. Raises LinkError."""
    return _Linker(obj).link()
