"""A real PostgreSQL for tests: started on a free loopback port in a temporary directory (unix
sockets there too), stopped at the end. PostgreSQL refuses to run as root, so as root the server
runs as the `postgres` user (`runuser -u postgres --`). `make test` and `.ci/run` install
Debian's `postgresql` when `initdb` is missing; without it these tests fail, never skip.

Use the `postgres` fixture by importing it into the test module
(`from helpers.postgres import postgres`), then `postgres.create_database()` per test.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import psycopg
import pytest

from helpers.api_server import free_port


def pg_binary(name: str) -> str:
    """`initdb`/`pg_ctl` from PATH or from Debian's /usr/lib/postgresql/<version>/bin (newest)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0,
    )
    if candidates:
        return candidates[-1]
    pytest.fail(
        f"{name} not found: these tests need a PostgreSQL server. Install Debian's postgresql "
        f"(`make postgres`, which `make test` and .ci/run call) and run them again."
    )


class PostgresServer:
    def __init__(self) -> None:
        self.initdb, self.pg_ctl = pg_binary("initdb"), pg_binary("pg_ctl")
        self.as_root = os.geteuid() == 0
        self.prefix = ["runuser", "-u", "postgres", "--"] if self.as_root else []
        self.dir = Path(
            tempfile.mkdtemp(prefix="reev-pg-")
        )  # not under pytest's 0700 root-only tree
        self.data = self.dir / "data"
        self.port = free_port()

    def _run(self, *command: str) -> None:
        result = subprocess.run(
            [*self.prefix, *command],
            check=False,
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )
        if result.returncode != 0:
            log = (
                (self.dir / "postgres.log").read_text(errors="replace")
                if (self.dir / "postgres.log").exists()
                else ""
            )
            raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}{log}")

    def start(self) -> PostgresServer:
        if self.as_root:
            try:
                user = pwd.getpwnam("postgres")
            except KeyError:
                pytest.fail(
                    "running as root needs the `postgres` user (Debian's postgresql package creates it)"
                )
            os.chown(self.dir, user.pw_uid, user.pw_gid)
        self._run(
            self.initdb,
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        options = (
            f"-p {self.port} -h 127.0.0.1 -k {self.dir} -c fsync=off -c synchronous_commit=off"
        )
        self._run(
            self.pg_ctl,
            "-D",
            str(self.data),
            "-l",
            str(self.dir / "postgres.log"),
            "-w",
            "-t",
            "60",
            "-o",
            options,
            "start",
        )
        return self

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run(self.pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def create_database(self) -> str:
        name = f"reev_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"


@pytest.fixture(scope="session")
def postgres():
    server = PostgresServer()
    try:
        yield server.start()
    finally:
        server.stop()
