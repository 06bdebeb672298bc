"""Load benchmark YAML into `Benchmark` models with file:line:field diagnostics.

The YAML is composed within budgets (`bounded_yaml`: nodes and depth counted after alias
expansion, libyaml when present) and every node keeps a source mark; we walk the node graph, each
node once, next to the constructed data to map each data path to its line. Pydantic's error locations are then
translated to those lines, so every problem a user sees names the file, the line and the field.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ValidationError

from reev.errors import InputError
from reev.spec import bounded_yaml
from reev.spec.identifiers import control_characters
from reev.spec.models import Benchmark

PathKey = tuple[str | int, ...]


@dataclass(frozen=True)
class Diagnostic:
    """One problem in one benchmark file."""

    file: str
    line: int | None
    field: str | None
    message: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        what = f"{self.field}: " if self.field else ""
        return f"{where}: {self.severity}: {what}{self.message}"


class BenchmarkError(InputError):
    """A benchmark file that cannot be used; carries every diagnostic found."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = diagnostics
        super().__init__("\n".join(str(d) for d in diagnostics))


@dataclass
class LoadedBenchmark:
    """A validated benchmark plus where it came from and what was merely suspicious."""

    benchmark: Benchmark
    path: Path
    source: str
    warnings: list[Diagnostic] = field(default_factory=list)
    lines: dict[PathKey, int] = field(default_factory=dict)

    def diagnostic(
        self, path: PathKey, message: str, severity: Literal["error", "warning"] = "error"
    ) -> Diagnostic:
        """A diagnostic about this file at the line of `path` (or its nearest parent)."""
        return Diagnostic(
            str(self.path),
            _nearest_line(self.lines, path),
            format_path(path) or None,
            message,
            severity,
        )


def format_path(path: Iterable[str | int]) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _line_map(
    node: yaml.Node,
    path: PathKey,
    lines: dict[PathKey, int],
    duplicates: list[tuple[PathKey, int]],
    alias_lines: dict[tuple[int, int], int],
    seen: set[int] | None = None,
) -> None:
    """Map each data path to its line, walking every node once.

    An alias is the very node of its anchor: it is walked where the anchor is, not again under
    each alias (that would be the exponential expansion the budgets exist to prevent). The path
    of an alias gets the alias's own line (`alias_lines`), and paths below it fall back to that
    line in `_nearest_line`."""
    lines[path] = node.start_mark.line + 1
    seen = set() if seen is None else seen
    if isinstance(node, yaml.ScalarNode) or id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        keys: set[str] = set()
        for key_node, value_node in node.value:
            key = key_node.value
            child = (*path, key)
            if key in keys:
                # PyYAML silently keeps the last value; a second `prompt:` is a mistake.
                duplicates.append((child, key_node.start_mark.line + 1))
            keys.add(key)
            _line_map(value_node, child, lines, duplicates, alias_lines, seen)
            # A key's own line is more useful than its value's when the value spans lines.
            lines[child] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*path, index)
            _line_map(item, child, lines, duplicates, alias_lines, seen)
            if (id(node), index) in alias_lines:
                lines[child] = alias_lines[(id(node), index)]


def _data_path(data: Any, loc: tuple[Any, ...]) -> PathKey:
    """Keep the parts of a pydantic `loc` that index real data (drop union tags)."""
    path: list[str | int] = []
    current = data
    for part in loc:
        if (isinstance(current, dict) and part in current) or (
            isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current)
        ):
            path.append(part)
            current = current[part]
        elif isinstance(current, dict) and isinstance(part, str):
            if part[:1].isupper() and "_" not in part:
                continue  # a discriminated-union tag such as "SolBalance", not a key
            # A missing required field: name it; its line falls back to the parent's.
            path.append(part)
            current = None
    return tuple(path)


def _nearest_line(lines: dict[PathKey, int], path: PathKey) -> int | None:
    for end in range(len(path), -1, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return None


def _extras(model: BaseModel, path: PathKey) -> Iterator[PathKey]:
    """Every unknown key anywhere in a validated model tree."""
    for key in model.model_extra or {}:
        yield (*path, key)
    for name in type(model).model_fields:
        value = getattr(model, name)
        yield from _extras_in(value, (*path, name))


def _extras_in(value: Any, path: PathKey) -> Iterator[PathKey]:
    if isinstance(value, BaseModel):
        yield from _extras(value, path)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _extras_in(item, (*path, index))


def parse_benchmark(source: str, file: str, *, strict: bool = False) -> LoadedBenchmark:
    """Parse YAML text into a validated benchmark or raise `BenchmarkError`."""
    try:
        document = bounded_yaml.load(source)
    except yaml.reader.ReaderError as exc:
        line = source[: max(exc.position, 0)].count("\n") + 1
        message = f"invalid YAML: {exc.reason} (character #x{exc.character:04x})"
        raise BenchmarkError([Diagnostic(file, line, None, message)]) from None
    except bounded_yaml.BudgetError as exc:
        raise BenchmarkError([Diagnostic(file, exc.line, None, exc.message)]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        mark_line = mark.line + 1 if mark else None
        problem = exc.problem or str(exc)
        context = f" ({exc.context})" if exc.context else ""
        if "block" in problem or "indent" in problem:
            context += "; check the indentation of this line"
        message = f"invalid YAML: {problem}{context}"
        raise BenchmarkError([Diagnostic(file, mark_line, None, message)]) from None
    except yaml.YAMLError as exc:
        raise BenchmarkError([Diagnostic(file, None, None, f"invalid YAML: {exc}")]) from None
    node, data = document.node, document.data
    if node is None:
        raise BenchmarkError([Diagnostic(file, 1, None, "the file is empty")])

    if not isinstance(data, dict):
        raise BenchmarkError(
            [Diagnostic(file, 1, None, "a benchmark must be a mapping of fields (id, prompt, …)")]
        )

    lines: dict[PathKey, int] = {}
    duplicates: list[tuple[PathKey, int]] = []
    _line_map(node, (), lines, duplicates, document.alias_lines)
    if duplicates:
        raise BenchmarkError(
            [
                Diagnostic(file, line, format_path(path), "duplicate key")
                for path, line in duplicates
            ]
        )
    controls = [
        Diagnostic(file, _nearest_line(lines, path), format_path(path) or None, message)
        for path, message in control_characters(data)
    ]
    if controls:
        raise BenchmarkError(controls)

    try:
        benchmark = Benchmark.model_validate(data)
    except ValidationError as exc:
        diagnostics = []
        for error in exc.errors():
            path = _data_path(data, tuple(error["loc"]))
            if "path" in error.get("ctx", {}):  # a cross-field check naming its field
                path = _data_path(data, (*path, *error["ctx"]["path"]))
            message = error["msg"]
            if error["type"] == "missing":
                message = "required field is missing"
            diagnostics.append(
                Diagnostic(file, _nearest_line(lines, path), format_path(path) or None, message)
            )
        raise BenchmarkError(_dedupe(diagnostics)) from None

    warnings = [
        Diagnostic(
            file,
            _nearest_line(lines, path),
            format_path(path),
            # Under --strict it is refused, not ignored: the message says which.
            "unknown field (not allowed with --strict)" if strict else "unknown field (ignored)",
            "error" if strict else "warning",
        )
        for path in _extras(benchmark, ())
    ]
    if strict and warnings:
        raise BenchmarkError(warnings)
    return LoadedBenchmark(
        benchmark=benchmark, path=Path(file), source=source, warnings=warnings, lines=lines
    )


def _dedupe(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    seen: set[tuple[Any, ...]] = set()
    out = []
    for d in diagnostics:
        key = (d.line, d.field, d.message)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out


def load_benchmark(path: str | Path, *, strict: bool = False) -> LoadedBenchmark:
    path = Path(path)
    try:
        source = path.read_text(encoding="utf-8")
    except OSError as exc:
        message = f"cannot read: {exc.strerror}"
        raise BenchmarkError([Diagnostic(str(path), None, None, message)]) from None
    except UnicodeDecodeError:
        message = "not a UTF-8 text file"
        raise BenchmarkError([Diagnostic(str(path), None, None, message)]) from None
    return parse_benchmark(source, str(path), strict=strict)


BENCHMARK_SUFFIXES = (".yml", ".yaml")


def discover(paths: Iterable[str | Path]) -> list[Path]:
    """Expand files and folders into a sorted list of benchmark files."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(
                sorted(p for p in path.rglob("*") if p.suffix in BENCHMARK_SUFFIXES and p.is_file())
            )
        elif path.exists():
            found.append(path)
        else:
            raise BenchmarkError([Diagnostic(str(path), None, None, "no such file or directory")])
    return found


def load_many(
    paths: Iterable[str | Path], *, strict: bool = False
) -> tuple[list[LoadedBenchmark], list[Diagnostic]]:
    """Load every benchmark under `paths`; collect all errors instead of stopping at the first."""
    loaded: list[LoadedBenchmark] = []
    errors: list[Diagnostic] = []
    try:
        files = discover(paths)
    except BenchmarkError as exc:
        return [], exc.diagnostics
    seen_ids: dict[str, Path] = {}
    for file in files:
        try:
            item = load_benchmark(file, strict=strict)
        except BenchmarkError as exc:
            errors.extend(exc.diagnostics)
            continue
        previous = seen_ids.get(item.benchmark.id)
        if previous is not None:
            errors.append(
                item.diagnostic(("id",), f"duplicate id {item.benchmark.id!r} (also in {previous})")
            )
            continue
        seen_ids[item.benchmark.id] = file
        loaded.append(item)
    return loaded, errors
