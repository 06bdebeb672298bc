"""A Jupiter-shaped swap API over reev's own AMM, served beside the JSON-RPC (`reev chain
serve`, and for `--agent-cmd` agents at `REEV_JUPITER_URL`).

This is reev's protocol speaking Jupiter's Swap API v1 shapes, not Jupiter: an agent written
against `https://lite-api.jup.ag/swap/v1` runs offline by changing its base URL. Routes:

- `GET /swap/v1/quote?inputMint&outputMint&amount&slippageBps&swapMode` → a quote response
  (`inputMint, inAmount, outputMint, outAmount, otherAmountThreshold, swapMode, slippageBps,
  platformFee, priceImpactPct, routePlan[{swapInfo{ammKey, label, inputMint, outputMint,
  inAmount, outAmount, feeAmount, feeMint}, percent}], contextSlot, timeTaken`); amounts are
  base-unit strings, as Jupiter's;
- `POST /swap/v1/swap-instructions` with `{quoteResponse, userPublicKey, wrapAndUnwrapSol?}` →
  `{computeBudgetInstructions, setupInstructions, swapInstruction, cleanupInstruction,
  otherInstructions, addressLookupTableAddresses, …}`, each instruction `{programId,
  accounts[{pubkey, isSigner, isWritable}], data (base64)}`. The last hop is `swapInstruction`;
  the first hop of a two-hop route ends `setupInstructions`, so the usual assembly
  (setup, swap, cleanup) is the whole route;
- `POST /swap/v1/swap` with the same body (`asLegacyTransaction?`) → `{swapTransaction: base64 of
  an unsigned v0 (or legacy) transaction paid by userPublicKey, lastValidBlockHeight,
  prioritizationFeeLamports}`: sign it and send it with `sendTransaction`.

The swap is re-quoted on the chain's current state and bounded by the quote's
`otherAmountThreshold`, so a stale quote fails on chain with `SlippageExceeded` rather than
trading at a worse price. A bad request is a 400 with `{error, errorCode}`, never a 500.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from solders.instruction import Instruction
from solders.message import Message, MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import Transaction, VersionedTransaction
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reev.chain.observe import read_account
from reev.constants import U64_MAX
from reev.defi import router
from reev.defi.amm.layout import AMM_PROGRAM_ID
from reev.errors import InputError
from reev.rpc.node import ChainNode

T = TypeVar("T")

PREFIX = "/swap/v1"
_NO_SIGNATURE = Signature.default()  # an unsigned slot, as Jupiter's /swap leaves it
_MAX_BODY = 64 * 1024


class ApiError(InputError):
    """A bad request to the Jupiter-shaped HTTP APIs (swap and lend): a JSON error with
    Jupiter's `errorCode` and an HTTP status (400 unless said otherwise)."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


def api_error_response(exc: ApiError) -> JSONResponse:
    """The JSON body and status of an `ApiError`, as Jupiter's APIs answer."""
    return JSONResponse({"error": str(exc), "errorCode": exc.code}, status_code=exc.status)


def _pubkey(value: Any, name: str) -> Pubkey:
    if not isinstance(value, str):
        raise ApiError("INVALID_REQUEST", f"{name}: expected a base58 address")
    try:
        return Pubkey.from_string(value.strip())
    except ValueError:
        raise ApiError("INVALID_REQUEST", f"{name}: {value!r} is not a base58 address") from None


def _integer(value: Any, name: str, low: int, high: int) -> int:
    text = (
        str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    )
    if not text.isascii() or not text.isdigit():
        raise ApiError("INVALID_REQUEST", f"{name}: expected an integer, got {value!r}")
    number = int(text)
    if not low <= number <= high:
        raise ApiError("INVALID_REQUEST", f"{name}: must be between {low} and {high}, not {number}")
    return number


def _mint(node: ChainNode, value: Any, name: str) -> Pubkey:
    mint = _pubkey(value, name)
    state = read_account(node.chain, mint)
    if state is None or state.mint is None:
        raise ApiError("TOKEN_NOT_TRADABLE", f"{name}: {mint} is not a token mint on this chain")
    return mint


def quote_request(node: ChainNode, params: dict[str, Any]) -> router.Quote:
    """Validate quote parameters (Jupiter's names) and quote on the node's chain."""
    for required in ("inputMint", "outputMint", "amount"):
        if params.get(required) in (None, ""):
            raise ApiError("INVALID_REQUEST", f"{required}: required")
    input_mint = _mint(node, params["inputMint"], "inputMint")
    output_mint = _mint(node, params["outputMint"], "outputMint")
    amount = _integer(params["amount"], "amount", 1, U64_MAX)
    slippage = _integer(params.get("slippageBps", 50), "slippageBps", 0, 10_000)
    mode = params.get("swapMode", "ExactIn")
    if mode not in router.SWAP_MODES:
        raise ApiError("INVALID_REQUEST", f"swapMode: ExactIn or ExactOut, not {mode!r}")
    try:
        return router.best_quote(node.chain, input_mint, output_mint, amount, mode, slippage)
    except router.NoRoute as exc:
        raise ApiError("COULD_NOT_FIND_ANY_ROUTE", str(exc)) from None
    except ValueError as exc:
        raise ApiError("INVALID_REQUEST", str(exc)) from None


def quote_json(quote: router.Quote, slot: int) -> dict[str, Any]:
    return {
        "inputMint": str(quote.input_mint),
        "inAmount": str(quote.in_amount),
        "outputMint": str(quote.output_mint),
        "outAmount": str(quote.out_amount),
        "otherAmountThreshold": str(quote.other_amount_threshold),
        "swapMode": quote.swap_mode,
        "slippageBps": quote.slippage_bps,
        "platformFee": None,
        "priceImpactPct": quote.price_impact_pct,
        "routePlan": [
            {
                "swapInfo": {
                    "ammKey": str(hop.pool),
                    "label": router.AMM_LABEL,
                    "inputMint": str(hop.input_mint),
                    "outputMint": str(hop.output_mint),
                    "inAmount": str(hop.amount_in),
                    "outAmount": str(hop.amount_out),
                    "feeAmount": str(hop.fee_amount),
                    "feeMint": str(hop.input_mint),
                },
                "percent": 100,
            }
            for hop in quote.hops
        ],
        "contextSlot": slot,
        "timeTaken": 0,
    }


def instruction_json(ix: Instruction) -> dict[str, Any]:
    return {
        "programId": str(ix.program_id),
        "accounts": [
            {"pubkey": str(m.pubkey), "isSigner": m.is_signer, "isWritable": m.is_writable}
            for m in ix.accounts
        ],
        "data": base64.b64encode(bytes(ix.data)).decode(),
    }


def _swap_request(node: ChainNode, body: Any) -> tuple[Pubkey, list[Instruction]]:
    """The user and the instructions of a /swap or /swap-instructions body."""
    if not isinstance(body, dict):
        raise ApiError("INVALID_REQUEST", "the body must be a JSON object")
    quote_response = body.get("quoteResponse")
    if not isinstance(quote_response, dict):
        raise ApiError("INVALID_REQUEST", "quoteResponse: required (the object /quote returned)")
    user = _pubkey(body.get("userPublicKey"), "userPublicKey")
    wrap = body.get("wrapAndUnwrapSol", True)
    if not isinstance(wrap, bool):
        raise ApiError("INVALID_REQUEST", "wrapAndUnwrapSol: expected true or false")
    mode = quote_response.get("swapMode", "ExactIn")
    amount_field = "outAmount" if mode == "ExactOut" else "inAmount"
    quote = quote_request(
        node,
        {
            "inputMint": quote_response.get("inputMint"),
            "outputMint": quote_response.get("outputMint"),
            "amount": quote_response.get(amount_field),
            "slippageBps": quote_response.get("slippageBps", 50),
            "swapMode": mode,
        },
    )
    if "otherAmountThreshold" in quote_response:
        bound = _integer(
            quote_response["otherAmountThreshold"], "quoteResponse.otherAmountThreshold", 0, U64_MAX
        )
        quote = dataclasses.replace(quote, other_amount_threshold=bound)
    try:
        return user, router.swap_instructions(node.chain, user, quote, wrap)
    except router.SwapError as exc:
        raise ApiError("INVALID_REQUEST", str(exc)) from None


async def _body(request: Request) -> Any:
    raw = await request.body()
    if len(raw) > _MAX_BODY:
        raise ApiError("INVALID_REQUEST", f"the body is larger than {_MAX_BODY} bytes", 413)
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise ApiError("INVALID_REQUEST", "the body is not valid JSON") from None


def jupiter_routes(node: ChainNode) -> list[Route]:
    """The API's routes over `node` (mounted by `reev.rpc.app` beside the JSON-RPC)."""

    def locked(work: Callable[[], T]) -> Awaitable[T]:
        """Run `work` holding the node's lock in a worker thread: the event loop never waits
        for the lock (a JSON-RPC batch may hold it), as the JSON-RPC handlers do."""

        def run() -> T:
            with node.lock:
                return work()

        return asyncio.to_thread(run)

    async def quote(request: Request) -> Response:
        params = dict(request.query_params)
        try:
            found, slot = await locked(lambda: (quote_request(node, params), node.slot))
        except ApiError as exc:
            return api_error_response(exc)
        return JSONResponse(quote_json(found, slot))

    async def swap_instructions(request: Request) -> Response:
        try:
            body = await _body(request)
            _, instructions = await locked(lambda: _swap_request(node, body))
        except ApiError as exc:
            return api_error_response(exc)
        hops = [i for i, ix in enumerate(instructions) if ix.program_id == AMM_PROGRAM_ID]
        last = hops[-1]
        return JSONResponse(
            {
                "tokenLedgerInstruction": None,
                "computeBudgetInstructions": [],
                "setupInstructions": [instruction_json(ix) for ix in instructions[:last]],
                "swapInstruction": instruction_json(instructions[last]),
                "cleanupInstruction": (
                    instruction_json(instructions[last + 1])
                    if last + 1 < len(instructions)
                    else None
                ),
                "otherInstructions": [],
                "addressLookupTableAddresses": [],
                "prioritizationFeeLamports": 0,
            }
        )

    async def swap(request: Request) -> Response:
        try:
            body = await _body(request)
            legacy = body.get("asLegacyTransaction", False) if isinstance(body, dict) else False
            if not isinstance(legacy, bool):
                raise ApiError("INVALID_REQUEST", "asLegacyTransaction: expected true or false")
            user, instructions, (blockhash, last_valid) = await locked(
                lambda: (*_swap_request(node, body), node.latest_blockhash())
            )
        except ApiError as exc:
            return api_error_response(exc)
        if legacy:
            message = Message.new_with_blockhash(instructions, user, blockhash)
            raw = bytes(Transaction.new_unsigned(message))
        else:
            v0 = MessageV0.try_compile(user, instructions, [], blockhash)
            raw = bytes(
                VersionedTransaction.populate(
                    v0, [_NO_SIGNATURE] * v0.header.num_required_signatures
                )
            )
        return JSONResponse(
            {
                "swapTransaction": base64.b64encode(raw).decode(),
                "lastValidBlockHeight": last_valid,
                "prioritizationFeeLamports": 0,
            }
        )

    return [
        Route(f"{PREFIX}/quote", quote, methods=["GET"]),
        Route(f"{PREFIX}/swap-instructions", swap_instructions, methods=["POST"]),
        Route(f"{PREFIX}/swap", swap, methods=["POST"]),
    ]
