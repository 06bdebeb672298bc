"""Build reev's on-chain programs: `python -m reev.programs.toolchain.build [--check]`.

Every folder of `src/reev/programs/` holding `<name>.c` is one program: clang-19 compiles that one
translation unit (it includes the SDK header) to a relocatable BPF object, reev's linker turns it
into `bin/<name>.so`. `--check` builds into memory and fails when a committed file differs, which
is what the reproducibility test and CI run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from reev.errors import InfrastructureError
from reev.programs.toolchain.linker import LinkError, link

PROGRAMS_DIR = Path(__file__).resolve().parent.parent
SDK_DIR = PROGRAMS_DIR / "sdk"
BIN_DIR = PROGRAMS_DIR / "bin"
CLANG = "clang-19"
CFLAGS = (
    "-target", "bpfel", "-mcpu=v2", "-O2", "-ffreestanding", "-fno-builtin", "-nostdlib",
    "-fno-stack-protector", "-Wall", "-Werror", "-mllvm", "-bpf-stack-size=4096",
)  # fmt: skip


class BuildError(InfrastructureError):
    """A program did not compile or link; the message names the program and the cause."""


@dataclass(frozen=True)
class Program:
    name: str
    source: Path

    @property
    def output(self) -> Path:
        return BIN_DIR / f"{self.name}.so"


def programs() -> list[Program]:
    """Every program source, sorted by name: `<dir>/<dir>.c` under src/reev/programs/."""
    found = []
    for folder in sorted(PROGRAMS_DIR.iterdir()):
        source = folder / f"{folder.name}.c"
        if folder.is_dir() and source.is_file():
            found.append(Program(folder.name, source))
    return found


def find_clang() -> str | None:
    """clang-19 from $REEV_CLANG (a name or a path; None when it does not exist), else from PATH
    or /usr/bin (Debian's package)."""
    explicit = os.environ.get("REEV_CLANG")
    if explicit:
        return shutil.which(explicit)
    return shutil.which(CLANG) or shutil.which(f"/usr/bin/{CLANG}")


def compile_object(source: Path, clang: str) -> bytes:
    """clang -c: the source's relocatable BPF object. The compiler runs in the source's folder
    with relative paths so that nothing about the machine reaches the object."""
    with tempfile.TemporaryDirectory(prefix="reev-build-") as tmp:
        obj = Path(tmp) / f"{source.stem}.o"
        command = [
            clang,
            *CFLAGS,
            "-I",
            os.path.relpath(SDK_DIR, source.parent),
            "-c",
            source.name,
            "-o",
            str(obj),
        ]
        result = subprocess.run(
            command, cwd=source.parent, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise BuildError(f"{source.name}: clang failed:\n{result.stderr.strip()}")
        return obj.read_bytes()


def build(program: Program, clang: str) -> bytes:
    """The program's .so bytes."""
    try:
        return link(compile_object(program.source, clang))
    except LinkError as error:
        raise BuildError(f"{program.source.name}: {error}") from error


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m reev.programs.toolchain.build", description=__doc__
    )
    parser.add_argument(
        "--check", action="store_true", help="compare with the committed .so files; write nothing"
    )
    args = parser.parse_args(argv)
    clang = find_clang()
    if clang is None:
        print(
            f"{CLANG} not found (Debian: apt-get install {CLANG}; or set REEV_CLANG)",
            file=sys.stderr,
        )
        return 2
    stale = []
    for program in programs():
        try:
            elf = build(program, clang)
        except BuildError as error:
            print(error, file=sys.stderr)
            return 1
        if args.check:
            committed = program.output.read_bytes() if program.output.exists() else None
            status = "ok" if committed == elf else "DIFFERS"
            if committed != elf:
                stale.append(program.name)
        else:
            BIN_DIR.mkdir(exist_ok=True)
            program.output.write_bytes(elf)
            status = "written"
        print(
            f"{program.name}: {len(elf)} bytes, {status} ({program.output.relative_to(PROGRAMS_DIR.parent.parent.parent)})"
        )
    if stale:
        print(f"stale: {', '.join(stale)}; run `make programs` and commit bin/", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
