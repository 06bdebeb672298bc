"""What a process builds once so that the worker processes forked from it start warm.

Worker processes start from multiprocessing's forkserver (reev.runner.workers): it imports its
preload modules once, then forks every worker from itself, so whatever those imports built, a
worker has from its first instant (copy-on-write). Without this a new worker built the same
things on its first episodes as every other worker did: prepared VMs (11 ms each, one per
concurrent episode), the default markets' templates, the tool schemas, the model clients'
HTTP transport (reev.agents.transport: aiohttp under the SDK's httpx interface) and TLS
context. That was about 0.5 s of CPU per worker inside a 3 s run at --max-concurrency 32
(scripts/bench_agents.py, issue 18).

The forkserver is the process's: the first pool's preload decides how warm it is, and later
pools fork from it as it is (a worker builds whatever it lacks, as before).
"""

from __future__ import annotations

import sys


def warm_process(*, vms: int, model_client: bool) -> None:
    """Build `vms` idle VMs in this process's pool, the default markets and the tool schemas;
    with `model_client`, what an LLM agent's first model call would build too. Best effort: a
    warm-up that fails is reported on stderr and leaves the process as cold as it was (its
    workers build what they need, and an episode that hits the same failure reports it), rather
    than killing the forkserver every worker starts from."""
    try:
        _warm(vms=vms, model_client=model_client)
    except Exception as exc:  # any failure: the forkserver must still serve
        print(
            f"reev: warming the worker processes failed, they start cold: {exc!r}", file=sys.stderr
        )


def _warm(*, vms: int, model_client: bool) -> None:
    from reev.chain.litesvm import warm_pool
    from reev.defi.market import market_addresses
    from reev.tools import TOOLS

    market_addresses()  # builds the AMM's and reev Lend's default-market templates
    for tool in TOOLS.values():
        tool.openai_schema()
    if model_client:
        from reev.agents.llm import shared_ssl_context  # imports the transport (aiohttp) too

        shared_ssl_context()
    warm_pool(vms)
