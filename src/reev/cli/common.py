"""What the commands share: the consoles, the exit codes, and loading benchmarks, session files
and chains with an error message (and exit code 2) instead of a traceback.

Heavy modules are imported inside the functions: `reev --help` stays fast.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console

from reev.cli.options import ChainKind
from reev.errors import ExitCode

if TYPE_CHECKING:
    from reev.chain.fork import AccountSource
    from reev.chain.protocol import Chain
    from reev.runner.session import SessionFile
    from reev.spec.loader import Diagnostic, LoadedBenchmark

console = Console()
err_console = Console(stderr=True)

EXIT_OK, EXIT_RUN_FAILED, EXIT_INVALID, EXIT_FAIL_UNDER = list(ExitCode)  # reev.errors


def print_diagnostics(diagnostics: Iterable[Diagnostic]) -> None:
    for d in diagnostics:
        style = "yellow" if d.severity == "warning" else "red"
        err_console.print(str(d), style=style, markup=False, highlight=False, soft_wrap=True)


def load(paths: list[Path], strict: bool, tags: str | None = None) -> list[LoadedBenchmark]:
    """The benchmarks of files and folders (warnings printed); exits 2 on any error or when
    nothing is left after the tag filter."""
    from reev.spec import load_many

    loaded, errors = load_many(paths, strict=strict)
    print_diagnostics([w for item in loaded for w in item.warnings])
    if errors:
        print_diagnostics(errors)
        raise typer.Exit(EXIT_INVALID)
    if tags:
        wanted = {t.strip() for t in tags.split(",") if t.strip()}
        loaded = [item for item in loaded if wanted <= set(item.benchmark.tags)]
    if not loaded:
        where = ", ".join(str(p) for p in paths)
        fail(f"no benchmarks found in {where}" + (f" with tags {tags}" if tags else ""))
    return loaded


FORK_TAG = "fork"


def require_fork_source(loaded: list[LoadedBenchmark], source: AccountSource | None) -> None:
    """A benchmark tagged `fork` names upstream programs and accounts nobody declares: on the
    bare embedded chain every transaction fails and it would score as if the agent were wrong.
    Refuse it (exit 2) naming the options that supply the accounts."""
    if source is not None:
        return
    forks = [item for item in loaded if FORK_TAG in item.benchmark.tags]
    for item in forks:
        err_console.print(
            f"{item.path}: {item.benchmark.id} is a fork benchmark (tag {FORK_TAG}): it needs "
            "upstream accounts; replay them with --snapshot DIR, or record them with "
            "--fork-url URL --snapshot DIR",
            style="red",
            markup=False,
            soft_wrap=True,
        )
    if forks:
        raise typer.Exit(EXIT_INVALID)


def session_or_exit(session_file: Path) -> SessionFile:
    from pydantic import ValidationError

    from reev.runner import read_session

    try:
        return read_session(session_file)
    except FileNotFoundError:
        fail(f"{session_file}: no such file")
    except IsADirectoryError:
        fail(f"{session_file}: a directory, not a session file")
    except OSError as exc:  # unreadable: permissions, a device, …
        fail(f"{session_file}: cannot read: {exc.strerror or exc}")
    except ValidationError as exc:
        fail(f"{session_file}: not a reev session file: {exc.errors()[0]['msg']}")


def fail(message: str, code: int = EXIT_INVALID) -> NoReturn:
    """Print `message` as one red line on stderr (never wrapped: a log or CI reads it whole)
    and exit with `code` (bad input, 2, unless told)."""
    err_console.print(message, style="red", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def account_source(
    fork_url: str | None, snapshot: Path | None, chain: ChainKind = ChainKind.LITESVM
) -> AccountSource | None:
    """The fork's account source for --fork-url / --snapshot (None: no fork)."""
    if fork_url is None and snapshot is None:
        return None
    if chain is not ChainKind.LITESVM:
        err_console.print(
            "--fork-url and --snapshot fork the embedded chain: not with --chain rpc", style="red"
        )
        raise typer.Exit(EXIT_INVALID)
    if snapshot is None:
        err_console.print(
            "--fork-url records the accounts it fetches: add --snapshot DIR", style="red"
        )
        raise typer.Exit(EXIT_INVALID)
    if fork_url is not None:
        from urllib.parse import urlsplit

        try:
            parts = urlsplit(fork_url)
            valid = (
                parts.scheme in ("http", "https") and bool(parts.hostname) and (parts.port or 1) > 0
            )
        except ValueError:  # a port that is not a number, or out of range
            valid = False
        if not valid:
            err_console.print(
                "--fork-url must be an http(s) URL of a Solana JSON-RPC endpoint", style="red"
            )
            raise typer.Exit(EXIT_INVALID)
    elif not snapshot.is_dir():
        err_console.print(
            f"snapshot {snapshot} does not exist: record one with --fork-url URL --snapshot {snapshot}",
            style="red",
            markup=False,
        )
        raise typer.Exit(EXIT_INVALID)
    from reev.chain.fork import AccountSource

    return AccountSource(snapshot, fork_url)


def chain_factory(
    chain: ChainKind,
    rpc_url: str | None,
    max_concurrency: int,
    source: AccountSource | None = None,
) -> Callable[[], Chain]:
    """A pristine chain per episode: the embedded LiteSVM (a reused VM from the process's
    pool; a fresh VM when forked from `source`) or a remote RPC chain, reset per episode."""
    from reev.chain.litesvm import LiteSVMChain, pooled_chain

    if chain is ChainKind.LITESVM:
        return pooled_chain if source is None else (lambda: LiteSVMChain(source))
    if not rpc_url:
        err_console.print("--chain rpc needs --rpc-url", style="red")
        raise typer.Exit(EXIT_INVALID)
    if max_concurrency != 1:
        err_console.print(
            "--chain rpc resets the remote chain per episode: use --max-concurrency 1", style="red"
        )
        raise typer.Exit(EXIT_INVALID)
    from reev.chain.rpc_backend import RpcChain

    return lambda: RpcChain(rpc_url, reset=True)
