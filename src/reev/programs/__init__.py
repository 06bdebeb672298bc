"""reev's own on-chain programs: real SBPF programs at fixed ids, loaded into every chain.

The C sources live beside this file (`<name>/<name>.c`, with the SDK in `sdk/`); the built ELF
files are committed in `bin/` so running reev needs no compiler. `make programs` (or
`python -m reev.programs.toolchain.build`) rebuilds them; docs/programs.md documents the
interfaces.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from solders.litesvm import LiteSVM
from solders.pubkey import Pubkey

AMM_PROGRAM_ID: Pubkey = Pubkey.from_string("ReevAmm111111111111111111111111111111111111")

# program id -> the name of its ELF file in bin/ (and of its source folder)
_PROGRAMS: dict[Pubkey, str] = {AMM_PROGRAM_ID: "amm"}


@cache
def _elf(name: str) -> bytes:
    return files(__package__).joinpath("bin", f"{name}.so").read_bytes()


def reev_programs() -> dict[Pubkey, bytes]:
    """Program id -> ELF bytes of every committed program."""
    return {program_id: _elf(name) for program_id, name in _PROGRAMS.items()}


def load_programs(svm: LiteSVM) -> None:
    """Add every reev program to a LiteSVM at its fixed id (as LiteSVM adds its own programs:
    without the upgradeable loader's deploy checks, which tests/programs run separately)."""
    for program_id, elf in reev_programs().items():
        svm.add_program(program_id, elf)
