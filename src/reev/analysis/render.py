"""A report (`build_report`'s dict) as Markdown for a pull request and as one self-contained HTML
page: inline CSS, plots drawn by matplotlib as SVG embedded in `data:` URLs, no script, no
font or stylesheet from anywhere. The page makes no request at all, so it opens offline, from
a CI artifact, or behind a firewall.
"""

from __future__ import annotations

import base64
import html
import io
from typing import Any

from matplotlib.figure import Figure

Report = dict[str, Any]


def _ci(value: dict[str, float], digits: int = 3) -> str:
    return f"{value['value']:.{digits}f} [{value['low']:.{digits}f}, {value['high']:.{digits}f}]"


def _k_keys(report: Report) -> list[str]:
    ks: set[int] = set()
    for arm in report["arms"]:
        ks |= {int(k) for k in arm["pass_at_k"]}
    return [str(k) for k in sorted(ks)]


def _arm_rows(report: Report) -> tuple[list[str], list[list[str]]]:
    ks = [k for k in _k_keys(report) if k != "1"]
    header = ["arm", "agent", "benchmarks × epochs", "mean score", "pass rate"]
    header += [f"pass@{k}" for k in ks] + [f"pass^{k}" for k in ks]
    rows = []
    for arm in report["arms"]:
        row = [
            arm["label"],
            arm["agent"],
            f"{arm['benchmarks']} × {arm['epochs']}",
            _ci(arm["mean_score"]),
            _ci(arm["pass_rate"]),
        ]
        row += [_ci(arm["pass_at_k"][k]) if k in arm["pass_at_k"] else "" for k in ks]
        row += [_ci(arm["pass_hat_k"][k]) if k in arm["pass_hat_k"] else "" for k in ks]
        rows.append(row)
    return header, rows


def _usage_rows(report: Report) -> tuple[list[str], list[list[str]]]:
    header = [
        "arm", "model calls", "input tokens", "output tokens", "tokens / episode", "cost USD",
        "cost / episode", "model latency median ms", "p95 ms", "episode median ms",
    ]  # fmt: skip
    rows = []
    for arm in report["arms"]:
        u = arm["usage"]
        rows.append(
            [
                arm["label"],
                str(u["model_calls"]),
                str(u["input_tokens"]),
                str(u["output_tokens"]),
                f"{u['tokens_per_episode']:.0f}",
                f"{u['cost_usd']:.4f}",
                f"{u['cost_per_episode_usd']:.5f}",
                _num(u["model_latency_ms_median"]),
                _num(u["model_latency_ms_p95"]),
                _num(u["episode_ms_median"]),
            ]
        )
    return header, rows


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}"


def _category_rows(report: Report) -> tuple[list[str], list[list[str]]]:
    labels = [a["label"] for a in report["arms"]]
    header = ["category", "benchmarks", *(f"{label} score (pass)" for label in labels)]
    rows = []
    for row in report["categories"]:
        cells = [row["category"], str(row["benchmarks"])]
        for label in labels:
            v = row["arms"].get(label)
            cells.append(f"{v['mean_score']:.3f} ({v['pass_rate']:.0%})" if v else "")
        rows.append(cells)
    return header, rows


def _benchmark_rows(report: Report) -> tuple[list[str], list[list[str]]]:
    labels = [a["label"] for a in report["arms"]]
    header = ["benchmark", "category", "tags", *labels]
    rows = []
    for row in report["benchmarks"]:
        cells = [row["benchmark_id"], row["category"], ", ".join(row["tags"])]
        for label in labels:
            v = row["arms"].get(label)
            cells.append(f"{v['mean_score']:.3f} ({v['passes']}/{v['episodes']})" if v else "")
        rows.append(cells)
    return header, rows


def _comparison_rows(report: Report) -> tuple[list[str], list[list[str]]]:
    header = ["A", "B", "scope", "benchmarks × epochs", "B − A", "p (Wilcoxon)", "epochs needed"]
    rows = [
        [
            c["a"],
            c["b"],
            c["scope"],
            f"{c['benchmarks']} × {c['epochs']}",
            _ci(c["difference"]),
            f"{c['p_value']:.3g}",
            ""
            if c["significant"] or c["identical"]
            else str(c["epochs_needed"] or "more benchmarks"),
        ]
        for c in report["comparisons"]
    ]
    return header, rows


SECTIONS = (
    ("Agents", _arm_rows),
    ("Tokens, cost and latency", _usage_rows),
    ("By category", _category_rows),
    ("Paired comparisons", _comparison_rows),
    ("By benchmark", _benchmark_rows),
)


def _note(report: Report) -> str:
    return (
        f"Intervals: {report['confidence']:.0%} percentile bootstrap over benchmarks "
        f"({report['resamples']} resamples, seed {report['seed']}; epochs of a benchmark stay "
        f"together). Paired test: {report['test']}. Per-category verdicts are not corrected "
        "for multiple comparisons. Epochs needed: two-sided α = 0.05, 80% power, for the "
        f"observed difference or {report['min_effect']:.2f}, whichever is larger."
    )


# --------------------------------------------------------------------------- Markdown


def markdown(report: Report) -> str:
    lines = ["# reev report", ""]
    if report["verdicts"]:
        lines += [f"- {v}" for v in report["verdicts"]] + [""]
    for title, rows_of in SECTIONS:
        header, rows = rows_of(report)
        if not rows:
            continue
        lines += [f"## {title}", "", _md_row(header), _md_row(["---"] * len(header))]
        lines += [_md_row(r) for r in rows] + [""]
    lines += [f"_{_note(report)} reev {report['reev_version']}._", ""]
    return "\n".join(lines)


def _md_row(cells: list[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"


# --------------------------------------------------------------------------- HTML

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:75rem;
padding:0 1rem;color:#1f2937}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #e5e7eb}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}
th,td{border:1px solid #e5e7eb;padding:.25rem .5rem;text-align:left;white-space:nowrap}
th{background:#f9fafb}ul.verdicts li{margin:.25rem 0}.significant{font-weight:600}
.plots{display:flex;flex-wrap:wrap;gap:1rem}.plots img{max-width:100%;border:1px solid #e5e7eb}
.note{color:#6b7280;font-size:.8rem}
"""


def html_page(report: Report, title: str = "reev report") -> str:
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        # No request of any kind: images are data: URLs, nothing else is loaded.
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "img-src data:; style-src 'unsafe-inline'\">",
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    if report["comparisons"]:
        items = "".join(
            f'<li class="{"significant" if c["significant"] else ""}">{html.escape(c["verdict"])}</li>'
            for c in report["comparisons"]
            if c["scope"] == "all" or c["significant"]  # the rest are in the table below
        )
        parts.append(f'<h2>Verdicts</h2><ul class="verdicts" data-testid="verdicts">{items}</ul>')
    plots = [
        (name, svg) for name, svg in (("score by category", score_by_category(report)),
                                      ("cost against score", cost_against_score(report)),
                                      ("pass^k against k", pass_hat_k_plot(report)))
        if svg
    ]  # fmt: skip
    if plots:
        images = "".join(
            f'<img alt="{html.escape(name)}" src="data:image/svg+xml;base64,'
            f'{base64.b64encode(svg.encode()).decode()}">'
            for name, svg in plots
        )
        parts.append(f'<h2>Plots</h2><div class="plots">{images}</div>')
    for title_text, rows_of in SECTIONS:
        header, rows = rows_of(report)
        if rows:
            parts.append(f"<h2>{html.escape(title_text)}</h2>{_html_table(header, rows)}")
    parts.append(
        f'<p class="note">{html.escape(_note(report))} reev {html.escape(report["reev_version"])}.</p>'
    )
    parts.append("</body></html>")
    return "\n".join(parts)


def _html_table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


# --------------------------------------------------------------------------- plots


def _svg(figure: Figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    return buffer.getvalue()


def score_by_category(report: Report) -> str | None:
    categories = [c for c in report["categories"] if c["arms"]]
    labels = [a["label"] for a in report["arms"]]
    if not categories:
        return None
    figure = Figure(figsize=(max(5.0, 0.5 * len(categories) * max(1, len(labels))), 3.5))
    ax = figure.subplots()
    width = 0.8 / len(labels)
    for i, label in enumerate(labels):
        xs = [j + i * width for j in range(len(categories))]
        ys = [c["arms"].get(label, {}).get("mean_score", 0.0) for c in categories]
        ax.bar(xs, ys, width=width, label=label)
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(categories))])
    ax.set_xticklabels([c["category"] for c in categories], rotation=45, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("mean score")
    ax.set_title("Score by category")
    ax.legend(fontsize="small")
    return _svg(figure)


def cost_against_score(report: Report) -> str | None:
    arms = report["arms"]
    if not arms:
        return None
    figure = Figure(figsize=(5.0, 3.5))
    ax = figure.subplots()
    for arm in arms:
        m = arm["mean_score"]
        cost = arm["usage"]["cost_per_episode_usd"]
        ax.errorbar(
            [cost],
            [m["value"]],
            yerr=[[m["value"] - m["low"]], [m["high"] - m["value"]]],
            fmt="o",
            capsize=4,
            label=arm["label"],
        )
    ax.set_xlabel("cost per episode (USD)")
    ax.set_ylabel("mean score")
    ax.set_ylim(0, 1.05)
    ax.set_title("Cost against score")
    ax.legend(fontsize="small")
    return _svg(figure)


def pass_hat_k_plot(report: Report) -> str | None:
    arms = report["arms"]
    if not arms:
        return None
    figure = Figure(figsize=(5.0, 3.5))
    ax = figure.subplots()
    for arm in arms:
        ks = sorted(int(k) for k in arm["pass_hat_k"])
        values = [arm["pass_hat_k"][str(k)] for k in ks]
        ax.plot(ks, [v["value"] for v in values], marker="o", label=arm["label"])
        ax.fill_between(ks, [v["low"] for v in values], [v["high"] for v in values], alpha=0.2)
    ax.set_xlabel("k")
    ax.set_ylabel("pass^k")
    ax.set_ylim(0, 1.05)
    ax.set_title("pass^k against k")
    ax.legend(fontsize="small")
    return _svg(figure)
