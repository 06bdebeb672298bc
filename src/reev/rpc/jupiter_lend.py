"""A Jupiter Lend–shaped Earn API over reev Lend, served beside the JSON-RPC (`reev chain
serve`, and for `--agent-cmd` agents at `REEV_JUPITER_LEND_URL`).

This is reev's own lending program (docs/lending.md) speaking the shapes of Jupiter Lend's
Earn API (`https://lite-api.jup.ag/lend/v1/earn`), not Jupiter Lend: a script written against
it runs offline by changing its base URL. Routes (amounts are base-unit strings, as Jupiter's):

- `POST /lend/v1/earn/deposit` `{asset, signer, amount}`, `/withdraw` `{asset, signer,
  amount}`, `/mint` `{asset, signer, shares}`, `/redeem` `{asset, signer, shares}` →
  `{transaction}`: base64 of an unsigned v0 transaction paid and signed by `signer`
  (`reev.defi.lend.earn.earn_plan`); sign it and send it with `sendTransaction`. `asset` is the
  underlying mint (native SOL is wSOL, wrapped and unwrapped in the transaction);
- `GET /lend/v1/earn/tokens` → one entry per vault: `{id, address (the share mint), name,
  symbol, decimals, assetAddress, asset{…, price}, totalAssets, totalSupply, convertToShares,
  convertToAssets, rewardsRate, supplyRate, totalRate, rebalanceDifference,
  liquiditySupplyData{…}}`, accrued to the current slot;
- `GET /lend/v1/earn/positions?users=a,b` → per user and vault `{token, ownerAddress, shares,
  underlyingAssets, underlyingBalance, allowance}`;
- `GET /lend/v1/earn/earnings?user=…&positions=…` → per position `{address, ownerAddress,
  totalDeposits, totalWithdraws, totalBalance, totalAssets, earnings}`.

Rates are yearly fractions as decimal strings ("0.0112" is 1.12 % a year: the supply APR
`apr · U`, no rewards, no fee). A bad request is a 400 with `{error, errorCode}`, never a 500.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from collections.abc import Awaitable, Callable
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Any, TypeVar

from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction
from spl.token.instructions import get_associated_token_address
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reev.constants import NATIVE_MINT, U64_MAX
from reev.defi.lend import earn
from reev.defi.lend.layout import JL_SOL_MINT, JL_USDC_MINT, LEND_PROGRAM_ID, Tag
from reev.defi.lend.model import PRICE_DECIMALS
from reev.defi.lend.reader import LendStateError
from reev.rpc.jupiter import ApiError
from reev.rpc.jupiter import api_error_response as _error
from reev.rpc.node import ChainNode
from reev.spec.known_mints import KNOWN_MINTS

T = TypeVar("T")

PREFIX = "/lend/v1/earn"
_NO_SIGNATURE = Signature.default()
_MAX_BODY = 64 * 1024
_MAX_USERS = 100
# `Program log: reev-lend deposit assets=<a> shares=<s>` (docs/lending.md, "Instructions")
_EARN_LOG = re.compile(
    r"^Program log: reev-lend (deposit|withdraw|mint|redeem) assets=(\d+) shares=(\d+)$"
)
_TOP_LEVEL = re.compile(r"^Program (\w+) invoke \[1\]$")
_SHARE_SYMBOLS = {JL_USDC_MINT: "jlUSDC", JL_SOL_MINT: "jlSOL"}


def _pubkey(value: Any, name: str) -> Pubkey:
    if not isinstance(value, str) or not value.strip():
        raise ApiError("INVALID_REQUEST", f"{name}: required (a base58 address)")
    try:
        return Pubkey.from_string(value.strip())
    except ValueError:
        raise ApiError("INVALID_REQUEST", f"{name}: {value!r} is not a base58 address") from None


def _amount(value: Any, name: str) -> int:
    if value is None:
        raise ApiError("INVALID_REQUEST", f'{name}: required (base units, e.g. "1000000")')
    text = (
        str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    )
    if not text.isascii() or not text.isdigit():
        raise ApiError(
            "INVALID_REQUEST", f"{name}: expected an integer of base units, got {value!r}"
        )
    number = int(text)
    if not 1 <= number <= U64_MAX:
        raise ApiError("INVALID_REQUEST", f"{name}: must be between 1 and {U64_MAX}, not {number}")
    return number


def _decimal(value: Fraction, places: int = 18) -> str:
    """An exact fraction as a decimal string, rounded down to `places` digits, no exponent."""
    with localcontext() as ctx:
        ctx.prec = 80
        scaled = value.numerator * 10**places // value.denominator
        text = format(Decimal(scaled).scaleb(-places), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _symbol(mint: Pubkey) -> str:
    known = KNOWN_MINTS.get(str(mint))
    if mint == NATIVE_MINT:
        return "SOL"
    return known.symbol if known else str(mint)[:4]


def token_json(vault: earn.Vault) -> dict[str, Any]:
    """A vault in the shape of Jupiter Lend's `/earn/tokens` entries."""
    state, model = vault.state, vault.model
    unit = 10**state.decimals
    symbol = _symbol(state.asset_mint)
    supply_rate = _decimal(model.supply_apr())
    return {
        "id": vault.index + 1,
        "address": str(state.share_mint),
        "name": f"reev Lend {symbol}",
        "symbol": _SHARE_SYMBOLS.get(state.share_mint, f"jl{symbol}"),
        "decimals": state.decimals,
        "assetAddress": str(state.asset_mint),
        "asset": {
            "address": str(state.asset_mint),
            "chain_id": "solana",
            "name": symbol,
            "symbol": symbol,
            "decimals": state.decimals,
            "logo_url": "",
            "price": _decimal(Fraction(vault.price, 10**PRICE_DECIMALS)),
            "coingecko_id": "",
        },
        "totalAssets": str(model.total_assets),
        "totalSupply": str(model.supply_shares),
        # one whole token: what a deposit of it mints, what a redeem of one share-token pays
        "convertToShares": _decimal(Fraction(model.shares_for_deposit(unit), unit)),
        "convertToAssets": _decimal(Fraction(model.assets_for_redeem(unit), unit)),
        "rewardsRate": "0",
        "supplyRate": supply_rate,
        "totalRate": supply_rate,
        "rebalanceDifference": "0",
        "liquiditySupplyData": {
            "modeWithInterest": True,
            "supply": str(model.total_assets),
            "withdrawalLimit": "0",
            "lastUpdateTimestamp": str(state.last_update_slot),
            "expandPercent": "0",
            "expandDuration": "0",
            "baseWithdrawalLimit": "0",
            "withdrawableUntilLimit": str(model.available),
            "withdrawable": str(model.available),
        },
    }


def position_json(found: earn.Position) -> dict[str, Any]:
    return {
        "token": token_json(found.vault),
        "ownerAddress": str(found.owner),
        "shares": str(found.shares),
        "underlyingAssets": str(found.assets),
        "underlyingBalance": str(found.wallet_balance),
        # Solana has no ERC-20 allowance: what the owner could deposit now is its balance
        "allowance": str(found.wallet_balance),
    }


def _vaults(node: ChainNode) -> list[earn.Vault]:
    try:
        return earn.vaults(node.chain, node.slot)
    except LendStateError as exc:
        raise ApiError("INVALID_STATE", str(exc)) from None


def _users(value: str | None, name: str) -> list[Pubkey]:
    if not value:
        raise ApiError("INVALID_REQUEST", f"{name}: required (comma-separated wallet addresses)")
    parts = [part for part in value.split(",") if part.strip()]
    if len(parts) > _MAX_USERS:
        raise ApiError("INVALID_REQUEST", f"{name}: at most {_MAX_USERS} addresses")
    return [_pubkey(part, name) for part in parts]


def flows_of(node: ChainNode, owner: Pubkey, vault: earn.Vault) -> tuple[int, int, int, int]:
    """(assets deposited, shares minted, assets withdrawn, shares burnt) for `owner`'s share
    account of `vault` by the successful Earn instructions in this node's history: each
    top-level reev Lend instruction is paired with the `reev-lend <name> assets= shares=` line
    its invocation logged."""
    share_account = get_associated_token_address(owner, vault.state.share_mint)
    deposited = minted = withdrawn = burnt = 0
    for record in node.records.values():
        if record.err is not None:
            continue
        message = record.transaction.message
        keys = record.account_keys
        logged: list[tuple[str, int, int] | None] = []
        for line in record.logs:
            if _TOP_LEVEL.match(line):
                logged.append(None)
            elif (m := _EARN_LOG.match(line)) and logged and logged[-1] is None:
                logged[-1] = (m.group(1), int(m.group(2)), int(m.group(3)))
        for index, ix in enumerate(message.instructions):
            if index >= len(logged) or keys[ix.program_id_index] != LEND_PROGRAM_ID:
                continue
            entry, data, accounts = logged[index], bytes(ix.data), bytes(ix.accounts)
            if entry is None or not data or len(accounts) < 7 or keys[accounts[1]] != vault.address:
                continue
            _, assets, shares = entry
            if data[0] in (Tag.DEPOSIT, Tag.MINT) and keys[accounts[6]] == share_account:
                deposited, minted = deposited + assets, minted + shares
            elif data[0] in (Tag.WITHDRAW, Tag.REDEEM) and keys[accounts[5]] == share_account:
                withdrawn, burnt = withdrawn + assets, burnt + shares
    return deposited, minted, withdrawn, burnt


def earnings_json(node: ChainNode, found: earn.Position) -> dict[str, Any]:
    """Earnings = what the position is worth now + what was taken out − what was put in.
    Shares the history does not explain (handed out by a benchmark's initial state, where the
    default vaults' price is exactly 1, or received by a transfer) count as deposited at one
    asset per share."""
    deposited, minted, withdrawn, burnt = flows_of(node, found.owner, found.vault)
    unexplained = found.shares - (minted - burnt)
    if unexplained > 0:
        deposited += unexplained
    return {
        "address": str(found.vault.state.share_mint),
        "ownerAddress": str(found.owner),
        "totalDeposits": str(deposited),
        "totalWithdraws": str(withdrawn),
        "totalBalance": str(found.assets),
        "totalAssets": str(found.assets),
        "earnings": str(found.assets + withdrawn - deposited),
    }


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > _MAX_BODY:
        raise ApiError("INVALID_REQUEST", f"the body is larger than {_MAX_BODY} bytes", 413)
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise ApiError("INVALID_REQUEST", "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError("INVALID_REQUEST", "the body must be a JSON object")
    return body


def jupiter_lend_routes(node: ChainNode) -> list[Route]:
    """The API's routes over `node` (mounted by `reev.rpc.app` beside the JSON-RPC)."""

    def locked(work: Callable[[], T]) -> Awaitable[T]:
        """Run `work` holding the node's lock in a worker thread, as `reev.rpc.jupiter` does:
        the event loop never waits for the lock."""

        def run() -> T:
            with node.lock:
                return work()

        return asyncio.to_thread(run)

    def operation(name: earn.EarnOperation) -> Callable[[Request], Awaitable[Response]]:
        field = "amount" if name in ("deposit", "withdraw") else "shares"

        def build(body: dict[str, Any]) -> bytes:
            asset = _pubkey(body.get("asset"), "asset")
            signer = _pubkey(body.get("signer"), "signer")
            amount = _amount(body.get(field), field)
            try:
                plan = earn.earn_plan(node.chain, node.slot, signer, name, asset, amount)
            except earn.EarnError as exc:
                raise ApiError("INVALID_REQUEST", str(exc)) from None
            except LendStateError as exc:
                raise ApiError("INVALID_STATE", str(exc)) from None
            blockhash, _ = node.latest_blockhash()
            message = MessageV0.try_compile(signer, plan.instructions, [], blockhash)
            unsigned = VersionedTransaction.populate(
                message, [_NO_SIGNATURE] * message.header.num_required_signatures
            )
            return bytes(unsigned)

        async def handle(request: Request) -> Response:
            try:
                body = await _body(request)
                raw = await locked(lambda: build(body))
            except ApiError as exc:
                return _error(exc)
            return JSONResponse({"transaction": base64.b64encode(raw).decode()})

        return handle

    async def tokens(request: Request) -> Response:
        try:
            found = await locked(lambda: [token_json(v) for v in _vaults(node)])
        except ApiError as exc:
            return _error(exc)
        return JSONResponse(found)

    async def positions(request: Request) -> Response:
        try:
            users = _users(request.query_params.get("users"), "users")

            def read() -> list[dict[str, Any]]:
                return [
                    position_json(earn.position(node.chain, vault, user))
                    for user in users
                    for vault in _vaults(node)
                ]

            found = await locked(read)
        except ApiError as exc:
            return _error(exc)
        return JSONResponse(found)

    async def earnings(request: Request) -> Response:
        try:
            named = _users(request.query_params.get("user"), "user")
            if len(named) != 1:
                raise ApiError("INVALID_REQUEST", "user: exactly one wallet address")
            user = named[0]
            wanted = _users(request.query_params.get("positions"), "positions")

            def read() -> list[dict[str, Any]]:
                every = _vaults(node)
                out = []
                for mint in wanted:
                    vault = next(
                        (v for v in every if mint in (v.state.share_mint, v.state.asset_mint)),
                        None,
                    )
                    if vault is None:
                        raise ApiError("INVALID_REQUEST", f"positions: no vault for {mint}")
                    out.append(earnings_json(node, earn.position(node.chain, vault, user)))
                return out

            found = await locked(read)
        except ApiError as exc:
            return _error(exc)
        return JSONResponse(found)

    return [
        *(
            Route(f"{PREFIX}/{name}", operation(name), methods=["POST"])
            for name in earn.EARN_OPERATIONS
        ),
        Route(f"{PREFIX}/tokens", tokens, methods=["GET"]),
        Route(f"{PREFIX}/positions", positions, methods=["GET"]),
        Route(f"{PREFIX}/earnings", earnings, methods=["GET"]),
    ]
