"""Fork and snapshots: accounts the embedded chain lacks, from an upstream RPC or a directory.

A task may touch programs and accounts that exist on mainnet but in no benchmark's initial
state. With `--fork-url URL --snapshot DIR` the embedded chain fetches each such account from
the upstream RPC the first time anything reads it (a tool, a transaction, the scorer), loads it
into LiteSVM and writes it to DIR as one JSON file per account, with the upstream slot and a
SHA-256 of the account. Accounts the upstream does not have are recorded too (as absent), so a
replay knows "this account did not exist" from "this account was never recorded".

With `--snapshot DIR` alone nothing touches the network: every account comes from DIR, and one
that is not there stops the episode with an error naming it. What is already in DIR is never
fetched again, also while recording: the first sighting of an account is the one every later
run sees, which is what makes a recorded run replay with identical signatures and final state.

Only accounts LiteSVM does not have are fetched: its built-in programs (System, SPL Token,
Token-2022, ATA, Memo, Stake, …) and sysvars stay LiteSVM's, and the clock stays pinned, so a
forked run differs from a plain one only by the accounts it fetched.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from solders.account import Account
from solders.pubkey import Pubkey

from reev.chain.accounts import LOOKUP_TABLE_META_SIZE
from reev.chain.jsonrpc import JsonRpcClient, JsonRpcError, account_from_json
from reev.constants import ADDRESS_LOOKUP_TABLE_PROGRAM, U64_MAX, UPGRADEABLE_LOADER_PROGRAM
from reev.errors import ChainError
from reev.files import write_text_atomic

MAX_ACCOUNTS_PER_REQUEST = 100  # getMultipleAccounts' limit on every Solana RPC
PROGRAM_TAG = 2  # UpgradeableLoaderState::Program { programdata_address }
# Accounts LiteSVM builds itself (or a validator synthesises per transaction): never fetched.
NEVER_FETCHED = frozenset(
    Pubkey.from_string(address)
    for address in (
        "Sysvar1nstructions1111111111111111111111111",
        "NativeLoader1111111111111111111111111111111",
        "Sysvar1111111111111111111111111111111111111",
    )
)
# Owners whose accounts LiteSVM cannot load as data (native builtins and sysvars).
NOT_LOADABLE_OWNERS = frozenset(
    Pubkey.from_string(address)
    for address in (
        "NativeLoader1111111111111111111111111111111",
        "Sysvar1111111111111111111111111111111111111",
    )
)


class ChainDataUnavailable(ChainError):
    """The chain needs an account it cannot obtain. Not the agent's mistake: the episode stops
    with this message rather than scoring the agent on a chain that is missing state."""


class AccountNotInSnapshot(ChainDataUnavailable):
    """Offline replay needs an account the recording never saw."""

    def __init__(self, address: Pubkey, directory: Path):
        super().__init__(
            f"account {address} is not in the snapshot {directory}; record it by running once "
            f"with --fork-url URL --snapshot {directory}"
        )
        self.address = address


class UpstreamError(ChainDataUnavailable):
    """The upstream RPC failed or answered something that is not getMultipleAccounts' shape."""


class SnapshotCorrupt(ChainDataUnavailable):
    """A snapshot file that does not parse or whose hash does not match its content."""


def account_hash(account: Account) -> str:
    """SHA-256 over lamports, owner, executable, rent epoch and data (little-endian integers):
    what a replay checks before trusting a file someone may have edited."""
    digest = hashlib.sha256()
    digest.update(account.lamports.to_bytes(8, "little"))
    digest.update(bytes(account.owner))
    digest.update(b"\x01" if account.executable else b"\x00")
    digest.update(account.rent_epoch.to_bytes(8, "little"))
    digest.update(bytes(account.data))
    return digest.hexdigest()


def absence_hash(address: Pubkey) -> str:
    """SHA-256 of b"absent" and the address: an absent entry is checked like any other, so
    flipping `exists` in a file is caught too."""
    return hashlib.sha256(b"absent" + bytes(address)).hexdigest()


def usable_lookup_table(account: Account, slot: int) -> Account:
    """An address lookup table whose addresses are all usable at `slot`. The forked chain's clock
    is pinned, usually before the slot a mainnet table was last extended at, and a table's
    addresses extended at or after the current slot are not usable yet; on the upstream they
    were. The table's last-extended slot is moved to just before `slot` (in the loaded copy
    only: the snapshot keeps the upstream's bytes)."""
    data = bytearray(bytes(account.data))
    if (
        account.owner != ADDRESS_LOOKUP_TABLE_PROGRAM
        or len(data) < LOOKUP_TABLE_META_SIZE
        or data[:4] != b"\x01\x00\x00\x00"
    ):
        return account
    last_extended = int.from_bytes(data[12:20], "little")
    if last_extended < slot:
        return account
    data[12:20] = (slot - 1).to_bytes(8, "little")
    return Account(
        account.lamports, bytes(data), account.owner, account.executable, account.rent_epoch
    )


def programdata_address(account: Account) -> Pubkey | None:
    """The program-data account of an upgradeable program (None for anything else)."""
    data = bytes(account.data)
    if account.owner != UPGRADEABLE_LOADER_PROGRAM or len(data) < 36:
        return None
    if int.from_bytes(data[:4], "little") != PROGRAM_TAG:
        return None
    return Pubkey.from_bytes(data[4:36])


class SnapshotEntry(BaseModel):
    """One file of a snapshot directory: an account as the upstream held it at `slot`, or the
    fact that it did not exist there (`exists: false`)."""

    model_config = ConfigDict(extra="forbid")

    address: str
    slot: int = Field(ge=0)
    source: str  # the upstream, redacted to scheme://host:port
    exists: bool
    lamports: int = Field(default=0, ge=0, le=U64_MAX)
    owner: str | None = None
    executable: bool = False
    rent_epoch: int = Field(default=0, ge=0, le=U64_MAX)
    data: str = ""  # base64
    sha256: str  # account_hash, or absence_hash for an absent account

    @model_validator(mode="after")
    def _an_account_has_an_owner(self) -> SnapshotEntry:
        if self.exists and self.owner is None:
            raise ValueError("an existing account needs an `owner`")
        return self

    @classmethod
    def of(
        cls, address: Pubkey, account: Account | None, *, slot: int, source: str
    ) -> SnapshotEntry:
        """The entry recording `account` (None: absent) as `source` answered at `slot`."""
        if account is None:
            return cls(
                address=str(address),
                slot=slot,
                source=source,
                exists=False,
                sha256=absence_hash(address),
            )
        return cls(
            address=str(address),
            slot=slot,
            source=source,
            exists=True,
            lamports=account.lamports,
            owner=str(account.owner),
            executable=account.executable,
            rent_epoch=account.rent_epoch,
            data=base64.b64encode(bytes(account.data)).decode(),
            sha256=account_hash(account),
        )

    def account(self) -> Account | None:
        """The account to load (None: it did not exist upstream)."""
        if not self.exists or self.owner is None:
            return None
        return Account(
            lamports=self.lamports,
            data=base64.b64decode(self.data, validate=True),
            owner=Pubkey.from_string(self.owner),
            executable=self.executable,
            rent_epoch=self.rent_epoch,
        )


class SnapshotStore:
    """A snapshot directory: `<address>.json` per account. Thread-safe; files are written
    atomically (temporary file, then rename), so an interrupted recording leaves no torn file."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self._cache: dict[Pubkey, SnapshotEntry] = {}
        self._lock = threading.Lock()

    def path(self, address: Pubkey) -> Path:
        return self.directory / f"{address}.json"

    def get(self, address: Pubkey) -> SnapshotEntry | None:
        """The recorded entry (None: never recorded). A file is parsed and its hash checked
        the first time this process reads it."""
        with self._lock:
            if address in self._cache:
                return self._cache[address]
            path = self.path(address)
            try:
                text = path.read_text(encoding="utf-8")
            except FileNotFoundError:
                return None
            except UnicodeDecodeError:
                raise SnapshotCorrupt(f"{path}: not UTF-8 JSON") from None
            except OSError as exc:
                raise SnapshotCorrupt(f"{path}: cannot read: {exc.strerror}") from None
            entry = self._parse(path, text, address)
            self._cache[address] = entry
            return entry

    @staticmethod
    def _parse(path: Path, text: str, address: Pubkey) -> SnapshotEntry:
        try:
            entry = SnapshotEntry.model_validate_json(text)
        except ValidationError as exc:
            problem = exc.errors()[0]
            where = ".".join(str(p) for p in problem["loc"]) or "file"
            raise SnapshotCorrupt(f"{path}: {where}: {problem['msg']}") from None
        if entry.address != str(address):
            raise SnapshotCorrupt(f"{path}: holds account {entry.address}, not {address}")
        try:
            account = entry.account()
        except (ValueError, TypeError, OverflowError) as exc:  # bad base58 owner, bad base64 data
            raise SnapshotCorrupt(f"{path}: {exc}") from None
        expected = account_hash(account) if account is not None else absence_hash(address)
        if entry.sha256 != expected:
            raise SnapshotCorrupt(f"{path}: sha256 does not match the account's content (edited?)")
        return entry

    def put(self, entry: SnapshotEntry) -> None:
        """Record `entry`; a file that cannot be written stops the episode (a recording that
        silently lost an account would not replay)."""
        address = Pubkey.from_string(entry.address)
        with self._lock:
            try:
                # 0644: public chain data, meant to be committed (a temporary file is 0600)
                write_text_atomic(
                    self.path(address),
                    json.dumps(entry.model_dump(), indent=1) + "\n",
                    mode=0o644,
                )
            except OSError as exc:
                raise ChainDataUnavailable(
                    f"{self.path(address)}: cannot write: {exc.strerror or exc}"
                ) from None
            self._cache[address] = entry

    def addresses(self) -> list[str]:
        """Every recorded address, sorted."""
        if not self.directory.is_dir():
            return []
        return sorted(p.stem for p in self.directory.glob("*.json"))


class Upstream:
    """The upstream RPC, read with getMultipleAccounts (base64) at `confirmed`."""

    def __init__(self, url: str, *, timeout_s: float = 30.0):
        self._rpc = JsonRpcClient(url, timeout_s=timeout_s)
        self.source = self._rpc.source

    def fetch(self, addresses: Sequence[Pubkey]) -> tuple[int, list[Account | None]]:
        """(slot, accounts) for `addresses`, in order; the slot is the latest of the requests."""
        slot, found = 0, []
        for start in range(0, len(addresses), MAX_ACCOUNTS_PER_REQUEST):
            chunk = addresses[start : start + MAX_ACCOUNTS_PER_REQUEST]
            try:
                result = self._rpc.call(
                    "getMultipleAccounts",
                    [[str(a) for a in chunk], {"encoding": "base64", "commitment": "confirmed"}],
                )
            except JsonRpcError as exc:
                where = f"{self.source}: " if exc.code is not None else ""
                raise UpstreamError(f"upstream {where}{exc}") from None
            try:
                slot = max(slot, int(result["context"]["slot"]))
                values = result["value"]
                if len(values) != len(chunk):
                    raise ValueError(f"{len(values)} accounts for {len(chunk)} addresses")
                found += [account_from_json(value) for value in values]
            except (KeyError, TypeError, ValueError, IndexError, OverflowError) as exc:
                raise UpstreamError(
                    f"upstream {self.source}: getMultipleAccounts answered an unexpected shape: {exc}"
                ) from None
        return slot, found


class AccountSource:
    """Where a forked chain's missing accounts come from: the snapshot first, then (when
    recording) the upstream, whose answers are written to the snapshot. One source is shared by
    every episode of a run, so an account is fetched once per run at most."""

    def __init__(self, snapshot: Path, upstream_url: str | None = None):
        self.store = SnapshotStore(snapshot)
        self.upstream = Upstream(upstream_url) if upstream_url else None
        self._fetch_lock = threading.Lock()
        self.fetched = 0  # accounts fetched from the upstream by this source

    @property
    def recording(self) -> bool:
        return self.upstream is not None

    def describe(self) -> dict[str, Any]:
        """What a session file says about the fork (never the upstream's full URL)."""
        return {
            "snapshot": str(self.store.directory),
            "upstream": self.upstream.source if self.upstream is not None else None,
            "mode": "record" if self.recording else "replay",
        }

    def load(self, addresses: Iterable[Pubkey]) -> dict[Pubkey, SnapshotEntry]:
        """The snapshot entry of each address, fetching (and recording) the ones not yet in the
        snapshot when an upstream is set; otherwise a missing one raises AccountNotInSnapshot."""
        wanted = list(dict.fromkeys(addresses))
        entries: dict[Pubkey, SnapshotEntry] = {}
        missing = []
        for address in wanted:
            entry = self.store.get(address)
            if entry is not None:
                entries[address] = entry
            else:
                missing.append(address)
        if not missing:
            return entries
        if self.upstream is None:
            raise AccountNotInSnapshot(missing[0], self.store.directory)
        with self._fetch_lock:  # one fetch at a time: no account is fetched twice
            still_missing = []
            for address in missing:  # another episode may have fetched it meanwhile
                entry = self.store.get(address)
                if entry is None:
                    still_missing.append(address)
                else:
                    entries[address] = entry
            if still_missing:
                slot, accounts = self.upstream.fetch(still_missing)
                for address, account in zip(
                    still_missing, accounts, strict=True
                ):  # fetch checks the count
                    entry = SnapshotEntry.of(
                        address, account, slot=slot, source=self.upstream.source
                    )
                    self.store.put(entry)
                    entries[address] = entry
                self.fetched += len(still_missing)
        return entries
