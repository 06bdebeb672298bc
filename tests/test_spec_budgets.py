"""Hostile benchmark YAML (issue 16): alias bombs, deep nesting, huge lists and control characters
are refused with file:line diagnostics, and libyaml changes nothing users can see."""

from __future__ import annotations

import resource
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from helpers.yaml_bombs import alias_bomb, bomb_refusal_line
from reev.spec import BenchmarkError, Diagnostic, parse_benchmark
from reev.spec import bounded_yaml as by

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
SYSTEM = "11111111111111111111111111111111"
MEMORY_LIMIT = 1 << 30  # 1 GiB of address space: a regression fails with MemoryError, no more


def errors_of(source: str, file: str = "bench/hostile.yml") -> list[Diagnostic]:
    with pytest.raises(BenchmarkError) as info:
        parse_benchmark(source, file)
    assert info.value.diagnostics
    return info.value.diagnostics


def only(diagnostics: list[Diagnostic]) -> Diagnostic:
    assert len(diagnostics) == 1, [str(d) for d in diagnostics]
    return diagnostics[0]


# --------------------------------------------------------------------------- alias bombs


def test_the_billion_laughs_is_refused_at_the_line_where_the_budget_runs_out() -> None:
    bomb = alias_bomb()
    line = bomb_refusal_line(9, 9, by.MAX_NODES)
    assert line is not None  # 9**9 leaves: far past the budget
    diagnostic = only(errors_of(bomb))
    assert diagnostic.file == "bench/hostile.yml"
    assert diagnostic.line == line
    assert f"{by.MAX_NODES:,} nodes" in diagnostic.message
    assert str(diagnostic) == f"bench/hostile.yml:{line}: error: {diagnostic.message}"


def test_composition_stops_at_the_budget_instead_of_expanding() -> None:
    stats = by.Stats()
    with pytest.raises(by.BudgetError):
        by.load(alias_bomb(), stats=stats)
    # The count went past the budget by at most one alias (the largest anchor, 9**6 + ... nodes),
    # and the composer made one node per event: nothing was expanded to get there.
    largest_anchor = sum(9**k for k in range(7))
    assert by.MAX_NODES < stats.nodes <= by.MAX_NODES + largest_anchor
    assert stats.aliases <= 6 * 9


@pytest.mark.parametrize("fast", [True, False], ids=["libyaml", "pure-python"])
def test_a_small_budget_is_refused_where_the_rule_says(fast: bool) -> None:
    if fast and by.FAST_LOADER is None:
        pytest.skip("PyYAML was built without libyaml here")
    budget = by.Budget(nodes=5_000)
    expected = bomb_refusal_line(6, 9, budget.nodes)
    with pytest.raises(by.BudgetError) as info:
        by.load(alias_bomb(6, 9), fast=fast, budget=budget)
    assert info.value.line == expected


def test_the_bomb_is_refused_in_a_process_capped_at_1_gib() -> None:
    """Run where a regression cannot take the machine down: a 1 GiB address-space limit."""

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    code = textwrap.dedent(
        """
        import resource, sys
        from reev.spec import BenchmarkError, parse_benchmark
        try:
            parse_benchmark(sys.stdin.read(), "bomb.yml")
        except BenchmarkError as exc:
            print(exc)
            peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
            print(f"peak {peak_mib}", file=sys.stderr)
            sys.exit(3)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        input=alias_bomb(),
        capture_output=True,
        text=True,
        preexec_fn=cap,
        timeout=120,  # a guard against a hang, not a speed assertion
        check=False,
    )
    assert result.returncode == 3, result.stderr[-2000:]
    line = bomb_refusal_line(9, 9, by.MAX_NODES)
    assert result.stdout.startswith(f"bomb.yml:{line}: error: "), result.stdout
    peak = int(result.stderr.split("peak ")[1])
    assert peak < MEMORY_LIMIT // (1 << 20)


def test_many_aliases_to_one_big_node_are_refused_by_their_expanded_size() -> None:
    width = 999
    aliases = 1_100
    source = f"big: &big [{', '.join(['x'] * width)}]\nuse:\n" + "- *big\n" * aliases
    total = 1 + 1 + (1 + width) + 1 + 1  # mapping, key, big list, key `use`, its list
    expected = None
    for k in range(1, aliases + 1):
        total += 1 + width
        if total > by.MAX_NODES:
            expected = 2 + k  # the k-th alias is on line 2 + k
            break
    assert expected is not None
    diagnostic = only(errors_of(source))
    assert diagnostic.line == expected
    assert "nodes" in diagnostic.message


def test_a_huge_flat_list_is_refused_at_the_item_past_the_budget() -> None:
    budget = by.Budget(nodes=1_000)
    # mapping + key + list = 3 nodes, then one per item: item j (1-based, line 1 + j) makes 3 + j.
    first_refused = budget.nodes - 3 + 1
    ok = "x:\n" + "- i\n" * (first_refused - 1)
    assert by.load(ok, budget=budget).data == {"x": ["i"] * (first_refused - 1)}
    with pytest.raises(by.BudgetError) as info:
        by.load(ok + "- i\n", budget=budget)
    assert info.value.line == 1 + first_refused


def test_nesting_past_the_depth_budget_is_refused() -> None:
    # The top-level mapping is level 1, so n brackets make 1 + n levels.
    deepest = by.MAX_DEPTH - 1
    stats = by.Stats()
    by.load("x: " + "[" * deepest + "]" * deepest + "\n", stats=stats)
    assert stats.depth == 1 + deepest
    diagnostic = only(errors_of("x: " + "[" * (deepest + 1) + "]" * (deepest + 1) + "\n"))
    assert diagnostic.line == 1
    assert f"deeper than {by.MAX_DEPTH}" in diagnostic.message


def test_nesting_far_past_what_libyaml_allows_is_a_budget_error_not_a_crash() -> None:
    source = "x:\n" + "".join(" " * (i + 1) + "- \n" for i in range(5_000))
    diagnostic = only(errors_of(source))
    assert f"deeper than {by.MAX_DEPTH}" in diagnostic.message
    assert diagnostic.line == by.MAX_DEPTH + 1  # line 1 + k holds level 1 + k


def test_an_alias_adds_its_anchors_height_to_the_depth() -> None:
    budget = by.Budget(depth=10)
    anchor = "a: &a [[[[x]]]]\n"  # four lists and a scalar: height 5
    # An alias inside n brackets sits at level 1 + n + 1 and reaches 1 + n + 5.
    fits = 10 - 1 - 5
    by.load(anchor + "b: " + "[" * fits + "*a" + "]" * fits + "\n", budget=budget)
    with pytest.raises(by.BudgetError) as info:
        by.load(anchor + "b: " + "[" * (fits + 1) + "*a" + "]" * (fits + 1) + "\n", budget=budget)
    assert info.value.line == 2
    assert "deeper than 10" in info.value.message


def test_a_recursive_alias_is_refused() -> None:
    diagnostic = only(errors_of("id: loop\nprompt: hi\nx: &x\n  - a\n  - *x\n"))
    assert diagnostic.line == 5
    assert "recursive" in diagnostic.message


# --------------------------------------------------------------------------- aliases that fit


def test_the_line_map_is_built_without_expanding_aliases() -> None:
    # Six levels of nine aliases: 597,871 nodes once expanded, under the budget; as an unknown
    # field it is kept (a warning), and the line map holds one entry per path walked once.
    bomb = textwrap.indent(alias_bomb(6, 9), "  ")
    source = f"id: many-aliases\nprompt: hi\nx-data:\n{bomb}"
    loaded = parse_benchmark(source, "f.yml")
    assert [w.field for w in loaded.warnings] == ["x-data"]
    # 3 top-level keys + x-data's 6 keys, level a's 9 items, 9 alias items per other level.
    assert len(loaded.lines) == 1 + 3 + 6 + 9 * 6


def test_an_error_reached_through_an_alias_points_at_the_alias() -> None:
    source = textwrap.dedent(
        """\
        id: alias-errors
        prompt: hi
        initial_state:
          - &acct
            pubkey: A_WALLET
            lamports: lots
          - *acct
        """
    )
    diagnostics = errors_of(source, "f.yml")
    lines = {d.field: d.line for d in diagnostics}
    assert lines == {"initial_state[0].lamports": 6, "initial_state[1].lamports": 7}


# --------------------------------------------------------------------------- libyaml changes nothing


def bundled() -> list[Path]:
    files = sorted(BENCHMARKS.glob("*.yml"))
    assert files
    return files


@pytest.mark.skipif(by.FAST_LOADER is None, reason="PyYAML was built without libyaml here")
@pytest.mark.parametrize("path", bundled(), ids=lambda p: p.name)
def test_libyaml_and_pure_python_give_the_same_data_and_lines(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    fast, pure = by.load(source, fast=True), by.load(source, fast=False)
    assert fast.data == pure.data == yaml.safe_load(source)
    assert fast.node is not None and pure.node is not None

    def marks(node: yaml.Node) -> list[tuple[str, int]]:
        out = [(type(node).__name__, node.start_mark.line)]
        if isinstance(node, yaml.SequenceNode):
            for item in node.value:
                out += marks(item)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                out += marks(key) + marks(value)
        return out

    assert marks(fast.node) == marks(pure.node)


@pytest.mark.parametrize(
    "source",
    [
        "id: x\nprompt: [a, b\n",
        "id: x\n  prompt: y\n",
        "id: x\nprompt: *nope\n",
        "a: &x 1\nb: &x 2\n",
        "id: x\n---\nid: y\n",
        "id: x\nprompt: 'abc\n",
        'id: x\nprompt: "\\q"\n',
        "id: x\nprompt: @y\n",
        "id: !!python/object:os.system x\nprompt: y\n",
    ],
)
def test_yaml_errors_are_worded_as_pyyaml_words_them(source: str) -> None:
    with pytest.raises(yaml.MarkedYAMLError) as info:
        yaml.load(source, Loader=yaml.SafeLoader)
    reference = info.value
    mark = reference.problem_mark or reference.context_mark
    assert mark is not None
    diagnostic = only(errors_of(source))
    assert diagnostic.line == mark.line + 1
    assert diagnostic.message.startswith(f"invalid YAML: {reference.problem}")


# --------------------------------------------------------------------------- control characters


def benchmark_with(**fields: str) -> str:
    base = {"id": "ctl", "prompt": "hi"}
    base.update(fields)
    return "".join(f"{key}: {value}\n" for key, value in base.items())


@pytest.mark.parametrize(
    ("fields", "field", "code"),
    [
        ({"id": '"bad\\0id"'}, "id", 0x00),
        ({"id": '"tab\\tid"'}, "id", 0x09),
        ({"tags": '[ok, "new\\nline"]'}, "tags[1]", 0x0A),
        ({"prompt": '"colour \\e[31m"'}, "prompt", 0x1B),
        ({"description": '"nul \\0 here"'}, "description", 0x00),
        ({"prompt": '"c1 \\x85"'}, "prompt", 0x85),
    ],
)
def test_control_characters_are_refused_with_line_and_field(
    fields: dict[str, str], field: str, code: int
) -> None:
    source = benchmark_with(**fields)
    key = field.split("[")[0]
    diagnostic = only(errors_of(source))
    assert diagnostic.field == field
    assert diagnostic.line == next(
        n for n, line in enumerate(source.splitlines(), 1) if line.startswith(f"{key}:")
    )
    assert f"U+{code:04X}" in diagnostic.message


def test_a_control_character_in_a_placeholder_field_is_refused_as_an_identifier() -> None:
    source = textwrap.dedent(
        f"""\
        id: ctl-pubkey
        prompt: hi
        initial_state:
          - pubkey: "USER\\0WALLET"
            owner: "{SYSTEM}"
            lamports: 5
        """
    )
    diagnostic = only(errors_of(source))
    assert diagnostic.field == "initial_state[0].pubkey"
    assert diagnostic.line == 4
    assert "U+0000" in diagnostic.message and "identifier" in diagnostic.message


def test_a_control_character_in_a_key_is_refused() -> None:
    diagnostic = only(errors_of('id: k\nprompt: hi\n"x\\a": 1\n'))
    assert diagnostic.line == 3
    assert "key" in diagnostic.message


def test_tabs_and_newlines_in_free_text_are_fine() -> None:
    loaded = parse_benchmark(benchmark_with(prompt='"two\\nlines\\tand a tab\\r"'), "f.yml")
    assert loaded.benchmark.prompt == "two\nlines\tand a tab\r"
