"""The import graph of src/reev keeps its layers: lower packages import nothing of higher ones.

Each module's source is parsed (`ast`), nothing is imported or executed. Every import counts:
at module level, inside functions (a local import that breaks a cycle at run time still couples
the packages) and under `if TYPE_CHECKING:`. Relative imports are resolved against the module's
package.

The rules (issue 13, reshape): the chain knows nothing of benchmarks, the runner or agents;
agents act through tools and are served chains by the runner, so they import neither rpc/ nor
runner/; telemetry is OpenTelemetry only; scoring and tools know no agent.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

from helpers.paths import ROOT

SRC = ROOT / "src"
PACKAGE = "reev"

# (package, packages it must not import), all relative to reev.
RULES: list[tuple[str, tuple[str, ...]]] = [
    ("chain", ("spec", "runner", "agents")),
    ("agents", ("rpc", "runner")),
    ("telemetry", ("runner",)),
    ("scoring", ("agents",)),
    ("tools", ("agents", "runner")),
    ("mcp", ("runner", "scoring")),  # MCP agents and servers are agents: no scoring, no runner
]


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, e.g. reev.chain.setup
    line: int
    target: str  # what it names, e.g. reev.spec.models

    def __str__(self) -> str:
        return f"{self.module}:{self.line} imports {self.target}"


def module_name(path: Path, src: Path = SRC) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(source: str, module: str, *, is_package: bool = False) -> list[Import]:
    """Every module an import statement of `source` names. `from a import b` names `a` and
    `a.b` (b may be a submodule); relative imports are resolved from `module`'s package."""
    package = module if is_package else module.rpartition(".")[0]
    found: list[Import] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [Import(module, node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join([*base_parts, node.module] if node.module else base_parts)
            else:
                base = node.module or ""
            found.append(Import(module, node.lineno, base))
            found += [Import(module, node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def graph(src: Path = SRC) -> list[Import]:
    edges: list[Import] = []
    for path in sorted((src / PACKAGE).rglob("*.py")):
        if "migrations" in path.parts:
            continue  # Alembic revision scripts: not part of the package's layering
        edges += imports_of(
            path.read_text(encoding="utf-8"),
            module_name(path, src),
            is_package=path.name == "__init__.py",
        )
    return edges


def within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def violations(edges: list[Import], package: str, forbidden: tuple[str, ...]) -> list[str]:
    """One line per offending import statement (its shortest forbidden target: the module, not
    each name it takes)."""
    lower = f"{PACKAGE}.{package}"
    bad = {f"{PACKAGE}.{other}" for other in forbidden}
    first: dict[tuple[str, int], Import] = {}
    for edge in edges:
        if within(edge.module, lower) and any(within(edge.target, b) for b in bad):
            key = (edge.module, edge.line)
            if key not in first or len(edge.target) < len(first[key].target):
                first[key] = edge
    return [str(first[key]) for key in sorted(first)]


EDGES = graph()


@pytest.mark.parametrize(
    ("package", "forbidden"), RULES, ids=[f"{p}-imports-no-{'-'.join(f)}" for p, f in RULES]
)
def test_layer_imports_nothing_above_it(package: str, forbidden: tuple[str, ...]) -> None:
    assert (SRC / PACKAGE / package).is_dir(), f"src/reev/{package} is gone: update RULES"
    found = violations(EDGES, package, forbidden)
    assert not found, "\n".join(found)


def test_the_walker_sees_every_kind_of_import() -> None:
    """The checker itself: absolute, relative, submodule-through-`from`, local and
    TYPE_CHECKING imports all count; a name that merely starts alike does not."""
    source = (
        "import reev.spec.models\n"
        "from ..runner import episode\n"
        "from . import litesvm\n"
        "from reev import agents\n"
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from reev.rpc.node import ChainNode\n"
        "def f():\n"
        "    from reev.telemetry import setup\n"
        "import reev.spectral\n"
    )
    edges = imports_of(source, "reev.chain.example")
    targets = {edge.target for edge in edges}
    assert {
        "reev.spec.models",
        "reev.runner",
        "reev.runner.episode",
        "reev.chain.litesvm",
        "reev.agents",
        "reev.rpc.node",
        "reev.telemetry.setup",
    } <= targets
    assert violations(edges, "chain", ("spec", "runner", "agents")) == [
        "reev.chain.example:1 imports reev.spec.models",
        "reev.chain.example:2 imports reev.runner",
        "reev.chain.example:4 imports reev.agents",
    ]
    # A package's __init__ resolves `.` to itself.
    assert {e.target for e in imports_of("from .x import y", "reev.chain", is_package=True)} == {
        "reev.chain.x",
        "reev.chain.x.y",
    }


def test_the_graph_covers_the_package() -> None:
    """Guards against a walker that silently finds nothing: known edges of today's code."""
    modules = {edge.module for edge in EDGES}
    assert {"reev.chain.litesvm", "reev.runner.episode", "reev.tools"} <= modules
    assert any(within(e.module, "reev.runner") and within(e.target, "reev.chain") for e in EDGES)


def imports_of_tests(source: str, module: str) -> list[Import]:
    """The imports of a test file that name conftest or a test module (absolute or relative)."""
    return [
        edge
        for edge in imports_of(source, module)
        if any(part == "conftest" or part.startswith("test_") for part in edge.target.split("."))
    ]


def test_tests_share_code_through_helpers_only() -> None:
    """No test module imports conftest.py (pytest loads it as a plugin; importing it again makes
    a second copy) or another test module (which runs that module's code again, outside
    pytest's collection): shared test code lives in tests/helpers."""
    assert [
        e.target
        for e in imports_of_tests(
            "from conftest import ROOT\nfrom .test_amm import x\nfrom helpers.suite import bundled\n",
            "programs.test_x",
        )
    ] == ["conftest", "conftest.ROOT", "programs.test_amm", "programs.test_amm.x"]
    tests = ROOT / "tests"
    found = []
    for path in sorted(tests.rglob("*.py")):
        if "node_modules" in path.parts:
            continue
        module = ".".join(path.relative_to(tests).with_suffix("").parts)
        source = path.read_text(encoding="utf-8")
        found += [f"{path.relative_to(ROOT)}:{e.line}" for e in imports_of_tests(source, module)]
    assert not found, "import from tests/helpers instead:\n" + "\n".join(sorted(set(found)))
