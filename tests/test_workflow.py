"""The Snakemake workflow: the whole smoke DAG, its report, reruns and failures (dry-runs of every
preset and bad configs: test_workflow_dry_run.py, so that they run beside the smoke DAG)."""

import json
import re

import pandas as pd
import pytest
import yaml

from helpers import (
    DYNAMICS_FIGURES,
    LOCALITY_FIGURES,
    RANK_COMPLEXITY_FIGURES,
    copy_workflow,
    job_counts,
    locality_runs,
    snakemake,
)
from impreg.claims import read_claims
from impreg.config import load_config

REQUIRED_CLAIM_KEYS = {"id", "statement", "paper", "measured", "tolerance", "passed"}


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    """The whole smoke DAG, run once in a fresh copy of the workflow."""
    wd = copy_workflow(tmp_path_factory.mktemp("smoke"))
    proc = snakemake(wd, "--configfile", "config/smoke.yaml")
    assert proc.returncode == 0, proc.stderr[-5000:]
    return wd


def test_smoke_dag_outputs_are_complete_and_well_formed(smoke_run):
    res = smoke_run / "results"
    for figure in ["tf_dynamics", *RANK_COMPLEXITY_FIGURES, *DYNAMICS_FIGURES, *LOCALITY_FIGURES]:
        assert (res / "figures" / f"{figure}.pdf").read_bytes()[:4] == b"%PDF"
        assert (res / "figures" / f"{figure}.png").read_bytes()[:4] == b"\x89PNG"
        raw = json.loads((res / "claims" / f"{figure}.json").read_text())
        assert raw and all(REQUIRED_CLAIM_KEYS <= set(c) for c in raw)
        claims = read_claims(res / "claims" / f"{figure}.json")
        assert all(c.passed is None and c.note for c in claims), "smoke settings differ from the paper's"
        nb = json.loads((res / "notebooks" / f"{figure}.ipynb").read_text())
        assert any(cell.get("outputs") for cell in nb["cells"] if cell["cell_type"] == "code")
    runs = sorted((res / "runs" / "tf_dynamics").iterdir())
    assert len(runs) == 4
    for run in runs:
        summary = json.loads((run / "summary.json").read_text())
        assert {"iterations", "wall_seconds", "device", "seed", "settings", "status"} <= set(summary)
        assert len(pd.read_csv(run / "metrics.csv")) >= 2
    assert (smoke_run / "results" / "benchmarks" / "tf_dynamics").is_dir()
    for figure in RANK_COMPLEXITY_FIGURES + LOCALITY_FIGURES:
        assert all((res / "tables" / f"{figure}.{ext}").stat().st_size > 0 for ext in ("csv", "md", "tex"))
    rc_runs = sorted((res / "runs" / "rank_complexity").iterdir())
    assert len(rc_runs) == 15  # 5 datasets x 3 controls, each one packed job
    for run in rc_runs:
        summary = json.loads((run / "summary.json").read_text())
        offline = summary["dataset"] in ("digits", "mnist5k")  # real files from installed packages
        assert summary["status"] == "completed" and summary["stand_in"] == (not offline)
        assert (run / "checkpoint.pt").exists()
    assert (smoke_run / "results" / "benchmarks" / "rank_complexity").is_dir()
    for experiment, count in (("tf_dynamics_variants", 6), ("incremental_rank", 3)):
        dyn_runs = sorted((res / "runs" / experiment).iterdir())
        assert len(dyn_runs) == count
        assert all(json.loads((r / "summary.json").read_text())["status"] in ("converged", "max_iterations")
                   for r in dyn_runs)
        assert len(list((res / "benchmarks" / experiment).glob("*.tsv"))) == count
    loc_runs = sorted((res / "runs" / "locality").iterdir())
    assert len(loc_runs) == locality_runs(load_config(smoke_run / "config" / "smoke.yaml",
                                                      smoke_run / "config" / "schema.yaml")["locality"])
    for run in loc_runs:
        summary = json.loads((run / "summary.json").read_text())
        assert summary["status"] == "max_epochs" and summary["epochs"] == 1
        assert summary["stand_in"] == (summary["task"] == "is_same_class")  # stand-in CIFAR-10
        assert not (run / "checkpoint.pt").exists()  # dropped once the outputs are written
    report = (res / "REPLICATION.md").read_text()
    assert "## tf_dynamics" in report and "## locality" in report and "not checked" in report


def test_html_report_shows_the_figures(smoke_run):
    proc = snakemake(smoke_run, "--configfile", "config/smoke.yaml", "--report", "results/report.html")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (smoke_run / "results" / "report.html").stat().st_size > 10_000
    # captions are reStructuredText: a stray |x| or *x reads as markup and docutils complains
    messages = re.findall(r".*\((?:INFO|WARNING|ERROR|SEVERE)/\d\).*", proc.stdout + proc.stderr)
    assert not messages, messages


def test_nothing_reruns_when_nothing_changed(smoke_run):
    proc = snakemake(smoke_run, "-n", "--configfile", "config/smoke.yaml")
    assert proc.returncode == 0
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_changing_one_setting_reruns_only_what_depends_on_it(smoke_run):
    config = yaml.safe_load((smoke_run / "config" / "smoke.yaml").read_text())
    config["tf_dynamics"]["lr"] = 0.02  # training setting: trains, figure, report; no data
    (smoke_run / "changed.yaml").write_text(yaml.safe_dump(config))
    counts = job_counts((lambda p: p.stdout + p.stderr)(snakemake(smoke_run, "-n", "--configfile", "changed.yaml")))
    assert counts.get("tf_dynamics_train") == 4 and counts.get("tf_dynamics") == 1
    assert "tf_dynamics_data" not in counts

    config["tf_dynamics"]["lr"] = 0.01
    config["tf_dynamics"]["claims"] = {"negligible_norm": 0.02}  # claim rule: only the notebook and report
    (smoke_run / "changed.yaml").write_text(yaml.safe_dump(config))
    counts = job_counts((lambda p: p.stdout + p.stderr)(snakemake(smoke_run, "-n", "--configfile", "changed.yaml")))
    assert counts.get("tf_dynamics") == 1 and "tf_dynamics_train" not in counts


def test_failing_notebook_leaves_traceback_in_log(smoke_run):
    run = next((smoke_run / "results" / "runs" / "tf_dynamics").iterdir())
    metrics = run / "metrics.csv"
    original = metrics.read_text()
    try:
        metrics.write_text("iteration,train_loss\n")
        proc = snakemake(smoke_run, "tf_dynamics", "--configfile", "config/smoke.yaml", "--forcerun", "tf_dynamics")
        assert proc.returncode != 0
        log = (smoke_run / "results" / "logs" / "tf_dynamics" / "figure.log").read_text()
        assert "Traceback" in log or "Error" in log
        assert str(metrics.relative_to(smoke_run)) in log and "malformed" in log
    finally:
        metrics.write_text(original)
