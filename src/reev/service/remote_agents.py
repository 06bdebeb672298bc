"""Which remote HTTP agents (`agent: http://…`) the API may run.

A remote agent is a URL the server POSTs every observation to, and the agent's reply ends up in
the session file anyone can read back: from the API it is a request the server makes on a
client's behalf. So it is refused unless the URL matches a pattern of `--allow-remote-agents`
(or `REEV_ALLOW_REMOTE_AGENTS`), and never allowed when it points at the server itself (its
loopback port, its host names, the addresses they resolve to), whatever the patterns say.
`reev run --agent URL` on the command line is not affected: there the operator typed the URL.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import socket
from urllib.parse import urlsplit

from reev.service.settings import ServiceSettings

REMOTE_PREFIXES = ("http://", "https://")


def is_remote(agent: str) -> bool:
    return agent.startswith(REMOTE_PREFIXES)


def remote_agent_refusal(agent: str, settings: ServiceSettings) -> str | None:
    """Why this remote agent may not run, or None when it may."""
    try:
        parts = urlsplit(agent)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        return f"agent {agent!r} is not a usable URL ({exc})"
    if not parts.hostname:
        return f"agent {agent!r} names no host"
    if not any(fnmatch.fnmatchcase(agent, pattern) for pattern in settings.allow_remote_agents):
        return (
            f"remote HTTP agents are off for this server: agent {agent!r} is not allowed; "
            "start `reev serve --allow-remote-agents PATTERN` (fnmatch over the URL, e.g. "
            "'http://10.0.0.5:8000/*') or set REEV_ALLOW_REMOTE_AGENTS"
        )
    if settings.port is not None and port == settings.port and _is_self(parts.hostname, settings):
        return f"agent {agent!r} points at this reev server itself; that is never allowed"
    return None


def _addresses(host: str) -> set[str]:
    try:
        return {str(info[4][0]) for info in socket.getaddrinfo(host, None)}
    except (OSError, UnicodeError):
        return set()


def _is_self(hostname: str, settings: ServiceSettings) -> bool:
    """Whether `hostname` reaches this machine: a loopback or wildcard address, a name of this
    host, or a name that resolves to one of this host's addresses (resolved here, so a name
    that points back at the server is caught too)."""
    own_names = {socket.gethostname(), socket.getfqdn(), settings.host, "localhost"}
    own = set().union(*(_addresses(name) for name in own_names if name))
    if settings.host not in ("0.0.0.0", "::", ""):
        own.add(settings.host)
    if hostname.lower() in {name.lower() for name in own_names if name}:
        return True
    for address in _addresses(hostname) | {hostname}:
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            continue
        if ip.is_loopback or ip.is_unspecified or str(ip) in own:
            return True
    return False
