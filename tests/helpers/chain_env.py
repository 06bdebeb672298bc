"""A benchmark's initial state on a fresh embedded chain and a tool context acting for its user."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

from solders.pubkey import Pubkey

from reev.chain.litesvm import LiteSVMChain
from reev.setup import build_initial_state
from reev.spec import Benchmark
from reev.spec.placeholders import KeyMap, resolve_placeholders
from reev.tools import ToolContext


@dataclass
class ChainEnv:
    """A benchmark's initial state on a fresh embedded chain (seed 0) and a tool context acting
    for its user: what the tool tests call tools on. Test modules subclass it with their own
    helpers."""

    chain: LiteSVMChain
    keys: KeyMap
    ctx: ToolContext

    @classmethod
    def build(
        cls,
        bench: Benchmark,
        *,
        chain: LiteSVMChain | None = None,
        all_signers: bool = False,
        **fields: Any,
    ) -> Self:
        """`all_signers`: the context may sign for every wallet of the benchmark, not only the
        user's (tool tests that stage for several parties)."""
        chain = chain or LiteSVMChain()
        keys = resolve_placeholders(bench, seed=0)
        build_initial_state(chain, bench, keys)
        signers = dict(keys.keypairs) if all_signers else {}
        return cls(
            chain=chain,
            keys=keys,
            ctx=ToolContext(chain=chain, user=keys.user, signers=signers),
            **fields,
        )

    def addr(self, name: str) -> Pubkey:
        return self.keys.addresses[name]

    def a(self, name: str) -> str:
        return str(self.addr(name))
