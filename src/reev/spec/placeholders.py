"""Placeholders: ALL_CAPS names in a benchmark that become real addresses for one episode.

A name such as `USER_WALLET_PUBKEY` or `RECIPIENT_USDC_ATA` (capitals, digits, at least one
underscore, and not a valid base58 address) is a placeholder. Token-account placeholders resolve
to the associated token account of their declared owner and mint; every other placeholder is a
wallet whose keypair is derived from (benchmark id, seed, name), so an episode is reproducible and
a different seed moves every address.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from solders.keypair import Keypair
from solders.pubkey import Pubkey
from spl.token.instructions import get_associated_token_address

from reev.constants import TOKEN_PROGRAM
from reev.errors import InputError
from reev.spec.known_mints import KNOWN_MINTS, program_id_for
from reev.spec.models import Benchmark, TransactionLogs

PLACEHOLDER_RE = re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b")
USER_WALLET = "USER_WALLET_PUBKEY"
# The wallet that funds a benchmark's declared pools at set-up (never shown to the agent).
POOL_CREATOR = "POOL_CREATOR_WALLET"


class PlaceholderError(InputError):
    """A placeholder that cannot be resolved (for example an ATA whose owner is unknown)."""


def is_address(text: str) -> bool:
    try:
        Pubkey.from_string(text)
    except ValueError:
        return False
    return True


def is_placeholder(text: str) -> bool:
    return bool(PLACEHOLDER_RE.fullmatch(text)) and not is_address(text)


def derive_keypair(benchmark_id: str, seed: int, name: str) -> Keypair:
    digest = hashlib.sha256(f"reev/{benchmark_id}/{seed}/{name}".encode()).digest()
    return Keypair.from_seed(digest)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


@dataclass
class KeyMap:
    """Every placeholder of one episode and the keys the environment can sign with."""

    addresses: dict[str, Pubkey] = field(default_factory=dict)
    keypairs: dict[Pubkey, Keypair] = field(default_factory=dict)
    token_accounts: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    visible: list[str] = field(default_factory=list)

    @property
    def user(self) -> Keypair:
        return self.keypairs[self.addresses[USER_WALLET]]

    def resolve(self, name_or_address: str) -> Pubkey:
        """A placeholder name or a base58 address to a Pubkey; anything else is an error."""
        if name_or_address in self.addresses:
            return self.addresses[name_or_address]
        try:
            return Pubkey.from_string(name_or_address)
        except ValueError:
            raise PlaceholderError(
                f"{name_or_address!r} is neither a known name nor an address"
            ) from None

    def substitute(self, text: str) -> str:
        """Replace every known placeholder in free text by its address."""
        return PLACEHOLDER_RE.sub(
            lambda m: (
                str(self.addresses[m.group(0)]) if m.group(0) in self.addresses else m.group(0)
            ),
            text,
        )

    def substitute_value(self, value: Any) -> Any:
        """Replace placeholders inside nested args (a whole string that is a name)."""
        if isinstance(value, str):
            return str(self.addresses[value]) if value in self.addresses else self.substitute(value)
        if isinstance(value, dict):
            return {k: self.substitute_value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.substitute_value(v) for v in value]
        return value

    def name_of(self, address: Pubkey | str) -> str | None:
        text = str(address)
        for name, pubkey in self.addresses.items():
            if str(pubkey) == text:
                return name
        return None

    def visible_map(self) -> dict[str, str]:
        """The names an agent may see (declared state and prompts, never ground truth)."""
        return {name: str(self.addresses[name]) for name in self.visible}


def _mint_programs(benchmark: Benchmark) -> dict[str, str]:
    """Each mint the benchmark can name to its token program, computed once per benchmark.

    Precedence as a lookup per mint would give it: a declared mint, then a well-known one, then
    the owner of the first token account holding it; anything else is the classic token program."""
    programs: dict[str, str] = {}
    for account in benchmark.initial_state:
        if account.data is not None:
            programs.setdefault(account.data.mint, account.owner)
    programs.update((mint, known.program) for mint, known in KNOWN_MINTS.items())
    seen: set[str] = set()
    for declared in benchmark.mints:
        if declared.address not in seen:  # the first declaration wins
            seen.add(declared.address)
            programs[declared.address] = program_id_for(declared.program)
    return programs


def prompts(benchmark: Benchmark) -> list[str]:
    texts = [benchmark.prompt]
    if benchmark.flow:
        texts.extend(step.prompt for step in benchmark.flow)
    return texts


def resolve_placeholders(benchmark: Benchmark, seed: int) -> KeyMap:
    """Build the episode's KeyMap: wallets first, then token accounts derived from them."""
    structured = benchmark.model_dump(exclude={"description", "prompt", "flow", "tags", "id"})
    if benchmark.flow:
        structured["flow_solutions"] = [
            step.model_dump(include={"solution"}) for step in benchmark.flow
        ]
    # Dicts as ordered sets: a name's first appearance fixes its place, and each membership
    # test is O(1) (lists made this quadratic in the number of accounts, issue 16 item 9).
    names: dict[str, None] = {}
    for text in _strings(structured):
        if text not in names and is_placeholder(text):
            names[text] = None
    free_text_names: dict[str, None] = {}
    for text in prompts(benchmark):
        for match in PLACEHOLDER_RE.finditer(text):
            name = match.group(0)
            if name not in free_text_names and not is_address(name):
                free_text_names[name] = None
    names.update(free_text_names)
    if USER_WALLET not in names:
        names = {USER_WALLET: None, **names}
    if benchmark.pools and POOL_CREATOR not in names:
        names[POOL_CREATOR] = None

    # Which names are token accounts, and how each is derived.
    derivations: dict[str, tuple[str, str, str]] = {}
    seeded: dict[str, Any] = {}  # AccountWithSeed derivations (stake accounts stake_sol opens)
    mint_programs: dict[str, str] | None = None
    for account in benchmark.initial_state:
        if account.data is not None and is_placeholder(account.pubkey):
            derivations[account.pubkey] = (account.data.owner, account.data.mint, account.owner)
    for assertion in benchmark.ground_truth.final_state_assertions:
        if isinstance(assertion, TransactionLogs):
            continue  # names no account
        # Not every account assertion can be derived (SolBalance, MintSupply, … cannot).
        derivation = getattr(assertion, "address_derivation", None)
        if derivation is not None and is_placeholder(assertion.pubkey):
            if derivation.type == "AccountWithSeed":
                seeded.setdefault(assertion.pubkey, derivation)
                continue
            if mint_programs is None:
                mint_programs = _mint_programs(benchmark)
            program = mint_programs.get(derivation.mint, str(TOKEN_PROGRAM))
            derivations.setdefault(assertion.pubkey, (derivation.owner, derivation.mint, program))

    for pool in benchmark.pools:  # the set-up signs the pool account's creation
        if pool.id in derivations or pool.id in seeded:
            raise PlaceholderError(
                f"{pool.id}: a pool id must be a name of its own (its keypair is derived), not a "
                "derived token or stake account"
            )

    keymap = KeyMap()
    for name in names:
        if name not in derivations and name not in seeded:
            keypair = derive_keypair(benchmark.id, seed, name)
            pubkey = keypair.pubkey()
            keymap.addresses[name] = pubkey
            keymap.keypairs[pubkey] = keypair
    for name, (owner, mint, program) in derivations.items():
        if owner in derivations or mint in derivations:
            raise PlaceholderError(
                f"{name}: a token account's owner and mint must be wallets, mints or addresses"
            )
        owner_key = keymap.resolve(owner)
        mint_key = keymap.resolve(mint)
        keymap.addresses[name] = get_associated_token_address(
            owner_key, mint_key, keymap.resolve(program)
        )
        keymap.token_accounts[name] = (owner, mint, program)
    for name, derivation in seeded.items():
        if derivation.base in derivations or derivation.base in seeded:
            raise PlaceholderError(
                f"{name}: the base of an AccountWithSeed must be a wallet or an address"
            )
        keymap.addresses[name] = Pubkey.create_with_seed(
            keymap.resolve(derivation.base), derivation.seed, keymap.resolve(derivation.program)
        )

    visible_sources = {a.pubkey for a in benchmark.initial_state}
    visible_sources.update(a.data.owner for a in benchmark.initial_state if a.data)
    visible_sources.update(a.data.mint for a in benchmark.initial_state if a.data)
    visible_sources.update(m.address for m in benchmark.mints)
    visible_sources.update(free_text_names)
    visible_sources.add(USER_WALLET)
    keymap.visible = [name for name in names if name in visible_sources]  # names has no repeats
    return keymap
