"""Fork and snapshots: `reev run --fork-url URL --snapshot DIR` records the accounts a task needs
from an upstream chain (a second `reev chain serve` playing mainnet, tests/helpers/fork_upstream.py);
`--snapshot DIR` alone replays them with the upstream stopped, with identical signatures and
final state. The upstream's URL carries a fake API key that must never be written anywhere.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from solana.rpc.async_api import AsyncClient
from solana.rpc.models import TxOpts
from solders.account import Account
from solders.address_lookup_table_account import AddressLookupTableAccount
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import Message, MessageV0
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import Transaction, VersionedTransaction

from helpers.fork_upstream import (
    BENCHMARK,
    FORK_MEMO,
    FORK_MINT,
    FORK_TOKEN,
    FORK_TOKEN_DATA,
    TREASURY,
    TREASURY_LAMPORTS,
    upstream,
    upstream_accounts,
)
from helpers.paths import BENCHMARKS, subprocess_env
from helpers.rpc import call, chain_serve
from reev.chain.fork import (
    AccountNotInSnapshot,
    AccountSource,
    SnapshotCorrupt,
    SnapshotEntry,
    SnapshotStore,
    UpstreamError,
    account_hash,
)
from reev.chain.jsonrpc import redact_url
from reev.chain.litesvm import FIXED_SLOT, LiteSVMChain
from reev.rpc.node import ChainNode

SECRET = "s3cret-api-key"
UPSTREAM_ONLY = {FORK_TOKEN, FORK_TOKEN_DATA, FORK_MEMO, FORK_MINT, TREASURY}


def reev(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reev.cli", *args],
        check=False,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env=subprocess_env(),
    )


def run_fork(
    cwd: Path, name: str, *args: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """`reev run` on the fork benchmark, 2 epochs at once; (process, the --output JSON)."""
    output = cwd / f"{name}.json"
    result = reev(
        cwd,
        "run",
        str(BENCHMARK),
        "--log-dir",
        str(cwd / name),
        "--output",
        str(output),
        "--epochs",
        "2",
        "--max-concurrency",
        "2",
        *args,
    )
    return result, json.loads(output.read_text()) if output.exists() else {}


def sessions(results: dict[str, Any]) -> list[dict[str, Any]]:
    return [json.loads(Path(r["session_file"]).read_text()) for r in results["results"]]


def signatures(session: dict[str, Any]) -> list[str]:
    return [t["signature"] for step in session["steps"] for t in step["transactions"]]


def forkable_suite(work: Path) -> Path:
    """The bundled benchmarks a fork can run: all but the `lend` ones, which need reev Lend's
    default market, and that (like the default AMM market) only an embedded chain gets
    (docs/lending.md). A fork refuses their share accounts with a SetupError naming them."""
    folder = work / "forkable"
    folder.mkdir(exist_ok=True)
    for path in sorted(BENCHMARKS.glob("*.yml")):
        if "lend" not in yaml.safe_load(path.read_text(encoding="utf-8")).get("tags", []):
            shutil.copy(path, folder / path.name)
    return folder


@dataclass
class Recorded:
    work: Path
    snapshot: Path
    record: subprocess.CompletedProcess[str]
    results: dict[str, Any]
    again: subprocess.CompletedProcess[str]
    absent: Pubkey
    upstream_stopped: bool


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Recorded:
    """Everything that needs the upstream, then the upstream is stopped: the other tests replay."""
    work = tmp_path_factory.mktemp("fork")
    snapshot = work / "snapshot"
    absent = Keypair.from_seed(bytes([9] * 32)).pubkey()
    with upstream(work) as node:
        host_port = node.url.removeprefix("http://")
        url = (
            f"http://reev:{SECRET}@{host_port}/?api-key={SECRET}"  # as RPC providers hand them out
        )
        record, results = run_fork(work, "record", "--fork-url", url, "--snapshot", str(snapshot))
        # Recording again over the same snapshot fetches nothing: the first sighting stays.
        again, _ = run_fork(work, "again", "--fork-url", url, "--snapshot", str(snapshot))
        # The whole bundled suite on a fork of a chain holding none of its accounts.
        suite = reev(
            work,
            "run",
            str(forkable_suite(work)),
            "--log-dir",
            str(work / "suite-record"),
            "-o",
            "suite-record.json",
            "--max-concurrency",
            "4",
            "--fork-url",
            url,
            "--snapshot",
            str(work / "suite-snapshot"),
        )
        assert suite.returncode == 0, suite.stderr[-2000:]
        # An address the upstream does not have is recorded as absent, not as missing.
        source = AccountSource(work / "absent-snapshot", url)
        assert LiteSVMChain(source).get_account(absent) is None
    return Recorded(work, snapshot, record, results, again, absent, node.process.poll() is not None)


@pytest.mark.slow
def test_recording_fetches_the_programs_and_accounts_the_task_needs(recorded):
    assert recorded.record.returncode == 0, recorded.record.stderr[-2000:]
    # The benchmark's expectations are derived from the upstream's state: all checks pass.
    expected = yaml.safe_load(BENCHMARK.read_text())["ground_truth"]["final_state_assertions"]
    treasury = next(a for a in expected if a.get("pubkey") == str(TREASURY))
    assert treasury["expected"] == TREASURY_LAMPORTS + 10_000_000
    for result in recorded.results["results"]:
        assert (result["status"], result["passed"], result["score"]) == ("Completed", True, 1.0), (
            result
        )
    # One file per upstream account, program data included; nothing that was local (the user's
    # wallet, LiteSVM's programs and sysvars).
    files = {Pubkey.from_string(p.stem) for p in recorded.snapshot.glob("*.json")}
    assert files == UPSTREAM_ONLY
    upstream_state = dict(upstream_accounts())
    for address in UPSTREAM_ONLY:
        entry = SnapshotEntry.model_validate_json(
            (recorded.snapshot / f"{address}.json").read_text()
        )
        account = entry.account()
        assert entry.exists and entry.slot > 0 and entry.sha256 == account_hash(account)
        original = upstream_state[address]
        assert (account.lamports, bytes(account.data), account.owner, account.executable) == (
            original.lamports,
            bytes(original.data),
            original.owner,
            original.executable,
        )
    # Two concurrent epochs, one fetch per account.
    assert "5 accounts, 5 fetched" in recorded.record.stderr
    assert "5 accounts, 0 fetched" in recorded.again.stderr
    for session in sessions(recorded.results):
        fork = session["fork"]
        assert fork["mode"] == "record" and fork["upstream"].startswith("http://127.0.0.1:")
        assert {Pubkey.from_string(a["address"]) for a in fork["accounts"]} == UPSTREAM_ONLY


@pytest.mark.slow
def test_the_upstream_api_key_is_written_nowhere(recorded):
    assert recorded.record.returncode == 0
    written = [p for p in recorded.work.rglob("*") if p.is_file()]
    assert len(written) > 10
    leaks = [p for p in written if SECRET in p.read_text(encoding="utf-8", errors="replace")]
    assert leaks == []
    assert SECRET not in recorded.record.stdout + recorded.record.stderr


@pytest.mark.slow
def test_absent_accounts_are_recorded_and_replay_as_absent(recorded):
    entry = SnapshotEntry.model_validate_json(
        (recorded.work / "absent-snapshot" / f"{recorded.absent}.json").read_text()
    )
    assert entry.exists is False and entry.slot > 0
    replay = LiteSVMChain(AccountSource(recorded.work / "absent-snapshot"))
    assert replay.get_account(recorded.absent) is None
    with pytest.raises(AccountNotInSnapshot, match=str(TREASURY)):
        replay.get_account(TREASURY)


@pytest.mark.slow
def test_offline_replay_gives_identical_signatures_and_final_state(recorded):
    assert recorded.upstream_stopped
    replay, results = run_fork(recorded.work, "replay", "--snapshot", str(recorded.snapshot))
    assert replay.returncode == 0, replay.stderr[-2000:]
    assert "(replay, offline)" in replay.stderr
    before = {s["epoch"]: s for s in sessions(recorded.results)}
    after = {s["epoch"]: s for s in sessions(results)}
    assert before.keys() == after.keys() == {0, 1}
    for epoch, session in after.items():
        assert signatures(session) and signatures(session) == signatures(before[epoch])
        assert session["state"]["final"] == before[epoch]["state"]["final"]
        assert session["final_result"] == before[epoch]["final_result"]
        assert session["fork"]["mode"] == "replay" and session["fork"]["upstream"] is None
        assert session["fork"]["accounts"] == before[epoch]["fork"]["accounts"]


@pytest.mark.slow
def test_a_missing_account_in_replay_is_an_error_naming_it(recorded, tmp_path):
    partial = tmp_path / "partial"
    shutil.copytree(recorded.snapshot, partial)
    (partial / f"{TREASURY}.json").unlink()
    result, results = run_fork(tmp_path, "partial", "--snapshot", str(partial))
    assert result.returncode == 1
    for episode in results["results"]:
        assert episode["status"] == "Failed" and not episode["passed"]
        assert f"account {TREASURY} is not in the snapshot {partial}" in episode["error"]
    assert str(TREASURY) in result.stderr


@pytest.mark.slow
def test_an_edited_snapshot_file_is_refused(recorded, tmp_path):
    edited = tmp_path / "edited"
    shutil.copytree(recorded.snapshot, edited)
    path = edited / f"{TREASURY}.json"
    data = json.loads(path.read_text())
    data["lamports"] += 1
    path.write_text(json.dumps(data))
    result, results = run_fork(tmp_path, "edited", "--snapshot", str(edited))
    assert result.returncode == 1
    assert all(
        "sha256 does not match" in r["error"] and str(path) in r["error"]
        for r in results["results"]
    )


@pytest.mark.slow
def test_chain_serve_replays_a_snapshot_for_any_client(recorded, tmp_path):
    """`reev chain serve --snapshot`: solana-py reads the forked program and calls it."""
    with chain_serve(
        BENCHMARK, tmp_path, "--snapshot", str(recorded.snapshot), "--ws-port", "-1"
    ) as info:
        assert info["fork"] == {
            "snapshot": str(recorded.snapshot),
            "upstream": None,
            "mode": "replay",
        }
        user = Keypair.from_bytes(bytes(json.loads(Path(info["keypair"]).read_text())))

        async def scenario() -> None:
            async with AsyncClient(info["rpc_url"]) as client:
                program = (await client.get_account_info(FORK_TOKEN)).value
                assert program is not None and program.executable
                assert (await client.get_balance(TREASURY)).value == TREASURY_LAMPORTS
                blockhash = (await client.get_latest_blockhash()).value.blockhash
                to_ui = Instruction(
                    FORK_TOKEN,
                    bytes([23]) + (1_500_000).to_bytes(8, "little"),
                    [AccountMeta(FORK_MINT, False, False)],
                )
                tx = Transaction([user], Message([to_ui], user.pubkey()), blockhash)
                signature = (
                    await client.send_transaction(tx, opts=TxOpts(preflight_commitment="confirmed"))
                ).value
                await client.confirm_transaction(signature, commitment="confirmed")
                landed = (await client.get_transaction(signature, commitment="confirmed")).value
                logs = landed.transaction.meta.log_messages
                assert f"Program return: {FORK_TOKEN} MS41" in logs  # "1.5": the mint's 6 decimals
                # An account the snapshot lacks: a JSON-RPC error naming it, and the server goes on.
                unknown = Pubkey.from_string("7YttLkHDoNj9wyDur5pM1ejNaAvT9X4eqaYHHQqtA3kN")
                answer = call(info["rpc_url"], "getAccountInfo", [str(unknown)])
                assert (
                    answer["error"]["code"] == -32603 and str(unknown) in answer["error"]["message"]
                )
                assert (await client.get_balance(user.pubkey())).value > 0
                # Cheat codes write without reading: a fresh address can be set offline…
                fresh = Keypair.from_seed(bytes([5] * 32)).pubkey()
                set_account = call(
                    info["rpc_url"], "surfnet_setAccount", [str(fresh), {"lamports": 7}]
                )
                assert "error" not in set_account and (await client.get_balance(fresh)).value == 7
                # …but a transfer to an address the recording never saw cannot be replayed.
                other = Keypair.from_seed(bytes([6] * 32)).pubkey()
                airdrop = call(info["rpc_url"], "requestAirdrop", [str(other), 1000])
                assert str(other) in airdrop["error"]["message"]

        asyncio.run(scenario())


def test_an_unreachable_upstream_is_an_error_without_the_key(tmp_path):
    source = AccountSource(tmp_path / "snap", f"http://reev:{SECRET}@127.0.0.1:9/?api-key={SECRET}")
    with pytest.raises(UpstreamError) as caught:
        LiteSVMChain(source).get_account(TREASURY)
    assert "http://127.0.0.1:9" in str(caught.value) and SECRET not in str(caught.value)
    assert not (tmp_path / "snap").exists()  # nothing recorded for a failed fetch


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        ("https://mainnet.helius-rpc.com/?api-key=abc", "https://mainnet.helius-rpc.com"),
        ("https://x.solana-mainnet.quiknode.pro/abc123/", "https://x.solana-mainnet.quiknode.pro"),
        ("http://user:pw@127.0.0.1:8899", "http://127.0.0.1:8899"),
        ("http://[::1]:8899/path", "http://[::1]:8899"),
    ],
)
def test_redact_url_keeps_scheme_host_and_port_only(url, redacted):
    assert redact_url(url) == redacted


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fork-url", "http://127.0.0.1:9"], "add --snapshot DIR"),
        (["--snapshot", "does-not-exist"], "record one with --fork-url"),
        (["--fork-url", "ftp://x", "--snapshot", "s"], "must be an http(s) URL"),
        (
            ["--snapshot", ".", "--chain", "rpc", "--rpc-url", "http://127.0.0.1:9"],
            "not with --chain rpc",
        ),
    ],
)
def test_bad_fork_options_are_refused(tmp_path, args, message):
    result = reev(tmp_path, "run", str(BENCHMARK), *args)
    assert result.returncode == 2 and message in result.stderr


@pytest.mark.slow
def test_validate_dry_runs_a_fork_benchmark_on_its_snapshot(recorded, tmp_path):
    plain = reev(tmp_path, "validate", str(BENCHMARK))
    # Without the snapshot the programs it calls do not exist: said, naming --snapshot.
    assert plain.returncode == 2 and "needs a fork" in plain.stderr, plain.stderr
    assert "--snapshot DIR" in plain.stderr
    forked = reev(tmp_path, "validate", str(BENCHMARK), "--snapshot", str(recorded.snapshot))
    assert forked.returncode == 0 and "1 benchmark(s) valid" in forked.stdout, forked.stderr


@pytest.mark.slow
def test_the_bundled_suite_on_a_fork_scores_and_signs_as_on_the_plain_chain(recorded):
    """Accounts the suite creates (new ATAs, new accounts, recipients) are looked up upstream,
    recorded as absent, and replayed as absent: nothing changes the outcome."""
    suite = forkable_suite(recorded.work)
    plain = reev(
        recorded.work,
        "run",
        str(suite),
        "--log-dir",
        str(recorded.work / "suite-plain"),
        "-o",
        "suite-plain.json",
    )
    replay = reev(
        recorded.work,
        "run",
        str(suite),
        "--log-dir",
        str(recorded.work / "suite-replay"),
        "-o",
        "suite-replay.json",
        "--snapshot",
        str(recorded.work / "suite-snapshot"),
    )
    assert plain.returncode == 0 and replay.returncode == 0, replay.stderr[-2000:]
    runs = {}
    for name in ("suite-plain", "suite-record", "suite-replay"):
        results = json.loads((recorded.work / f"{name}.json").read_text())
        runs[name] = {
            s["benchmark_id"]: (
                s["final_result"]["score"],
                s["final_result"]["status"],
                signatures(s),
            )
            for s in sessions(results)
        }
    assert len(runs["suite-plain"]) == len(list(suite.glob("*.yml")))  # every forkable benchmark
    assert len(list(suite.glob("*.yml"))) < len(list(BENCHMARKS.glob("*.yml")))
    assert runs["suite-record"] == runs["suite-plain"] == runs["suite-replay"]
    recorded_files = list((recorded.work / "suite-snapshot").glob("*.json"))
    assert recorded_files and all(not json.loads(p.read_text())["exists"] for p in recorded_files)


def _entry_file(tmp_path: Path) -> tuple[Path, Path, dict[str, Any]]:
    directory = tmp_path / "snap"

    store = SnapshotStore(directory)
    account = dict(upstream_accounts())[TREASURY]
    store.put(SnapshotEntry.of(TREASURY, account, slot=7, source="http://127.0.0.1:1"))
    path = store.path(TREASURY)
    return directory, path, json.loads(path.read_text())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(owner=None), "an existing account needs an `owner`"),
        (lambda d: d.update(lamports=-1), "lamports"),
        (lambda d: d.update(lamports=2**64), "lamports"),
        (lambda d: d.update(exists=False), "sha256 does not match"),
        (lambda d: d.update(lamports=d["lamports"] + 1), "sha256 does not match"),
        (lambda d: d.pop("sha256"), "sha256"),
        (lambda d: d.update(owner="not-base58!"), "path"),
        (lambda d: d.update(data="%%%"), "path"),
        (lambda d: d.update(surprise=1), "surprise"),
        (lambda d: d.update(address=str(FORK_MINT)), f"holds account {FORK_MINT}"),
    ],
)
def test_snapshot_files_that_do_not_parse_or_match_are_refused(tmp_path, change, message):
    directory, path, data = _entry_file(tmp_path)
    change(data)
    path.write_text(json.dumps(data))
    with pytest.raises(SnapshotCorrupt) as caught:
        LiteSVMChain(AccountSource(directory)).get_account(TREASURY)
    assert str(path) in str(caught.value)
    assert message == "path" or message in str(caught.value)


def test_a_snapshot_file_that_is_not_utf8_is_refused(tmp_path):
    directory, path, _ = _entry_file(tmp_path)
    path.write_bytes(b"\xff\xfe{garbage")
    with pytest.raises(SnapshotCorrupt, match="not UTF-8"):
        LiteSVMChain(AccountSource(directory)).get_account(TREASURY)


def test_a_forked_lookup_table_extended_after_the_pinned_clock_is_usable(tmp_path):
    """Mainnet tables were last extended after reev's pinned slot; their addresses must still
    resolve, as they do on the upstream."""
    table, recipient = Pubkey.from_string("7YttLkHDoNj9wyDur5pM1ejNaAvT9X4eqaYHHQqtA3kN"), TREASURY
    meta = (
        (1).to_bytes(4, "little")
        + (2**64 - 1).to_bytes(8, "little")  # a table, never deactivated
        + (FIXED_SLOT + 30_000_000).to_bytes(8, "little")
        + bytes([0])  # extended long after the pin
    )
    data = meta.ljust(56, b"\x00") + bytes(recipient)
    alt_program = Pubkey.from_string("AddressLookupTab1e1111111111111111111111111")
    store = SnapshotStore(tmp_path / "snap")

    store.put(
        SnapshotEntry.of(
            table,
            Account(10**7, data, alt_program, False, 0),
            slot=FIXED_SLOT + 30_000_001,
            source="x",
        )
    )
    store.put(SnapshotEntry.of(recipient, None, slot=FIXED_SLOT + 30_000_001, source="x"))
    chain = LiteSVMChain(AccountSource(tmp_path / "snap"))
    user = Keypair.from_seed(bytes([3] * 32))
    chain.set_account(
        user.pubkey(),
        Account(10**9, b"", Pubkey.from_string("11111111111111111111111111111111"), False, 0),
    )
    node = ChainNode(chain)
    blockhash, _ = node.latest_blockhash()
    pay = transfer(
        TransferParams(from_pubkey=user.pubkey(), to_pubkey=recipient, lamports=5_000_000)
    )
    message = MessageV0.try_compile(
        user.pubkey(), [pay], [AddressLookupTableAccount(table, [recipient])], blockhash
    )
    assert len(message.address_table_lookups) == 1  # the recipient really comes from the table
    assert node.submit(VersionedTransaction(message, [user])) is None
    record = node.records[VersionedTransaction(message, [user]).signatures[0]]
    assert record.err is None and chain.get_account(recipient).lamports == 5_000_000
    # The snapshot keeps the upstream's bytes; only the loaded copy is adjusted.
    assert (
        SnapshotStore(tmp_path / "snap").get(table).data
        == SnapshotEntry.of(
            table, Account(10**7, data, alt_program, False, 0), slot=0, source="x"
        ).data
    )


AGENT = """
import json, os, urllib.request
request = {"jsonrpc": "2.0", "id": 1, "method": "getAccountInfo", "params": [os.environ["ASK_FOR"], {"encoding": "base64"}]}
answer = urllib.request.urlopen(urllib.request.Request(
    os.environ["REEV_RPC_URL"], json.dumps(request).encode(), {"content-type": "application/json"})).read()
print(json.dumps({"answer": json.loads(answer), "token": os.environ.get("REEV_API_TOKEN")}))
"""


@pytest.mark.slow
def test_agent_cmd_on_a_fork_fails_the_episode_when_the_snapshot_lacks_an_account(
    recorded, tmp_path
):
    """The agent is not scored on a chain that is missing state; reev's own secrets stay out of
    the agent's environment and out of the session file."""
    partial = tmp_path / "partial"
    shutil.copytree(recorded.snapshot, partial)
    (partial / f"{FORK_MEMO}.json").unlink()
    agent = tmp_path / "agent.py"
    agent.write_text(AGENT)
    env = subprocess_env(ASK_FOR=str(FORK_MEMO), REEV_API_TOKEN=SECRET)
    outcomes = {}
    for name, snapshot in (("full", recorded.snapshot), ("partial", partial)):
        output = tmp_path / f"{name}.json"
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "reev.cli",
                "run",
                str(BENCHMARK),
                "--snapshot",
                str(snapshot),
                "--agent-cmd",
                f"{sys.executable} {agent}",
                "--log-dir",
                str(tmp_path / name),
                "-o",
                str(output),
            ],
            check=False,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
        )
        outcomes[name] = (result, json.loads(output.read_text())["results"][0])
    full, partial_run = outcomes["full"][1], outcomes["partial"][1]
    assert (
        full["status"] == "Completed" and full["error"] is None
    )  # it asked for an account the snapshot has
    assert outcomes["partial"][0].returncode == 1
    assert (
        partial_run["status"] == "Failed"
        and f"account {FORK_MEMO} is not in the snapshot" in partial_run["error"]
    )
    session_text = Path(partial_run["session_file"]).read_text()
    stdout = json.loads(
        json.loads(session_text)["steps"][0]["model_calls"][0]["response"]["stdout"]
    )
    assert stdout["answer"]["error"]["code"] == -32603 and stdout["token"] is None
    assert SECRET not in session_text and SECRET not in Path(full["session_file"]).read_text()


@pytest.mark.slow
def test_the_committed_example_snapshot_replays_and_matches_a_fresh_recording(recorded, tmp_path):
    """tests/fork/snapshot is what users can replay out of the box. If it ever differs from a
    fresh recording (say a solders upgrade ships another SPL Token ELF), re-record it: start
    tests/helpers/fork_upstream.py's upstream and run `reev run tests/fork/fork-001-upstream-programs.yml
    --fork-url URL --snapshot tests/fork/snapshot` on an emptied directory."""
    committed = BENCHMARK.parent / "snapshot"
    for path in recorded.snapshot.glob("*.json"):
        fresh, example = (
            json.loads(path.read_text()),
            json.loads((committed / path.name).read_text()),
        )
        fresh.pop("source"), example.pop("source")
        assert fresh == example, path.name
    assert {p.name for p in committed.glob("*.json")} == {
        p.name for p in recorded.snapshot.glob("*.json")
    }
    result, results = run_fork(tmp_path, "example", "--snapshot", str(committed))
    assert result.returncode == 0 and all(
        r["score"] == 1.0 and r["passed"] for r in results["results"]
    )
