"""What the figure notebooks share about a training run's files: reading them with errors that name
the file (the log of a failed notebook is all a user sees), and marking a diverged run in its panel."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd


def malformed(path: str | Path, why: str) -> ValueError:
    return ValueError(f"run file {path} is malformed: {why}; rerun its training rule")


def _require_file(path: str | Path) -> None:
    if not Path(path).is_file():
        raise FileNotFoundError(f"run file {path} does not exist; rerun its training rule")


def read_summary(path: str | Path, keys: Iterable[str]) -> dict:
    """A run's summary.json, with its settings beside its results: summary.json records each setting
    once, under ``settings``, and a key the top level lacks is read from there (runs written before
    that rule also hold their identity, such as ``lam``, at the top level: the same value). It must
    hold every key of ``keys``."""
    _require_file(path)
    try:
        summary = json.loads(Path(path).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(
            f"run file {path} is malformed (not valid JSON: {err}); rerun its training rule"
        ) from err
    if isinstance(summary, dict) and isinstance(summary.get("settings"), dict):
        summary = summary["settings"] | summary
    keys = list(keys)
    missing = [k for k in keys if k not in summary] if isinstance(summary, dict) else keys
    if missing or not isinstance(summary, dict):
        raise malformed(path, f"no {missing}")
    return summary


def read_metrics(
    path: str | Path, columns: Iterable[str], allow_empty: bool = False
) -> pd.DataFrame:
    """A run's metrics.csv, which must hold every column of ``columns`` and, unless ``allow_empty``, a row."""
    _require_file(path)
    try:
        history = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise ValueError(f"run file {path} is malformed ({err}); rerun its training rule") from err
    missing = [c for c in columns if c not in history.columns]
    if missing or (history.empty and not allow_empty):
        raise malformed(path, f"missing columns {missing}, {len(history)} rows")
    return history


def read_run_files(
    summary_path: str | Path,
    metrics_path: str | Path,
    summary_keys: Iterable[str],
    metric_columns: Iterable[str],
) -> tuple[dict, pd.DataFrame]:
    """A run's summary.json and metrics.csv (see read_summary and read_metrics), whose last row is
    complete unless the run diverged."""
    for p in (summary_path, metrics_path):
        _require_file(p)
    summary = read_summary(summary_path, summary_keys)
    history = read_metrics(metrics_path, metric_columns)
    # a diverged run legitimately ends on a non-finite row; any other run with one was cut short
    if summary.get("status") != "diverged" and history.iloc[-1].isna().any():
        raise malformed(
            metrics_path, "its last row is incomplete (truncated?) although the run did not diverge"
        )
    return summary, history


def mark_diverged(ax: Any, run: dict) -> bool:
    """A diverged run's panel says so in red (its curves stop where the loss became NaN/inf)."""
    if run["status"] != "diverged":
        return False
    ax.text(
        0.5,
        0.5,
        f"DIVERGED at iteration {run['iterations']}",
        transform=ax.transAxes,
        ha="center",
        va="center",
        color="red",
        fontsize=8,
        fontweight="bold",
    )
    return True


def read_runs(
    summaries: Sequence[str | Path],
    metrics: Sequence[str | Path],
    summary_keys: Sequence[str],
    metric_columns: Sequence[str],
) -> list[dict]:
    """A figure's runs from its notebook's parameters: one summary.json and one metrics.csv per run, in
    the same order. Each run holds its summary's ``summary_keys``, the whole ``summary``, its
    ``history`` (metrics.csv) and the ``path`` of its summary.json."""
    if not summaries or len(summaries) != len(metrics):
        raise ValueError(
            f"expected one metrics.csv per summary.json, got {len(metrics)} and {len(summaries)}"
        )
    runs = []
    for summary_path, metrics_path in zip(summaries, metrics, strict=True):
        summary, history = read_run_files(summary_path, metrics_path, summary_keys, metric_columns)
        runs.append(
            {key: summary[key] for key in summary_keys}
            | {"summary": summary, "history": history, "path": str(summary_path)}
        )
    return runs
