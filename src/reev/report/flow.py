"""Flow diagrams: one episode as a Mermaid flowchart, as text or as a page that renders offline.

prompt → agent → (step →) each tool call with its key arguments → each transaction with its
outcome → score. The same functions serve `reev flow` and the API's `/flows/{id}`; they accept a
session file or a JSONL trace, reduced first to a small list of `FlowNode`s.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from reev.runner.session import SessionFile, read_session

NodeKind = Literal[
    "prompt",
    "agent",
    "step",
    "tool",
    "tool_error",
    "tx_ok",
    "tx_failed",
    "score_pass",
    "score_fail",
]

_ADDRESS_KEYS = {
    "recipient",
    "mint",
    "source",
    "owner",
    "token_account",
    "destination",
    "delegate",
    "address",
    "target",
    "new_authority",
}
_CLASSES = {
    "prompt": "fill:#eef2ff,stroke:#6366f1",
    "agent": "fill:#f5f3ff,stroke:#8b5cf6",
    "step": "fill:#f8fafc,stroke:#64748b",
    "tool": "fill:#ecfeff,stroke:#0891b2",
    "tool_error": "fill:#fff1f2,stroke:#e11d48",
    "tx_ok": "fill:#f0fdf4,stroke:#16a34a",
    "tx_failed": "fill:#fef2f2,stroke:#dc2626",
    "score_pass": "fill:#dcfce7,stroke:#15803d",
    "score_fail": "fill:#fee2e2,stroke:#b91c1c",
}
# The dashboard's dark mode: the same strokes on dark tints, light text.
_DARK_CLASSES = {
    "prompt": "fill:#1e1b4b,stroke:#818cf8,color:#e0e7ff",
    "agent": "fill:#2e1065,stroke:#a78bfa,color:#ede9fe",
    "step": "fill:#1e293b,stroke:#94a3b8,color:#e2e8f0",
    "tool": "fill:#083344,stroke:#22d3ee,color:#cffafe",
    "tool_error": "fill:#4c0519,stroke:#fb7185,color:#ffe4e6",
    "tx_ok": "fill:#052e16,stroke:#4ade80,color:#dcfce7",
    "tx_failed": "fill:#450a0a,stroke:#f87171,color:#fee2e2",
    "score_pass": "fill:#14532d,stroke:#22c55e,color:#dcfce7",
    "score_fail": "fill:#7f1d1d,stroke:#ef4444,color:#fee2e2",
}


@dataclass(frozen=True)
class FlowNode:
    kind: NodeKind
    lines: tuple[str, ...]


def short(address: str) -> str:
    return f"{address[:4]}…{address[-4:]}" if len(address) > 12 else address


def _arg_lines(args: dict[str, Any]) -> list[str]:
    lines = []
    for key, value in args.items():
        if key == "instructions" and isinstance(value, list):
            lines.append(f"{len(value)} instruction(s)")
        elif isinstance(value, str) and key in _ADDRESS_KEYS:
            lines.append(f"{key}: {short(value)}")
        elif isinstance(value, (str, int, float, bool)) or value is None:
            text = str(value)
            lines.append(f"{key}: {text if len(text) <= 40 else text[:39] + '…'}")
        else:
            lines.append(f"{key}: …")
    return lines


_BASE58 = re.compile(r"\b[1-9A-HJ-NP-Za-km-z]{32,44}\b")


def _first_line(text: str, limit: int = 90) -> str:
    flat = _BASE58.sub(lambda m: short(m.group(0)), " ".join(text.split()))
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def nodes_from_session(session: SessionFile) -> list[FlowNode]:
    nodes = [
        FlowNode("prompt", ("Prompt", _first_line(session.prompt))),
        FlowNode("agent", (f"Agent: {session.agent}", f"seed {session.seed}")),
    ]
    for step in session.steps:
        if len(session.steps) > 1:
            nodes.append(
                FlowNode("step", (f"Step {step.step}: {step.status}", _first_line(step.prompt, 70)))
            )
        by_call = {tx.tool_call_index: tx for tx in step.transactions}
        for call in step.tool_calls:
            label = ("auto " if call.auto else "") + call.tool
            if call.ok:
                nodes.append(FlowNode("tool", (label, *_arg_lines(call.args))))
            else:
                nodes.append(
                    FlowNode(
                        "tool_error",
                        (
                            label,
                            *_arg_lines(call.args),
                            f"error: {_first_line(call.error or '', 60)}",
                        ),
                    )
                )
            tx = by_call.get(call.index)
            if tx is not None:
                nodes.append(_tx_node(tx.signature, tx.success, tx.error, tx.compute_units))
    result = session.final_result
    b = result.breakdown
    nodes.append(
        _score_node(
            result.score, result.passed, result.status, b.state, b.instruction, b.transaction
        )
    )
    return nodes


def _score_node(
    score: float,
    passed: bool,
    status: str,
    state: float | None,
    instruction: float | None,
    transaction: float | None,
) -> FlowNode:
    parts = [
        f"{name} {value:.2f}"
        for name, value in (("state", state), ("instr", instruction), ("tx", transaction))
        if value is not None
    ]
    return FlowNode(
        "score_pass" if passed else "score_fail",
        (f"Score {score:.3f}: {'passed' if passed else 'not passed'}", " · ".join(parts) or status),
    )


def _tx_node(signature: str | None, success: bool, error: str | None, units: int) -> FlowNode:
    title = f"tx {short(signature)}" if signature else "tx (not sent)"
    if success:
        return FlowNode("tx_ok", (f"{title} ✓", f"{units} CU"))
    return FlowNode("tx_failed", (f"{title} ✗", _first_line(error or "failed", 60)))


def nodes_from_trace(spans: list[dict[str, Any]]) -> list[FlowNode]:
    """The same diagram from an `enhanced_otel_*.jsonl` trace (span order = start time)."""
    spans = sorted(spans, key=lambda s: s["start_time"])
    episode = next((s for s in spans if s["name"] == "episode"), None)
    attrs = episode["attributes"] if episode else {}
    nodes = [
        FlowNode("prompt", ("Prompt", _first_line(str(attrs.get("reev.prompt", ""))))),
        FlowNode(
            "agent",
            (f"Agent: {attrs.get('reev.agent', '?')}", f"seed {attrs.get('reev.seed', '?')}"),
        ),
    ]
    steps = [s for s in spans if s["name"] == "step"]
    for span in spans:
        a = span["attributes"]
        if span["name"] == "step" and len(steps) > 1:
            nodes.append(
                FlowNode(
                    "step",
                    (
                        f"Step {a.get('reev.step')}: {a.get('reev.step.status')}",
                        _first_line(str(a.get("reev.step.prompt", "")), 70),
                    ),
                )
            )
        elif span["name"] == "tool_call":
            args = json.loads(a.get("reev.tool.arguments", "{}"))
            args = args if isinstance(args, dict) else {}
            name = str(a.get("gen_ai.tool.name", "?"))
            if span["status"]["code"] == "ERROR":
                nodes.append(
                    FlowNode(
                        "tool_error",
                        (
                            name,
                            *_arg_lines(args),
                            f"error: {_first_line(str(a.get('reev.tool.error', '')), 60)}",
                        ),
                    )
                )
            else:
                nodes.append(FlowNode("tool", (name, *_arg_lines(args))))
        elif span["name"] == "transaction":
            nodes.append(
                _tx_node(
                    a.get("solana.signature"),
                    bool(a.get("solana.success")),
                    a.get("solana.error"),
                    int(a.get("solana.compute_units", 0)),
                )
            )
    nodes.append(
        _score_node(
            float(attrs.get("reev.score", 0.0)),
            bool(attrs.get("reev.passed")),
            str(attrs.get("reev.status", "")),
            attrs.get("reev.score.state"),
            attrs.get("reev.score.instruction"),
            attrs.get("reev.score.transaction"),
        )
    )
    return nodes


def _label(lines: tuple[str, ...]) -> str:
    # Mermaid labels in "…": quotes and angle brackets must be entities; <br/> separates lines.
    escaped = [
        html.escape(line, quote=True).replace("&quot;", "#quot;").replace("&#x27;", "'")
        for line in lines
    ]
    return "<br/>".join(escaped)


def mermaid(nodes: list[FlowNode], *, dark: bool = False) -> str:
    """Mermaid source of the flow; `dark` colours the node classes for a dark page."""
    out = ["flowchart TD"]
    for index, node in enumerate(nodes):
        out.append(f'    n{index}["{_label(node.lines)}"]:::{node.kind}')
    for index in range(len(nodes) - 1):
        out.append(f"    n{index} --> n{index + 1}")
    used = {node.kind for node in nodes}
    for kind, style in (_DARK_CLASSES if dark else _CLASSES).items():
        if kind in used:
            out.append(f"    classDef {kind} {style}")
    return "\n".join(out) + "\n"


def load_nodes(path: str | Path) -> list[FlowNode]:
    """A session file (`session_*.json`) or a trace (`enhanced_otel_*.jsonl`)."""
    path = Path(path)
    if path.suffix == ".jsonl":
        spans = [
            json.loads(line)
            for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
        return nodes_from_trace(spans)
    return nodes_from_session(read_session(path))


def mermaid_js() -> str:
    return (
        resources.files("reev.report").joinpath("static/mermaid.min.js").read_text(encoding="utf-8")
    )


def flow_html(diagram: str, title: str, *, script_src: str | None = None) -> str:
    """A page that renders the diagram with no network: Mermaid is inlined, or loaded from
    `script_src` when a server hosts it (the API serves it from the package)."""
    script = (
        f'<script src="{html.escape(script_src)}"></script>'
        if script_src
        else f"<script>{mermaid_js()}</script>"
    )
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{html.escape(title)}</title>
<style>
  body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #0f172a; }}
  h1 {{ font-size: 1.2rem; }}
  pre.source {{ display: none; }}
</style>
{script}
</head>
<body>
<h1>{html.escape(title)}</h1>
<pre class="mermaid">
{html.escape(diagram)}</pre>
<script>
  mermaid.initialize({{ startOnLoad: false, securityLevel: "strict", flowchart: {{ htmlLabels: true }} }});
  mermaid.run({{ querySelector: "pre.mermaid" }}).then(
    () => document.body.dataset.rendered = "ok",
    (error) => {{ document.body.dataset.rendered = "error"; document.body.dataset.error = String(error); }}
  );
</script>
</body>
</html>
"""
