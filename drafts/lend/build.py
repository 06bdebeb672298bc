"""Build the draft lend.c with the project's toolchain into drafts/lend/lend.so (not under
src/reev/programs, so the real build never sees it)."""

from __future__ import annotations

import sys
from pathlib import Path

from reev.programs.toolchain.build import BuildError, Program, build, find_clang

HERE = Path(__file__).resolve().parent


def main() -> int:
    clang = find_clang()
    if clang is None:
        print("clang-19 not found", file=sys.stderr)
        return 2
    try:
        elf = build(Program("lend", HERE / "lend.c"), clang)
    except BuildError as error:
        print(error, file=sys.stderr)
        return 1
    (HERE / "lend.so").write_bytes(elf)
    print(f"lend: {len(elf)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
