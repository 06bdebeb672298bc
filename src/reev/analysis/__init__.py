"""Analysis of finished runs: pandas DataFrames, `reev report`'s statistics, `reev export`.

    import reev.analysis as ra
    ra.episodes_df("logs").groupby("agent").score.mean()
    ra.tool_calls_df("runs/baseline", "runs/candidate").groupby("tool").ok.mean()
    ra.episodes_df(db="sqlite:///db/reev.db")

Every `*_df` takes the same inputs as `reev report`: directories (run directories or any folder
of session files), results JSON files, session files, and/or a database URL (`db=`). The
columns are documented in docs/analysis.md. numpy, scipy, pandas, pyarrow and matplotlib are
the `analysis` extra (`pip install 'reev[analysis]'`): this package imports them only when a
function is called, so `import reev.analysis` works without them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reev.analysis.deps import require
from reev.analysis.sources import Dataset, Episode, load_inputs

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "Dataset",
    "Episode",
    "episodes_df",
    "load",
    "load_inputs",
    "model_calls_df",
    "report",
    "runs_df",
    "steps_df",
    "tool_calls_df",
    "transactions_df",
]


def load(
    *inputs: str | Path,
    db: str | None = None,
    agents: Iterable[str] | None = None,
    benchmarks: Sequence[Path] | None = None,
) -> Dataset:
    """The episodes of `inputs` (and of the database `db`), tagged from the benchmark files."""
    return load_inputs(list(inputs), db=db, agents=agents, benchmarks=benchmarks)


def _frame(name: str, inputs: tuple[str | Path | Dataset, ...], **kwargs: Any) -> pd.DataFrame:
    require()
    from reev.analysis.frames import FRAMES

    data = (
        inputs[0]
        if len(inputs) == 1 and isinstance(inputs[0], Dataset)
        else load(*(i for i in inputs if not isinstance(i, Dataset)), **kwargs)
    )
    return FRAMES[name](data)


def runs_df(*inputs: str | Path | Dataset, **kwargs: Any) -> pd.DataFrame:
    """One row per arm (a run's agent): totals and the run's configuration."""
    return _frame("runs", inputs, **kwargs)


def episodes_df(*inputs: str | Path | Dataset, **kwargs: Any) -> pd.DataFrame:
    """One row per episode."""
    return _frame("episodes", inputs, **kwargs)


def steps_df(*inputs: str | Path | Dataset, **kwargs: Any) -> pd.DataFrame:
    """One row per step of an episode (episodes with a session file)."""
    return _frame("steps", inputs, **kwargs)


def tool_calls_df(*inputs: str | Path | Dataset, **kwargs: Any) -> pd.DataFrame:
    """One row per tool call."""
    return _frame("tool_calls", inputs, **kwargs)


def model_calls_df(*inputs: str | Path | Dataset, **kwargs: Any) -> pd.DataFrame:
    """One row per model call (retries are its `attempts`)."""
    return _frame("model_calls", inputs, **kwargs)


def transactions_df(*inputs: str | Path | Dataset, **kwargs: Any) -> pd.DataFrame:
    """One row per transaction sent."""
    return _frame("transactions", inputs, **kwargs)


def report(*inputs: str | Path | Dataset, seed: int = 0, **kwargs: Any) -> dict[str, Any]:
    """`reev report --json`'s content for `inputs`."""
    require()
    from reev.analysis.report import build_report

    data = (
        inputs[0]
        if len(inputs) == 1 and isinstance(inputs[0], Dataset)
        else load(*(i for i in inputs if not isinstance(i, Dataset)), **kwargs)
    )
    return build_report(data, seed=seed)
