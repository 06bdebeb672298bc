"""Benchmark YAML loading: validated models, and file:line:field diagnostics for every problem."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from reev.spec import BenchmarkError, Diagnostic, load_benchmark, load_many, parse_benchmark

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
FILE = "bench/example.yml"
USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
TOKEN_PROGRAM = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"


def yaml_text(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def line_of(text: str, marker: str) -> int:
    """The 1-based number of the one line of `text` that contains `marker`."""
    hits = [number for number, line in enumerate(text.splitlines(), start=1) if marker in line]
    assert len(hits) == 1, f"marker {marker!r} must occur on exactly one line, found {hits}"
    return hits[0]


def errors_of(source: str, *, file: str = FILE, strict: bool = False) -> list[Diagnostic]:
    with pytest.raises(BenchmarkError) as info:
        parse_benchmark(source, file, strict=strict)
    diagnostics = info.value.diagnostics
    assert diagnostics, "a BenchmarkError must carry at least one diagnostic"
    return diagnostics


def only(diagnostics: list[Diagnostic]) -> Diagnostic:
    assert len(diagnostics) == 1, [str(d) for d in diagnostics]
    return diagnostics[0]


# --------------------------------------------------------------------------- bundled benchmarks


def bundled_files() -> list[Path]:
    files = sorted(p for p in BENCHMARKS.iterdir() if p.suffix in (".yml", ".yaml"))
    assert files, f"no benchmark files found in {BENCHMARKS}"
    return files


@pytest.mark.parametrize("path", bundled_files(), ids=lambda p: p.name)
def test_bundled_benchmark_loads_without_warnings(path: Path) -> None:
    loaded = load_benchmark(path)
    assert loaded.warnings == []
    assert loaded.path == path
    assert loaded.source == path.read_text(encoding="utf-8")
    # Strict mode turns warnings into errors, so it must accept every bundled file too.
    strict = load_benchmark(path, strict=True)
    assert strict.benchmark == loaded.benchmark


def test_load_many_loads_every_bundled_file_without_errors() -> None:
    loaded, errors = load_many([BENCHMARKS])
    assert errors == []
    assert sorted(item.path.name for item in loaded) == [p.name for p in bundled_files()]
    ids = [item.benchmark.id for item in loaded]
    assert len(ids) == len(set(ids))
    assert all(item.warnings == [] for item in loaded)


# --------------------------------------------------------------------------- YAML syntax errors


def test_bad_indentation_names_file_and_line_of_the_problem() -> None:
    source = yaml_text(
        """
        id: bad-indent
        prompt: hello
        ground_truth:
          final_state_assertions:
            - type: SolBalance
             pubkey: USER_WALLET_PUBKEY
              expected: 5
        """
    )
    diagnostic = only(errors_of(source))
    assert diagnostic.file == FILE
    assert diagnostic.severity == "error"
    assert diagnostic.line == line_of(source, "pubkey: USER_WALLET_PUBKEY")
    assert "invalid YAML" in diagnostic.message
    assert str(diagnostic).startswith(f"{FILE}:{diagnostic.line}: error:")


def test_mapping_indented_under_a_scalar_names_the_line_of_the_problem() -> None:
    source = yaml_text(
        """
        id: bad-indent-2
        description: a scalar
        prompt: hello
          tags: [a, b]
        """
    )
    diagnostic = only(errors_of(source))
    assert diagnostic.file == FILE
    assert diagnostic.line == line_of(source, "tags: [a, b]")


def test_empty_file_is_an_error() -> None:
    diagnostic = only(errors_of("# only a comment\n"))
    assert diagnostic.file == FILE
    assert "empty" in diagnostic.message


def test_a_list_at_the_top_level_is_an_error() -> None:
    diagnostic = only(errors_of("- id: x\n  prompt: y\n"))
    assert diagnostic.file == FILE
    assert diagnostic.line == 1
    assert "mapping" in diagnostic.message


# --------------------------------------------------------------------------- validation errors


def test_missing_prompt_names_the_field_and_the_line_of_its_mapping() -> None:
    source = yaml_text(
        """
        # A header comment: the benchmark mapping itself starts below it.

        id: no-prompt
        description: forgot the prompt
        """
    )
    diagnostic = only(errors_of(source))
    assert diagnostic.file == FILE
    assert diagnostic.field == "prompt"
    assert diagnostic.line == line_of(source, "id: no-prompt")
    assert "missing" in diagnostic.message
    assert diagnostic.severity == "error"


def test_missing_prompt_in_a_flow_step_names_the_step_and_its_line() -> None:
    source = yaml_text(
        """
        id: flow-no-prompt
        prompt: do two things
        flow:
          - step: 1
            prompt: first thing
          - step: 2
            description: the second step has no prompt
        """
    )
    diagnostic = only(errors_of(source))
    assert diagnostic.field == "flow[1].prompt"
    assert diagnostic.line == line_of(source, "step: 2")


def test_unknown_assertion_type_points_at_the_list_item() -> None:
    source = yaml_text(
        """
        id: unknown-assertion
        prompt: hello
        ground_truth:
          final_state_assertions:
            - type: SolBalance
              pubkey: USER_WALLET_PUBKEY
              expected: 5
            - type: NoSuchAssertion
              pubkey: USER_WALLET_PUBKEY
        """
    )
    diagnostic = only(errors_of(source))
    assert diagnostic.file == FILE
    assert diagnostic.field is not None
    assert diagnostic.field.startswith("ground_truth.final_state_assertions[1]")
    assert diagnostic.line == line_of(source, "type: NoSuchAssertion")
    assert "NoSuchAssertion" in diagnostic.message


def test_unknown_assertion_type_at_index_zero() -> None:
    source = yaml_text(
        """
        id: unknown-assertion-0
        prompt: hello
        ground_truth:
          final_state_assertions:
            - type: Bogus
              pubkey: USER_WALLET_PUBKEY
        """
    )
    diagnostic = only(errors_of(source))
    assert diagnostic.field is not None
    assert diagnostic.field.startswith("ground_truth.final_state_assertions[0]")
    assert diagnostic.line == line_of(source, "type: Bogus")


def test_non_numeric_expected_amount_names_field_and_line() -> None:
    source = yaml_text(
        """
        id: lots
        prompt: hello
        ground_truth:
          final_state_assertions:
            - type: SolBalance
              pubkey: USER_WALLET_PUBKEY
              weight: 1.0
              expected: lots
        """
    )
    diagnostic = only(errors_of(source))
    assert diagnostic.file == FILE
    assert diagnostic.field == "ground_truth.final_state_assertions[0].expected"
    assert diagnostic.line == line_of(source, "expected: lots")
    assert "lots" in diagnostic.message


def test_fractional_base_unit_amount_is_rejected() -> None:
    source = yaml_text(
        """
        id: fraction
        prompt: hello
        ground_truth:
          final_state_assertions:
            - type: TokenAccountBalance
              pubkey: USER_USDC_ATA
              expected: 1.5
        """
    )
    diagnostic = only(errors_of(source))
    assert diagnostic.field == "ground_truth.final_state_assertions[0].expected"
    assert diagnostic.line == line_of(source, "expected: 1.5")


def test_non_numeric_token_amount_in_initial_state_names_field_and_line() -> None:
    source = yaml_text(
        f"""
        id: bad-token-amount
        prompt: hello
        initial_state:
          - pubkey: USER_WALLET_PUBKEY
            lamports: 1000000000
          - pubkey: USER_USDC_ATA
            owner: {TOKEN_PROGRAM}
            data:
              mint: {USDC}
              owner: USER_WALLET_PUBKEY
              amount: fifty
        """
    )
    diagnostic = only(errors_of(source))
    assert diagnostic.file == FILE
    assert diagnostic.field == "initial_state[1].data.amount"
    assert diagnostic.line == line_of(source, "amount: fifty")


def test_non_numeric_lamports_names_field_and_line() -> None:
    source = yaml_text(
        """
        id: bad-lamports
        prompt: hello
        initial_state:
          - pubkey: USER_WALLET_PUBKEY
            lamports: plenty
        """
    )
    diagnostic = only(errors_of(source))
    assert diagnostic.field == "initial_state[0].lamports"
    assert diagnostic.line == line_of(source, "lamports: plenty")


def test_every_error_in_a_file_is_reported() -> None:
    source = yaml_text(
        """
        id: two-errors
        prompt: hello
        initial_state:
          - pubkey: USER_WALLET_PUBKEY
            lamports: plenty
        ground_truth:
          final_state_assertions:
            - type: SolBalance
              pubkey: USER_WALLET_PUBKEY
              expected: lots
        """
    )
    diagnostics = errors_of(source)
    by_field = {d.field: d.line for d in diagnostics}
    assert by_field == {
        "initial_state[0].lamports": line_of(source, "lamports: plenty"),
        "ground_truth.final_state_assertions[0].expected": line_of(source, "expected: lots"),
    }
    assert all(d.file == FILE for d in diagnostics)


def test_load_benchmark_names_the_file_path(tmp_path: Path) -> None:
    source = yaml_text(
        """
        id: on-disk
        description: no prompt here
        """
    )
    path = tmp_path / "on-disk.yml"
    path.write_text(source, encoding="utf-8")
    with pytest.raises(BenchmarkError) as info:
        load_benchmark(path)
    diagnostic = only(info.value.diagnostics)
    assert diagnostic.file == str(path)
    assert diagnostic.field == "prompt"
    assert str(path) in str(info.value)


def test_load_benchmark_of_a_missing_file_is_a_benchmark_error(tmp_path: Path) -> None:
    path = tmp_path / "absent.yml"
    with pytest.raises(BenchmarkError) as info:
        load_benchmark(path)
    assert only(info.value.diagnostics).file == str(path)


def test_load_many_collects_errors_from_every_file_and_keeps_the_good_ones(tmp_path: Path) -> None:
    good = "id: good\nprompt: fine\n"
    bad_yaml = "id: bad\nprompt: x\n  oops: 1\n"
    no_prompt = "id: no-prompt\n"
    duplicate = "id: good\nprompt: same id again\n"
    (tmp_path / "a-good.yml").write_text(good)
    (tmp_path / "b-bad.yaml").write_text(bad_yaml)
    (tmp_path / "c-no-prompt.yml").write_text(no_prompt)
    (tmp_path / "d-duplicate.yml").write_text(duplicate)
    (tmp_path / "notes.txt").write_text("not a benchmark")

    loaded, errors = load_many([tmp_path])

    assert [item.benchmark.id for item in loaded] == ["good"]
    by_file = {Path(d.file).name: d for d in errors}
    assert set(by_file) == {"b-bad.yaml", "c-no-prompt.yml", "d-duplicate.yml"}
    assert by_file["b-bad.yaml"].line == line_of(bad_yaml, "oops")
    assert by_file["c-no-prompt.yml"].field == "prompt"
    assert by_file["d-duplicate.yml"].field == "id"
    assert "duplicate" in by_file["d-duplicate.yml"].message


def test_load_many_reports_a_missing_path(tmp_path: Path) -> None:
    loaded, errors = load_many([tmp_path / "nowhere"])
    assert loaded == []
    assert only(errors).file == str(tmp_path / "nowhere")


# --------------------------------------------------------------------------- unknown fields


UNKNOWN_FIELDS = yaml_text(
    """
    id: unknown-fields
    prompt: hello
    difficulty: hard
    ground_truth:
      final_state_assertions:
        - type: SolBalance
          pubkey: USER_WALLET_PUBKEY
          expected: 5
          colour: red
    """
)


def test_unknown_fields_are_warnings_with_file_line_and_field() -> None:
    loaded = parse_benchmark(UNKNOWN_FIELDS, FILE)
    assert loaded.benchmark.id == "unknown-fields"
    warnings = {w.field: w for w in loaded.warnings}
    assert set(warnings) == {"difficulty", "ground_truth.final_state_assertions[0].colour"}
    assert warnings["difficulty"].line == line_of(UNKNOWN_FIELDS, "difficulty: hard")
    assert warnings["ground_truth.final_state_assertions[0].colour"].line == line_of(
        UNKNOWN_FIELDS, "colour: red"
    )
    for warning in loaded.warnings:
        assert warning.severity == "warning"
        assert warning.file == FILE
        assert "warning" in str(warning)


def test_unknown_fields_are_errors_in_strict_mode() -> None:
    diagnostics = errors_of(UNKNOWN_FIELDS, strict=True)
    fields = {d.field: d for d in diagnostics}
    assert set(fields) == {"difficulty", "ground_truth.final_state_assertions[0].colour"}
    assert fields["difficulty"].line == line_of(UNKNOWN_FIELDS, "difficulty: hard")
    assert all(d.severity == "error" and d.file == FILE for d in diagnostics)


def test_strict_mode_rejects_unknown_fields_in_load_many(tmp_path: Path) -> None:
    (tmp_path / "x.yml").write_text(UNKNOWN_FIELDS)
    loaded, errors = load_many([tmp_path], strict=True)
    assert loaded == []
    assert {d.field for d in errors} == {
        "difficulty",
        "ground_truth.final_state_assertions[0].colour",
    }
    lenient, no_errors = load_many([tmp_path])
    assert no_errors == []
    assert len(lenient[0].warnings) == 2


# --------------------------------------------------------------------------- original reev format


ORIGINAL_FLOW = yaml_text(
    f"""
    id: 200-jup-swap-then-lend-deposit
    description: Multi-step flow - User swaps SOL to USDC then deposits USDC into lending
    tags: ["jupiter", "swap", "lend", "multi-step", "flow"]

    initial_state:
      - pubkey: "USER_WALLET_PUBKEY"
        owner: "11111111111111111111111111111111"
        lamports: 5000000000

      - pubkey: "USER_USDC_ATA"
        owner: "{TOKEN_PROGRAM}"
        lamports: 2039280
        data:
          mint: "{USDC}"
          owner: "USER_WALLET_PUBKEY"
          amount: "50000000"

    prompt: "Swap 0.5 SOL to USDC, then deposit all received USDC."

    flow:
      - step: 1
        description: "Swap 0.5 SOL to USDC"
        prompt: "Swap 0.5 SOL from my wallet to USDC."
        critical: true
        timeout: 30

      - step: 2
        description: "Deposit received USDC"
        prompt: "Deposit all the USDC I just received."
        depends_on: ["step_1_result"]
        critical: false
        timeout: 12.5

    ground_truth:
      min_score: 0.6
      skip_instruction_validation: true
      final_state_assertions:
        - type: SolBalance
          pubkey: "USER_WALLET_PUBKEY"
          expected: 1500000000
          weight: 0.3
        - type: TokenAccountBalance
          pubkey: "USER_USDC_ATA"
          expected: 50000000
          weight: 0.4
    """
)


def test_original_reev_flow_format_loads_unchanged() -> None:
    loaded = parse_benchmark(ORIGINAL_FLOW, FILE)
    assert loaded.warnings == []
    b = loaded.benchmark
    assert b.id == "200-jup-swap-then-lend-deposit"
    assert b.tags == ["jupiter", "swap", "lend", "multi-step", "flow"]

    wallet, ata = b.initial_state
    assert wallet.pubkey == "USER_WALLET_PUBKEY"
    assert wallet.lamports == 5_000_000_000
    assert wallet.data is None
    assert ata.owner == TOKEN_PROGRAM
    assert ata.lamports == 2_039_280
    assert ata.data is not None
    assert ata.data.mint == USDC
    assert ata.data.owner == "USER_WALLET_PUBKEY"
    assert ata.data.amount == 50_000_000  # the quoted "50000000" becomes an integer
    assert isinstance(ata.data.amount, int)

    assert b.is_flow
    assert b.step_count == 2
    first, second = b.flow
    assert (first.step, first.critical, first.timeout, first.depends_on) == (1, True, 30, [])
    assert (second.step, second.critical, second.timeout) == (2, False, 12.5)
    assert second.depends_on == ["step_1_result"]
    assert second.prompt == "Deposit all the USDC I just received."

    gt = b.ground_truth
    assert gt.min_score == 0.6
    assert gt.skip_instruction_validation is True
    assert gt.transaction_status == "Success"
    assert [a.type for a in gt.final_state_assertions] == ["SolBalance", "TokenAccountBalance"]
    assert [a.weight for a in gt.final_state_assertions] == [0.3, 0.4]
    assert gt.final_state_assertions[0].expected == 1_500_000_000
    assert gt.final_state_assertions[1].expected == 50_000_000


def test_original_reev_extras_load_with_warnings_only() -> None:
    """Original files also carry keys reev does not use (`success_criteria`, an assertion's
    `mint`): they still load, and each extra key is a warning on its own line."""
    source = ORIGINAL_FLOW + (
        '  success_criteria:\n    - type: "steps_completed"\n      required: 2\n      weight: 0.5\n'
    )
    source = source.replace(
        "      expected: 50000000\n", "      mint: USDC_MINT_EXTRA\n      expected: 50000000\n"
    )
    loaded = parse_benchmark(source, FILE)
    assert loaded.benchmark.ground_truth.final_state_assertions[1].expected == 50_000_000
    warnings = {w.field: w.line for w in loaded.warnings}
    assert warnings == {
        "ground_truth.final_state_assertions[1].mint": line_of(source, "mint: USDC_MINT_EXTRA"),
        "ground_truth.success_criteria": line_of(source, "success_criteria:"),
    }
    assert all(w.severity == "warning" for w in loaded.warnings)


def test_original_reev_transfer_format_loads_unchanged() -> None:
    source = yaml_text(
        f"""
        id: 002-SPL-TRANSFER
        description: A simple SPL token transfer of real USDC.
        tags: ["spl-token", "transfer", "usdc"]
        initial_state:
          - pubkey: "USER_WALLET_PUBKEY"
            owner: "11111111111111111111111111111111" # System Program
            lamports: 1000000000 # 1 SOL
          - pubkey: "RECIPIENT_USDC_ATA"
            owner: "{TOKEN_PROGRAM}"
            lamports: 2039280 # Rent
            data:
              mint: "{USDC}"
              owner: "RECIPIENT_WALLET_PUBKEY"
              amount: "0"
        prompt: "Please send 15 USDC to RECIPIENT_USDC_ATA."
        ground_truth:
          final_state_assertions:
            - type: TokenAccountBalance
              pubkey: "RECIPIENT_USDC_ATA"
              expected: 15000000
              weight: 1.0
          expected_instructions:
            - program_id: "{TOKEN_PROGRAM}"
              program_id_weight: 1.0
              accounts:
                - pubkey: "RECIPIENT_USDC_ATA"
                  is_signer: false
                  is_writable: true
                  weight: 1.0
              data: "..."
              data_weight: 0.0
        """
    )
    loaded = parse_benchmark(source, FILE)
    assert loaded.warnings == []
    b = loaded.benchmark
    assert b.initial_state[1].data.amount == 0
    assert not b.is_flow
    (ix,) = b.ground_truth.expected_instructions
    assert ix.program_id == TOKEN_PROGRAM
    assert ix.checks_data is False
    assert ix.effective_data_weight == 0.0
    assert [(m.pubkey, m.is_signer, m.is_writable) for m in ix.accounts] == [
        ("RECIPIENT_USDC_ATA", False, True)
    ]
