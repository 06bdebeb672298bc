"""Settings of `reev serve` (flags and environment)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

# Names a browser on this machine uses for a server bound to loopback; anything else in `Host`
# is refused (a DNS-rebinding page would send its own name).
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


def _env_list(name: str) -> list[str]:
    return [item for item in os.environ.get(name, "").split() if item]


@dataclass
class ServiceSettings:
    database_url: str | None = None
    benchmarks_dir: Path = Path("benchmarks")
    log_dir: Path = Path("logs")
    max_concurrency: int = 2
    execution_timeout_s: float = 900.0
    requeue: bool = False
    cors_origins: list[str] = field(default_factory=list)
    api_token: str | None = field(default_factory=lambda: os.environ.get("REEV_API_TOKEN") or None)
    max_body_bytes: int = 1_000_000
    events_history: int = 2_000  # events kept per execution for late subscribers
    # Remote HTTP agents (`agent: http://…`) the API may run: fnmatch patterns over the URL;
    # none by default (the server would POST wherever a client says and show the reply).
    allow_remote_agents: list[str] = field(
        default_factory=lambda: _env_list("REEV_ALLOW_REMOTE_AGENTS")
    )
    # `Host` names accepted besides the loopback ones (`--allowed-host`, `*` for any).
    allowed_hosts: list[str] = field(default_factory=lambda: _env_list("REEV_ALLOWED_HOSTS"))
    # The server's own bind address and port: remote agents may never point back at them.
    host: str = "127.0.0.1"
    port: int | None = None
    max_queued: int = 1_000  # executions waiting to start; more is a 429 with Retry-After
    max_event_line_bytes: int = 1 << 20  # one event line of a child; longer kills the child
    # Database retries of the execution manager: the pause grows from the first to the last.
    db_retry_first_s: float = 0.2
    db_retry_max_s: float = 5.0
    # Where each execution's `reev run` child runs its episode: "local", or "ray" on the cluster
    # at `ray_address` (the child connects as a Ray driver; docs/scale.md).
    executor: str = "local"
    ray_address: str | None = None

    def trusted_hosts(self) -> list[str]:
        """What `Host` may say: loopback names, the bound host when it is a name or address
        (not a wildcard), and `allowed_hosts`."""
        hosts = [*LOOPBACK_HOSTS, *self.allowed_hosts]
        if self.host not in ("0.0.0.0", "::", ""):
            hosts.append(self.host)
        return list(dict.fromkeys(hosts))
