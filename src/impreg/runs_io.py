"""What the figure notebooks share about a training run's files: reading them with errors that name
the file, and marking a diverged run in its panel."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd


def read_run_files(summary_path: str | Path, metrics_path: str | Path, summary_keys: Iterable[str],
                   metric_columns: Iterable[str]) -> tuple[dict, pd.DataFrame]:
    """A run's summary.json and metrics.csv. A missing or malformed file fails naming it: the log of a
    failed notebook is all a user sees."""
    for p in (summary_path, metrics_path):
        if not Path(p).exists():
            raise FileNotFoundError(f"run file {p} does not exist; rerun its training rule")
    try:
        summary = json.loads(Path(summary_path).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"run file {summary_path} is malformed (not valid JSON: {err}); rerun its training rule") from err
    try:
        history = pd.read_csv(metrics_path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise ValueError(f"run file {metrics_path} is malformed ({err}); rerun its training rule") from err
    summary_keys, metric_columns = list(summary_keys), list(metric_columns)
    missing = [k for k in summary_keys if k not in summary] if isinstance(summary, dict) else summary_keys
    if missing:
        raise ValueError(f"run file {summary_path} is malformed: no {missing}; rerun its training rule")
    missing = [c for c in metric_columns if c not in history.columns]
    if history.empty or missing:
        raise ValueError(f"run file {metrics_path} is malformed: missing columns {missing}, {len(history)} rows; "
                         "rerun its training rule")
    # a diverged run legitimately ends on a non-finite row; any other run with one was cut short
    if summary.get("status") != "diverged" and history.iloc[-1].isna().any():
        raise ValueError(f"run file {metrics_path} is malformed: its last row is incomplete (truncated?) although "
                         f"the run did not diverge; rerun its training rule")
    return summary, history


def mark_diverged(ax: Any, run: dict) -> bool:
    """A diverged run's panel says so in red (its curves stop where the loss became NaN/inf)."""
    if run["status"] != "diverged":
        return False
    ax.text(0.5, 0.5, f"DIVERGED at iteration {run['iterations']}", transform=ax.transAxes, ha="center",
            va="center", color="red", fontsize=8, fontweight="bold")
    return True
