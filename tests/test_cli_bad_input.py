"""Every `reev` command on bad input ends with a one-line error and its documented exit code,
never a traceback (issue 17, item 2).

The cases are derived from the Typer app: each command's path arguments get a missing file, an
empty directory and a truncated session JSON; its URL, port and database options get a dead
endpoint, a port in use and a URL that is no URL. A new command or option is covered without
editing this file; a command none of the rules reaches must be listed in `NO_BAD_INPUT` with
the reason. Exit codes as docs/session.md states them: 2 invalid input, 1 a run (or the
infrastructure it needs) failed.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

import pytest
import typer

from helpers.api_server import clean_env
from helpers.paths import BENCHMARKS, TESTS, subprocess_env
from reev.cli import app
from reev.errors import ExitCode

pytestmark = pytest.mark.slow

DEAD_URL = "http://127.0.0.1:1"  # port 1: nothing listens, the connection is refused at once
BENCHMARK = BENCHMARKS / "001-sol-transfer.yml"
FORK_BENCHMARK = TESTS / "fork" / "fork-001-upstream-programs.yml"  # needs upstream accounts

# Commands no rule below applies to, and why.
NO_BAD_INPUT = {
    ("agents",): "takes no input",
    ("runs",): "lists the runs of --log-dir: a directory without runs is an empty list",
}
# (command, option) pairs a rule would apply to but that cannot fail at start, and why.
NOT_AT_START = {
    (("chain", "serve"), "--fork-url"): "accounts are fetched when an agent asks for them: "
    "an unreachable upstream is the agent's RPC error, while the server keeps serving",
    (("tui",), "--base-url"): "used by episodes started inside the interactive app",
    (("tui",), "--db"): "used when an episode started inside the interactive app is recorded",
    (("retry",), "--db"): "opened once the run to retry is found, which needs a run directory: "
    "tests/test_runs_record.py gives a bad --db to a real run's retry",
}
# What a command needs besides the bad value for the value to be used at all.
# `reev run` takes no benchmark with --resume, so its paths are optional: its rules name one.
NEEDS: dict[tuple[tuple[str, ...], str], list[str]] = {
    (("run",), "--rpc-url"): [str(BENCHMARK), "--chain", "rpc"],
    (("run",), "--db"): [str(BENCHMARK), "--record"],
    (("run",), "--base-url"): [str(BENCHMARK), "--agent", "openai/gpt-4o"],
    (("mcp", "serve"), "--port"): ["--http"],  # stdio (the default) listens on no port
}


@dataclass
class Case:
    command: tuple[str, ...]
    args: list[str]
    exit_code: ExitCode
    names: str  # the error line names this (the bad path, URL, port or database)
    id: str = field(default="")


def commands(group: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """(name path, command) of every leaf command: Typer's groups have `commands`."""
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            yield from commands(command, (*prefix, name))
        else:
            yield (*prefix, name), command


COMMANDS = dict(commands(typer.main.get_command(app)))


def option_names(command: Any) -> set[str]:
    return {o for p in command.params if p.param_type_name == "option" for o in p.opts}


def path_arguments(command: Any) -> list[Any]:
    """The positional arguments typed `Path` (or a list of them, or an optional one)."""
    found = []
    for p in command.params:
        annotation = p.type_descriptor.annotation
        if p.param_type_name == "argument" and Path in (annotation, *get_args(annotation)):
            found.append(p)
    return found


def cases_for(path: tuple[str, ...], command: Any, tmp: Path, busy_port: int) -> list[Case]:
    """The bad inputs that apply to `command` (files under `tmp`; `busy_port` has a listener)."""
    cases: list[Case] = []
    if path_arguments(command):
        empty = tmp / "empty"
        truncated = tmp / "session_truncated.json"
        missing = tmp / "missing.json"
        for label, value in (("directory", empty), ("truncated", truncated), ("missing", missing)):
            cases.append(Case(path, [str(value)], ExitCode.INVALID, str(value), label))
    # A bad option value goes with a valid positional argument, so the option is what fails.
    needs_benchmark = any(p.required for p in path_arguments(command))
    positional = [str(BENCHMARK)] if needs_benchmark else []
    options = option_names(command)
    rules: list[tuple[str, list[str], ExitCode, str, list[str] | None]] = [
        ("--rpc-url", [DEAD_URL], ExitCode.RUN_FAILED, f"no answer from {DEAD_URL}", None),
        # A dead model endpoint is found before the first episode (issue 19): bad input.
        ("--base-url", [DEAD_URL], ExitCode.INVALID, "connection", None),
        (
            "--fork-url",
            [DEAD_URL, "--snapshot", str(tmp / "snapshot")],
            ExitCode.RUN_FAILED,
            f"no answer from {DEAD_URL}",
            [str(FORK_BENCHMARK)],
        ),
        ("--port", [str(busy_port)], ExitCode.RUN_FAILED, str(busy_port), None),
        ("--db", ["not-a-database-url"], ExitCode.INVALID, "not-a-database-url", None),
        ("--db", [f"sqlite:///{tmp / 'empty'}"], ExitCode.RUN_FAILED, str(tmp / "empty"), None),
    ]
    for option, values, code, names, own_positional in rules:
        if option not in options or (path, option) in NOT_AT_START:
            continue
        args = [
            *(own_positional if own_positional is not None else positional),
            *NEEDS.get((path, option), []),
            option,
            *values,
        ]
        cases.append(Case(path, args, code, names, f"{option}={values[0]}"))
    for case in cases:
        case.id = f"{' '.join(path)} {case.id}"
    return cases


@pytest.fixture(scope="module")
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("bad")
    (tmp / "empty").mkdir()
    (tmp / "session_truncated.json").write_text('{"execution_id": "abc", "steps": [', "utf-8")
    return tmp


def test_every_command_has_a_bad_input(bad_files: Path) -> None:
    uncovered = [
        " ".join(path)
        for path, command in COMMANDS.items()
        if not cases_for(path, command, bad_files, 1) and path not in NO_BAD_INPUT
    ]
    assert uncovered == []
    assert set(NO_BAD_INPUT) <= set(COMMANDS)
    assert {path for path, _ in NOT_AT_START} <= set(COMMANDS)


# Collected before the fixtures exist: (command, index of its case) with the case's id; each
# test builds its command's cases again on the real files and port.
CASES = [
    pytest.param(path, index, id=case.id)
    for path, command in COMMANDS.items()
    for index, case in enumerate(cases_for(path, command, Path("/nonexistent"), 1))
]


@pytest.mark.parametrize(("path", "index"), CASES)
def test_bad_input_is_one_line_and_its_exit_code(
    path: tuple[str, ...], index: int, bad_files: Path, busy_port: int, tmp_path: Path
) -> None:
    case = cases_for(path, COMMANDS[path], bad_files, busy_port)[index]
    # No key or database of the caller's leaks in; the same `reev` is imported.
    env = clean_env(OPENAI_API_KEY="unused-the-endpoint-is-dead")
    env["PYTHONPATH"] = subprocess_env()["PYTHONPATH"]
    done = subprocess.run(
        [sys.executable, "-m", "reev.cli", *case.command, *case.args],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={**env, "COLUMNS": "80", "REEV_LOG_DIR": str(tmp_path / "logs")},
        stdin=subprocess.DEVNULL,
    )
    assert "Traceback" not in done.stderr, done.stderr
    naming = [line for line in done.stderr.splitlines() if case.names in line]
    assert len(naming) == 1, done.stderr
    assert done.returncode == case.exit_code, done.stderr
