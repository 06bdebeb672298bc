"""chain/ knows nothing of benchmarks, runs or agents (issue 13): set-up lives in reev.setup.

Read from the source with `ast`, so an import inside a function counts as much as one at the
top of a module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "reev"


def imported_modules(root: Path) -> dict[str, set[str]]:
    """Each module under `root` → the modules it imports (absolute names)."""
    found: dict[str, set[str]] = {}
    for path in sorted(root.rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
        found[str(path.relative_to(root))] = names
    return found


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("chain", ("reev.spec", "reev.runner", "reev.agents", "reev.setup", "reev.tools")),
        ("setup", ("reev.runner", "reev.agents", "reev.tools", "reev.rpc")),
    ],
)
def test_package_does_not_import(package: str, forbidden: tuple[str, ...]) -> None:
    modules = imported_modules(SRC / package)
    assert modules, f"no modules found under src/reev/{package}"
    offending = {
        module: sorted(n for n in names if n.startswith(forbidden))
        for module, names in modules.items()
        if any(n == f or n.startswith(f + ".") for n in names for f in forbidden)
    }
    assert offending == {}


def test_the_check_sees_local_imports(tmp_path: Path) -> None:
    """An import hidden in a function body (what chain/ once had) is found too."""
    (tmp_path / "a.py").write_text("import json\n\ndef f():\n    from reev.spec import models\n")
    assert imported_modules(tmp_path) == {"a.py": {"json", "reev.spec"}}
