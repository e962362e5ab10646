"""The Snakemake workflow: the whole smoke DAG, its report, reruns and failures (dry-runs of every
preset and bad configs: test_workflow_dry_run.py, so that they run beside the smoke DAG)."""

import json
import re
import shutil
import subprocess
from html import unescape
from pathlib import Path

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
    planned_files,
    snakemake,
)
from impreg.claims import read_claims
from impreg.config import load_config
from impreg.paper_figures import FIGURES

REQUIRED_CLAIM_KEYS = {"id", "statement", "paper", "measured", "tolerance", "passed"}


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    """The whole smoke DAG, run once in a fresh copy of the workflow."""
    wd = copy_workflow(tmp_path_factory.mktemp("smoke"))
    # 7 minutes on a 2-core machine of its own; the limit leaves room for a loaded one
    proc = snakemake(wd, "--configfile", "config/smoke.yaml", timeout=1500)
    assert proc.returncode == 0, proc.stderr[-5000:]
    return wd


def test_smoke_dag_outputs_are_complete_and_well_formed(smoke_run):
    res = smoke_run / "results" / "smoke"
    for figure in ["tf_dynamics", *RANK_COMPLEXITY_FIGURES, *DYNAMICS_FIGURES, *LOCALITY_FIGURES]:
        assert (res / "figures" / f"{figure}.pdf").read_bytes()[:4] == b"%PDF"
        assert (res / "figures" / f"{figure}.png").read_bytes()[:4] == b"\x89PNG"
        raw = json.loads((res / "claims" / f"{figure}.json").read_text())
        assert raw and all(REQUIRED_CLAIM_KEYS <= set(c) for c in raw)
        claims = read_claims(res / "claims" / f"{figure}.json")
        assert all(c.passed is None and c.note for c in claims), (
            "smoke settings differ from the paper's"
        )
        nb = json.loads((res / "notebooks" / f"{figure}.ipynb").read_text())
        assert any(cell.get("outputs") for cell in nb["cells"] if cell["cell_type"] == "code")
    runs = sorted((res / "runs" / "tf_dynamics").iterdir())
    assert len(runs) == 4
    for run in runs:
        summary = json.loads((run / "summary.json").read_text())
        assert {"iterations", "wall_seconds", "device", "settings", "status", "fingerprint"} <= set(
            summary
        )
        assert "seed" in summary["settings"] and "seed" not in summary  # each setting once
        assert len(pd.read_csv(run / "metrics.csv")) >= 2
    assert (res / "benchmarks" / "tf_dynamics").is_dir()
    for figure in RANK_COMPLEXITY_FIGURES + LOCALITY_FIGURES:
        assert all(
            (res / "tables" / f"{figure}.{ext}").stat().st_size > 0 for ext in ("csv", "md", "tex")
        )
    rc_runs = sorted((res / "runs" / "rank_complexity").iterdir())
    assert len(rc_runs) == 15  # 5 datasets x 3 controls, each one packed job
    for run in rc_runs:
        summary = json.loads((run / "summary.json").read_text())
        offline = summary["dataset"] in ("digits", "mnist5k")  # real files from installed packages
        assert summary["status"] == "completed" and summary["stand_in"] == (not offline)
        assert (run / "checkpoint.pt").exists()
    assert (res / "benchmarks" / "rank_complexity").is_dir()
    for experiment, count in (("tf_dynamics_variants", 6), ("incremental_rank", 3)):
        dyn_runs = sorted((res / "runs" / experiment).iterdir())
        assert len(dyn_runs) == count
        assert all(
            json.loads((r / "summary.json").read_text())["status"]
            in ("converged", "max_iterations")
            for r in dyn_runs
        )
        assert len(list((res / "benchmarks" / experiment).glob("*.tsv"))) == count
    loc_runs = sorted((res / "runs" / "locality").iterdir())
    assert len(loc_runs) == locality_runs(
        load_config(smoke_run / "config" / "smoke.yaml", smoke_run / "config" / "schema.yaml")[
            "locality"
        ]
    )
    for run in loc_runs:
        summary = json.loads((run / "summary.json").read_text())
        assert summary["status"] == "max_epochs" and summary["epochs"] == 1
        # stand-in CIFAR-10
        assert summary["stand_in"] == (summary["settings"]["task"] == "is_same_class")
        assert not (run / "checkpoint.pt").exists()  # dropped once the outputs are written
    report = (res / "REPLICATION.md").read_text()
    assert "## tf_dynamics" in report and "## locality" in report and "not checked" in report


def _report_data(html: str) -> tuple[str, dict[str, str]]:
    """The HTML report's first page and each result's caption, as text (the report embeds them as JSON)."""

    def text(fragment: str) -> str:
        return " ".join(unescape(re.sub(r"<[^>]+>", " ", fragment)).split())

    landing = json.loads(re.search(r"workflow_desc = (\".*?\");\n", html).group(1))
    results = json.loads(re.search(r"var results = (\{.*?\});\n", html, re.S).group(1))
    return text(landing), {Path(path).stem: text(r["caption"] or "") for path, r in results.items()}


@pytest.mark.slow  # a notebook or workflow run of its own: kept out of the 10-minute fast suite
def test_html_report_opens_on_the_verdict_and_its_captions_read_well(smoke_run):
    proc = snakemake(
        smoke_run,
        "all",
        "--configfile",
        "config/smoke.yaml",
        "--report",
        "results/smoke/report.html",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    # captions are reStructuredText: a stray |x| or *x reads as markup and docutils complains
    messages = re.findall(r".*\((?:INFO|WARNING|ERROR|SEVERE)/\d\).*", proc.stdout + proc.stderr)
    assert not messages, messages
    landing, captions = _report_data((smoke_run / "results" / "smoke" / "report.html").read_text())
    assert landing.startswith("Replication at smoke scale: the verdict")
    for figure, paper in FIGURES.items():
        assert f"{figure} , {paper.label}: behaviour not checked" in landing, figure
        assert captions[figure].startswith(f"{paper.label}: "), captions[figure][:80]
    assert {*FIGURES, "incremental_rank_full", "REPLICATION"} == set(captions)
    for name, caption in captions.items():
        # sentences run together
        assert not re.search(r"[a-z)][.;:][A-Z]", caption), (
            name,
            caption,
        )
        # template, old paths
        assert not re.search(r"\{[{%]|results/(tables|REPLICATION)", caption), (
            name,
            caption,
        )
        assert caption.endswith(("Scale: smoke.", "not the real datasets.")), (name, caption[-80:])
    assert "two CIFAR-10 images, placed x px apart" in captions["locality"]
    assert (
        "order-3 tensor of CP rank 2 (mode size 4) from 40 observed entries"
        in captions["tf_dynamics"]
    )


@pytest.mark.slow  # needs the report the slow test before it makes
def test_the_html_report_renders_its_verdict_in_a_browser(smoke_run, tmp_path):
    """The report's own page, opened by headless Chromium: the first page is the verdict."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    report = smoke_run / "results" / "smoke" / "report.html"
    if browser is None or not report.exists():
        pytest.skip("needs Chromium (apt-get install chromium) and the report of the test before")
    proc = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp_path}",
            "--virtual-time-budget=10000",
            "--dump-dom",
            report.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    dom = unescape(re.sub(r"<[^>]+>", " ", proc.stdout))
    assert "Replication at smoke scale: the verdict" in dom, proc.stderr[-2000:]
    assert all(figure in dom for figure in FIGURES)


def test_nothing_reruns_when_nothing_changed(smoke_run):
    proc = snakemake(smoke_run, "-n", "--configfile", "config/smoke.yaml")
    assert proc.returncode == 0
    assert "Nothing to be done" in proc.stdout + proc.stderr


@pytest.mark.slow  # a workflow copy of its own: kept out of the 10-minute fast suite
def test_a_moved_checkout_reruns_nothing(smoke_run, tmp_path):
    """No job's params or rule text hold the checkout's path, so a copy elsewhere keeps every job."""
    moved = tmp_path / "elsewhere"
    shutil.copytree(smoke_run, moved, symlinks=True)
    proc = snakemake(moved, "-n", "--configfile", "config/smoke.yaml")
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    assert "Nothing to be done" in proc.stdout + proc.stderr, (proc.stdout + proc.stderr)[-3000:]


@pytest.mark.slow  # a notebook or workflow run of its own: kept out of the 10-minute fast suite
def test_changing_one_setting_reruns_only_what_depends_on_it(smoke_run):
    config = yaml.safe_load((smoke_run / "config" / "smoke.yaml").read_text())
    config["tf_dynamics"]["lr"] = 0.02  # training setting: trains, figure, report; no data
    (smoke_run / "changed.yaml").write_text(yaml.safe_dump(config))
    counts = job_counts(
        (lambda p: p.stdout + p.stderr)(snakemake(smoke_run, "-n", "--configfile", "changed.yaml"))
    )
    assert counts.get("tf_dynamics_train") == 4 and counts.get("tf_dynamics") == 1
    assert "tf_dynamics_data" not in counts

    config["tf_dynamics"]["lr"] = 0.01
    # claim rule: only the notebook and report
    config["tf_dynamics"]["claims"] = {"negligible_norm": 0.02}
    (smoke_run / "changed.yaml").write_text(yaml.safe_dump(config))
    counts = job_counts(
        (lambda p: p.stdout + p.stderr)(snakemake(smoke_run, "-n", "--configfile", "changed.yaml"))
    )
    assert counts.get("tf_dynamics") == 1 and "tf_dynamics_train" not in counts


@pytest.mark.slow  # a notebook or workflow run of its own: kept out of the 10-minute fast suite
def test_failing_notebook_leaves_traceback_in_log(smoke_run):
    run = next((smoke_run / "results" / "smoke" / "runs" / "tf_dynamics").iterdir())
    metrics = run / "metrics.csv"
    original = metrics.read_text()
    try:
        metrics.write_text("iteration,train_loss\n")
        proc = snakemake(
            smoke_run,
            "tf_dynamics",
            "--configfile",
            "config/smoke.yaml",
            "--forcerun",
            "tf_dynamics",
        )
        assert proc.returncode != 0
        log = (smoke_run / "results" / "smoke" / "logs" / "tf_dynamics" / "figure.log").read_text()
        assert "Traceback" in log or "Error" in log
        assert str(metrics.relative_to(smoke_run)) in log and "malformed" in log
    finally:
        metrics.write_text(original)


@pytest.mark.slow  # a notebook or workflow run of its own: kept out of the 10-minute fast suite
def test_another_scale_plans_only_its_own_folder(smoke_run):
    """A quick run beside the smoke run: none of its jobs reads, rewrites or reruns a smoke file."""
    proc = snakemake(smoke_run, "-n", "--configfile", "config/quick.yaml")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    files = planned_files(out, "input", "output", "log", "benchmark")
    assert files and not [
        f for f in files if f.startswith("results/") and not f.startswith("results/quick/")
    ]
    assert "results/smoke" not in out and "Params have changed" not in out


@pytest.mark.slow  # a notebook or workflow run of its own: kept out of the 10-minute fast suite
def test_a_corrupt_data_file_costs_no_finished_run_and_deleting_it_repairs_the_run(smoke_run):
    """A truncated data file: its trainings fail with the loader's one-line error on the terminal,
    their finished run files stay, and deleting the file as the error says rebuilds it and finishes."""
    res = smoke_run / "results" / "smoke"
    data = next((res / "data" / "tf_dynamics").glob("*_seed0.npz"))
    runs = sorted((res / "runs" / "tf_dynamics").glob("*_seed0"))
    finished = {
        run: (run / "summary.json").read_bytes() + (run / "metrics.csv").read_bytes()
        for run in runs
    }
    good = data.read_bytes()
    data.write_bytes(good[:300])

    proc = snakemake(smoke_run, "--configfile", "config/smoke.yaml")
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert len(runs) == 2 and all(
        (run / "summary.json").read_bytes() + (run / "metrics.csv").read_bytes() == kept
        for run, kept in finished.items()
    )
    error = f"impreg: error: data file {data.relative_to(smoke_run)} is truncated or corrupted"
    assert out.count(error) == 2 and "delete it and rerun" in out  # one line per failed job
    assert re.search(r"^  tf_dynamics +P1 Fig\. 3 +not run: a job it needs failed", out, re.M)
    assert (
        "| [tf_dynamics](#tf_dynamics) | P1 Fig. 3 | **not run** |"
        in (res / "REPLICATION.md").read_text()
    )
    dry = snakemake(smoke_run, "-n", "--configfile", "config/smoke.yaml")
    # the failed jobs run again
    assert job_counts(dry.stdout + dry.stderr).get("tf_dynamics_train") == 2

    data.unlink()
    proc = snakemake(smoke_run, "--configfile", "config/smoke.yaml")
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    assert data.read_bytes() == good  # rebuilt, the same bytes
    report = (res / "REPLICATION.md").read_text()
    assert (
        "**not run**" not in report and "## tf_dynamics" in report and "| one_at_a_time |" in report
    )
