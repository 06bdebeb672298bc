"""Cluster methods: health, version, slot and block height, epochs, blockhashes, fees, rent."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from solders.message import from_bytes_versioned
from solders.rpc.responses import RpcPerfSample

from reev.rpc.errors import RpcError, invalid_param, invalid_params
from reev.rpc.handlers.registry import method, solders_json, with_context
from reev.rpc.node import FEATURE_SET, SOLANA_CORE_VERSION, ChainNode
from reev.rpc.params import Config, Params, parse_hash, parse_pubkey, type_name

GENESIS_HASH = (
    "5eykt4UsFv8P8NJdTREpY1vzqKqZKvdpKuc147dw2N9d"  # mainnet-beta's, as a fork would report
)
IDENTITY = "RevRpc1111111111111111111111111111111111111"
MAX_PRIORITIZATION_FEE_ACCOUNTS = 128
MAX_RECENT_PERFORMANCE_SAMPLES = 720  # Agave's: 12 hours of 60-second samples
SAMPLE_PERIOD_SECS = 60  # Agave samples every 60 s


@method("getHealth")
def get_health(node: ChainNode, params: Any) -> Any:
    Params(params, required=0, maximum=0)
    return "ok"


@method("getVersion")
def get_version(node: ChainNode, params: Any) -> Any:
    Params(params, required=0, maximum=0)
    return {"solana-core": SOLANA_CORE_VERSION, "feature-set": FEATURE_SET}


@method("getGenesisHash")
def get_genesis_hash(node: ChainNode, params: Any) -> Any:
    Params(params, required=0, maximum=0)
    return GENESIS_HASH


@method("getIdentity")
def get_identity(node: ChainNode, params: Any) -> Any:
    Params(params, required=0, maximum=0)
    return {"identity": IDENTITY}


def _plain_config(node: ChainNode, params: Any) -> Config:
    p = Params(params, required=0, maximum=1)
    config = p.config(0)
    config.check_common(node)
    return config


@method("getSlot")
def get_slot(node: ChainNode, params: Any) -> Any:
    _plain_config(node, params)
    return node.slot


@method("getBlockHeight")
def get_block_height(node: ChainNode, params: Any) -> Any:
    _plain_config(node, params)
    return node.block_height


@method("getTransactionCount")
def get_transaction_count(node: ChainNode, params: Any) -> Any:
    _plain_config(node, params)
    return node.transaction_count


@method("getEpochInfo")
def get_epoch_info(node: ChainNode, params: Any) -> Any:
    _plain_config(node, params)
    return node.epoch_info()


@method("getEpochSchedule")
def get_epoch_schedule(node: ChainNode, params: Any) -> Any:
    Params(params, required=0, maximum=0)
    schedule = node.svm.get_epoch_schedule()
    return {
        "firstNormalEpoch": schedule.first_normal_epoch,
        "firstNormalSlot": schedule.first_normal_slot,
        "leaderScheduleSlotOffset": schedule.leader_schedule_slot_offset,
        "slotsPerEpoch": schedule.slots_per_epoch,
        "warmup": schedule.warmup,
    }


@method("getBlockTime")
def get_block_time(node: ChainNode, params: Any) -> Any:
    p = Params(params, required=1, maximum=1)
    slot = p.integer(0, "slot")
    if slot > node.slot:
        raise RpcError(-32004, f"Block not available for slot {slot}")
    return node.chain._clock_at(slot).unix_timestamp


@method("getLatestBlockhash")
def get_latest_blockhash(node: ChainNode, params: Any) -> Any:
    _plain_config(node, params)
    blockhash, last_valid = node.latest_blockhash()
    return with_context(node, {"blockhash": str(blockhash), "lastValidBlockHeight": last_valid})


@method("isBlockhashValid")
def is_blockhash_valid(node: ChainNode, params: Any) -> Any:
    p = Params(params, required=1, maximum=2)
    blockhash = parse_hash(p.get(0))
    p.config(1).check_common(node)
    return with_context(node, node.blockhash_valid(blockhash))


@method("getMinimumBalanceForRentExemption")
def get_minimum_balance_for_rent_exemption(node: ChainNode, params: Any) -> Any:
    p = Params(params, required=1, maximum=2)
    length = p.integer(0, "data length", maximum=10 * 1024 * 1024)
    p.config(1).check_common(node)
    return node.rent_exempt_minimum(length)


@method("getFeeForMessage")
def get_fee_for_message(node: ChainNode, params: Any) -> Any:
    p = Params(params, required=1, maximum=2)
    text = p.string(0, "base64 message")
    p.config(1).check_common(node)
    try:
        raw = base64.b64decode(text.encode(), validate=True)
        message = from_bytes_versioned(raw)
    except (binascii.Error, ValueError, Exception) as exc:
        raise invalid_param(f"invalid message: {exc}") from None
    return with_context(node, node.fee_for_message(message))


@method("getRecentPrioritizationFees")
def get_recent_prioritization_fees(node: ChainNode, params: Any) -> Any:
    p = Params(params, required=0, maximum=1)
    raw = p.get(0) or []
    if not isinstance(raw, list):
        raise invalid_params(f"invalid type: {type_name(raw)}, expected a sequence of addresses")
    if len(raw) > MAX_PRIORITIZATION_FEE_ACCOUNTS:
        raise invalid_params(f"Too many inputs provided; max {MAX_PRIORITIZATION_FEE_ACCOUNTS}")
    return node.prioritization_fees([parse_pubkey(a) for a in raw])


@method("getRecentPerformanceSamples")
def get_recent_performance_samples(node: ChainNode, params: Any) -> Any:
    """Agave keeps one sample a minute (slots and transactions in it); reev's node keeps the
    last 150 blocks, which is one such minute at 400 ms a slot, so it reports them as one
    sample. Every transaction is a non-vote one: reev's chain has no validators voting."""
    p = Params(params, required=0, maximum=1)
    limit = MAX_RECENT_PERFORMANCE_SAMPLES
    if p.has(0):
        limit = p.integer(0, "limit")
        if limit > MAX_RECENT_PERFORMANCE_SAMPLES:
            raise invalid_params(f"Invalid limit; max {MAX_RECENT_PERFORMANCE_SAMPLES}")
    slot, slots, transactions = node.performance_sample()
    sample = RpcPerfSample(
        slot=slot,
        num_transactions=transactions,
        num_slots=slots,
        sample_period_secs=SAMPLE_PERIOD_SECS,
        num_non_vote_transactions=transactions,
    )
    return [solders_json(sample)][:limit]
