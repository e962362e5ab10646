"""Shipping a workflow run's outcome (impreg.shipped) on fabricated folders: which runs are copied,
what ORIGIN.json records, and what is refused (other scales, stand-in data, checkpoints)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd
import pytest

from impreg import shipped
from impreg.io import read_json
from impreg.shipped import check_shipped, ship_outputs, ship_runs

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def _notebook(path: Path, **params) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {"cells": [], "metadata": {"papermill": {"parameters": params, "exception": None}}}
        )
    )


def _figure(root: Path, figure: str, scale: str, runs: list[str], stand_in: bool = False) -> None:
    """A finished figure of a workflow run under root/results: its runs and executed notebook."""
    for run in runs:
        d = root / "results" / "runs" / figure / run
        d.mkdir(parents=True)
        (d / "metrics.csv").write_text("iteration,loss\n0,1.0\n")
        (d / "summary.json").write_text(
            json.dumps({"status": "converged", "data": {"stand_in": stand_in}})
        )
    dirs = [f"results/runs/{figure}/{run}" for run in runs]
    _notebook(
        root / "results" / "notebooks" / f"{figure}.ipynb",
        scale=scale,
        config={"seeds": [0]},
        summaries=[f"{d}/summary.json" for d in dirs],
        metrics=[f"{d}/metrics.csv" for d in dirs],
    )


@pytest.fixture
def workflow_run(tmp_path, monkeypatch):
    # the notebooks name their run files relative to the workflow's folder
    monkeypatch.chdir(tmp_path)
    _figure(tmp_path, "tf_dynamics", "paper", ["init0.05_seed0", "init0.05_seed1"])
    _figure(tmp_path, "incremental_rank", "quick", ["mf_seed0"])
    _figure(tmp_path, "rank_complexity", "paper", ["mnist_natural"], stand_in=True)
    return tmp_path


def test_ship_runs_copies_the_run_files_of_a_finished_figure_and_records_their_origin(workflow_run):
    dest = Path("results/shipped/paper")
    assert ship_runs(
        Path("results"), dest, "paper", COMMIT, "config/config.yaml", ["tf_dynamics"]
    ) == ["tf_dynamics"]
    shipped_run = dest / "runs" / "tf_dynamics" / "init0.05_seed0"
    assert sorted(p.name for p in shipped_run.iterdir()) == ["metrics.csv.gz", "summary.json"]
    # the metrics compressed, every byte kept; the summary as it was
    assert (
        gzip.decompress((shipped_run / "metrics.csv.gz").read_bytes()) == b"iteration,loss\n0,1.0\n"
    )
    assert (shipped_run / "summary.json").read_bytes() == Path(
        "results/runs/tf_dynamics/init0.05_seed0/summary.json"
    ).read_bytes()
    entry = read_json(dest / "ORIGIN.json")["figures"]["tf_dynamics"]
    assert entry["runs"] == ["tf_dynamics/init0.05_seed0", "tf_dynamics/init0.05_seed1"]
    assert entry["runs_commit"] == COMMIT and entry["config"] == {"seeds": [0]}
    # unchanged runs keep their recorded origin; a changed run is shipped again
    assert ship_runs(Path("results"), dest, "paper", "f" * 40, figures=["tf_dynamics"]) == []
    assert read_json(dest / "ORIGIN.json")["figures"]["tf_dynamics"]["runs_commit"] == COMMIT
    Path("results/runs/tf_dynamics/init0.05_seed1/metrics.csv").write_text(
        "iteration,loss\n0,0.5\n"
    )
    assert ship_runs(Path("results"), dest, "paper", "f" * 40, figures=["tf_dynamics"]) == [
        "tf_dynamics"
    ]


def test_ship_runs_refuses_other_scales_and_stand_in_data(workflow_run):
    dest = Path("results/shipped/paper")
    with pytest.raises(ValueError, match="scale 'quick'"):
        ship_runs(Path("results"), dest, "paper", COMMIT, figures=["incremental_rank"])
    with pytest.raises(ValueError, match="stand-in"):
        ship_runs(Path("results"), dest, "paper", COMMIT, figures=["rank_complexity"])
    with pytest.raises(ValueError, match="never shipped"):
        ship_runs(Path("results"), Path("results/shipped/smoke"), "smoke", COMMIT)
    assert not (dest / "runs").exists()


def test_ship_outputs_needs_every_figure_origin_and_refuses_checkpoints(workflow_run, monkeypatch):
    monkeypatch.setattr(
        shipped, "_git", lambda *args: COMMIT if args[0] == "rev-parse" else " M src/x.py\n"
    )
    dest, made = Path("results/shipped/paper"), Path("results/from_shipped/paper")
    ship_runs(Path("results"), dest, "paper", COMMIT, figures=["tf_dynamics"])
    runs = [f"{dest}/runs/tf_dynamics/init0.05_seed{s}" for s in (0, 1)]
    _notebook(
        made / "notebooks" / "tf_dynamics.ipynb",
        scale="paper",
        summaries=[f"{r}/summary.json" for r in runs],
        metrics=[f"{r}/metrics.csv.gz" for r in runs],
    )
    (made / "claims").mkdir(parents=True)
    (made / "claims" / "tf_dynamics.json").write_text("[]")
    (made / "REPLICATION.md").write_text("# Replication report\n")
    assert ship_outputs(made, dest, "paper") == ["tf_dynamics"]
    assert (dest / "claims" / "tf_dynamics.json").is_file() and (dest / "REPLICATION.md").is_file()
    assert read_json(dest / "ORIGIN.json")["outputs"]["uncommitted"] == ["src/x.py"]
    _notebook(
        made / "notebooks" / "htf_detail.ipynb",
        scale="paper",
        summaries=[f"{runs[0]}/summary.json"],
        metrics=[f"{runs[0]}/metrics.csv.gz"],
    )
    (made / "claims" / "htf_detail.json").write_text("[]")
    with pytest.raises(ValueError, match="htf_detail: its runs"):
        # made from shipped runs that ORIGIN.json does not record for it
        ship_outputs(made, dest, "paper")
    # by hand
    assert ship_outputs(made, dest, "paper", runs_commit=COMMIT) == [
        "htf_detail",
        "tf_dynamics",
    ]
    assert read_json(dest / "ORIGIN.json")["figures"]["htf_detail"]["runs"] == [
        "tf_dynamics/init0.05_seed0"
    ]
    (dest / "runs" / "tf_dynamics" / "init0.05_seed0" / "checkpoint.pt").write_bytes(b"x")
    with pytest.raises(ValueError, match="checkpoints"):
        check_shipped(dest.parent)


def test_shipped_metrics_are_the_same_bytes_on_every_shipping(workflow_run):
    """The gzip header holds no name or time, so shipping the same runs twice gives the same files
    (git sees no change), and pandas reads them as the csv they hold."""
    first, second = Path("results/shipped/paper"), Path("results/shipped/again")
    ship_runs(Path("results"), first, "paper", COMMIT, figures=["tf_dynamics"])
    ship_runs(Path("results"), second, "paper", COMMIT, figures=["tf_dynamics"])
    rel = Path("runs/tf_dynamics/init0.05_seed1/metrics.csv.gz")
    assert (first / rel).read_bytes() == (second / rel).read_bytes()
    assert pd.read_csv(first / rel).to_dict("list") == {"iteration": [0], "loss": [1.0]}
