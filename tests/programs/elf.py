"""Reading the ELF files the linker writes (the toolchain tests share it)."""

from __future__ import annotations

from typing import Any

from elftools.elf.elffile import ELFFile


def section(elf: ELFFile, name: str) -> Any:
    """A section the ELF must have (pyelftools types sections loosely)."""
    found = elf.get_section_by_name(name)
    assert found is not None, f"no {name} section"
    return found
