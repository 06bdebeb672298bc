"""The syscalls a reev program may call.

The loader resolves a syscall by the murmur3 hash of its name; a name it does not know loads with
`add_program` and fails only when the call runs, and a strict deploy refuses it. The linker refuses
any name outside this list, so a misspelt syscall is a build error instead. The list is the subset
of Agave's syscalls every cluster registers (no feature-gated ones, no `sol_alloc_free_`, which
deploys refuse).
"""

from __future__ import annotations

SYSCALLS: frozenset[str] = frozenset(
    {
        "abort",
        "sol_panic_",
        "sol_log_",
        "sol_log_64_",
        "sol_log_compute_units_",
        "sol_log_pubkey",
        "sol_log_data",
        "sol_create_program_address",
        "sol_try_find_program_address",
        "sol_sha256",
        "sol_keccak256",
        "sol_memcpy_",
        "sol_memmove_",
        "sol_memcmp_",
        "sol_memset_",
        "sol_invoke_signed_c",
        "sol_set_return_data",
        "sol_get_return_data",
        "sol_get_clock_sysvar",
        "sol_get_rent_sysvar",
        "sol_get_epoch_schedule_sysvar",
        "sol_get_stack_height",
        "sol_remaining_compute_units",
    }
)
