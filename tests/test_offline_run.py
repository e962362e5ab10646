"""A run without network: the figures whose datasets cannot be downloaded are not run, every other
figure is made, the run ends with one message naming the figures and the files they wait for, and
REPLICATION.md lists those figures as not run (never as passed)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from helpers import ROOT, copy_workflow, venv_env
from impreg.claims import Claim, not_checkable, write_claims
from impreg.data.images import missing_raw_files
from impreg.report import write_replication_report

sys.path.insert(0, str(ROOT / "workflow"))
from run_outcome import (  # noqa: E402
    FailedJob,
    RunPlan,
    failure_line,
    figures_not_run,
    finish_failed_run,
    finish_successful_run,
    key_line,
    outcome_message,
    waiting_for,
)

MNIST_FILES = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
]


def test_missing_files_are_named_in_the_loaders_layout(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    (raw / MNIST_FILES[0]).write_bytes(b"x")  # as downloaded
    (raw / MNIST_FILES[1].removesuffix(".gz")).write_bytes(b"x")  # decompressed
    assert [p.name for p in missing_raw_files("mnist", tmp_path)] == MNIST_FILES[2:]
    assert missing_raw_files("cifar10", tmp_path) == [tmp_path / "cifar-10-python.tar.gz"]
    (tmp_path / "cifar-10-python.tar.gz").write_bytes(b"x")
    assert missing_raw_files("cifar10", tmp_path) == []
    assert missing_raw_files("digits", tmp_path) == missing_raw_files("mnist5k", tmp_path) == []


def test_report_lists_figures_not_run_and_counts_none_of_their_claims(tmp_path):
    write_claims(tmp_path / "tf_dynamics.json", [Claim("a", "s", 0.1, 0.1, "t", True)])
    write_claims(
        tmp_path / "rank_complexity_digits.json", [not_checkable("d", "s", 1, "stand-in data")]
    )
    out = tmp_path / "REPLICATION.md"
    write_replication_report(
        [tmp_path / "tf_dynamics.json", tmp_path / "rank_complexity_digits.json"],
        out,
        not_run={"rank_complexity": "waiting for the MNIST files"},
    )
    text = out.read_text()
    lines = text.splitlines()
    assert (
        "Claims: 1 pass, 0 fail, 1 not checked at this scale. Not run: 1 figure (rank_complexity)"
        in text
    )
    assert (
        "| [rank_complexity](#rank_complexity) | P1 Fig. 4 (MNIST, Fashion-MNIST) | **not run** | **not run** | – |"
        in lines
    )
    assert "**Not run:** waiting for the MNIST files. None of its claims was computed." in lines
    # the figure not run adds nothing
    assert "Paper claims: 0 pass, 0 fail, 1 not checked." not in text
    assert (
        "Paper claims: 1 pass, 0 fail, 0 not checked. Extension claims: 0 pass, 0 fail, 1 not checked."
        in text
    )
    # the papers' order holds for figures run and not run alike
    assert (
        text.index("## tf_dynamics")
        < text.index("## rank_complexity")
        < text.index("## rank_complexity_digits")
    )


def test_a_figure_waits_for_a_dataset_only_while_its_data_files_are_not_made(tmp_path):
    made = tmp_path / "mnist_natural.npz"
    downloads = {
        "rank_complexity": {"mnist": [str(made)]},
        "locality": {"cifar10": [str(tmp_path / "c.npz")]},
    }
    waiting = waiting_for(
        ["rank_complexity", "locality", "tf_dynamics"], downloads, str(tmp_path / "data")
    )
    assert list(waiting) == ["rank_complexity", "locality"]
    assert [p.name for p in waiting["rank_complexity"]["mnist"]] == MNIST_FILES
    made.write_bytes(b"x")  # made before (with network): the raw files are no longer needed
    assert list(waiting_for(["rank_complexity"], downloads, str(tmp_path / "data"))) == []


def test_figures_not_run_are_those_this_run_did_not_finish(tmp_path):
    done, stale, absent = (str(tmp_path / f"{n}.json") for n in ("done", "stale", "absent"))
    Path(done).write_text("[]")
    Path(stale).write_text("[]")  # from an earlier run; its job this time waited on a failed one
    assert figures_not_run([done, stale, absent], {stale}) == ["stale", "absent"]


def test_the_message_says_what_is_missing_where_and_how_to_provide_it(tmp_path):
    data = tmp_path / "images"
    waiting = {
        "rank_complexity": {
            "mnist": [data / "MNIST" / "raw" / f for f in MNIST_FILES[:1]],
            "fmnist": [data / "FashionMNIST" / "raw" / MNIST_FILES[0]],
        }
    }
    rerun = 'make replicate SCALE=quick TARGET="rank_complexity tf_dynamics"'
    text = outcome_message(waiting, ["tf_dynamics"], data, rerun, "results/quick/REPLICATION.md")
    assert text.startswith(
        f"NOT RUN: 1 figure(s) wait for dataset files that are not in the data folder {data}"
    )
    assert (
        "  rank_complexity: MNIST: MNIST/raw/train-images-idx3-ubyte.gz; Fashion-MNIST: "
        "FashionMNIST/raw/train-images-idx3-ubyte.gz"
    ) in text
    assert "python -m impreg fetch-data --datasets mnist fmnist --data-dir DIR" in text
    assert f"run the same command again ({rerun})" in text  # the user's TARGET kept
    assert "https://ossci-datasets.s3.amazonaws.com/mnist/" in text
    assert "NOT RUN: tf_dynamics: a job it needs failed" in text
    assert text.endswith("results/quick/REPLICATION.md lists these figures as not run.")


def test_a_failed_job_is_told_by_the_key_line_of_its_log(tmp_path):
    log = tmp_path / "train.log"
    log.write_text(
        "loading\nimpreg: error: data file d.npz is truncated or corrupted; delete it and rerun\n"
    )
    job = FailedJob("tf_dynamics_train", {"init": "0.05", "seed": "0"}, str(log))
    assert failure_line(job) == (
        "  tf_dynamics_train (init=0.05, seed=0): impreg: error: data file d.npz is truncated "
        f"or corrupted; delete it and rerun (log: {log})"
    )
    notebook = "Traceback (most recent call last):\n  File x\nimpreg.io.DataFileError: m.csv is malformed\n\nend"
    assert key_line(notebook) == "impreg.io.DataFileError: m.csv is malformed"
    log.write_text(
        "iteration 400\nSIGTERM: stopped after iteration 400; checkpoint c.pt written; run the same "
        "command to resume\n"
    )
    assert failure_line(job).startswith(
        "  tf_dynamics_train (init=0.05, seed=0): interrupted, and resumable: stopped "
        "after iteration 400; checkpoint c.pt written"
    )
    assert (
        failure_line(FailedJob("report", {}, str(tmp_path / "none.log")))
        == "  report: failed; it wrote no log"
    )


def _plan(claims: list[str], downloads: dict) -> RunPlan:
    return RunPlan(
        claims,
        "results/smoke/REPLICATION.md",
        "results/smoke/verdict.rst",
        "results/smoke/figures",
        "smoke",
        "make replicate SCALE=smoke",
        downloads=downloads,
        data_dir="data",
    )


def test_finish_failed_run_rewrites_the_report_only_when_the_run_was_to_make_it(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    claims = ["results/smoke/claims/tf_dynamics.json", "results/smoke/claims/rank_complexity.json"]
    write_claims(claims[0], [Claim("a", "s", 0.1, 0.1, "t", True)])
    downloads = {"rank_complexity": {"mnist": ["results/smoke/data/mnist_natural.npz"]}}
    plan = _plan(claims, downloads)

    def dag(*outputs):
        return SimpleNamespace(needrun_jobs=lambda: [SimpleNamespace(output=list(outputs))])

    message = finish_failed_run(plan, dag(claims[1], plan.replication), [])
    assert "rank_complexity: MNIST: MNIST/raw/train-images-idx3-ubyte.gz" in message
    report = Path(plan.replication).read_text()
    assert (
        "| **not run** |" in report
        and "waiting for the MNIST files" in report
        and "## tf_dynamics" in report
    )
    assert "Replication at smoke scale" in Path(plan.landing).read_text()
    # it ends with one line per figure and the report
    assert message.endswith(
        "not run: waiting for the MNIST files (no download possible here); provide them in "
        f"{(tmp_path / 'data').absolute()} and run again\nReport: results/smoke/REPLICATION.md"
    )
    assert re.search(r"^  tf_dynamics +P1 Fig\. 3 +1 pass, 0 fail, 0 not checked$", message, re.M)
    Path(plan.replication).unlink()
    message = finish_failed_run(plan, dag(claims[1]), [])
    assert "lists these figures" not in message and not Path(plan.replication).exists()
    assert message.endswith("No report yet: it is made with every figure (TARGET=all).")
    assert finish_failed_run(_plan(claims[:1], downloads), dag(), []) == finish_successful_run(
        _plan(claims[:1], downloads)
    )


def test_a_successful_run_ends_with_one_line_per_figure_and_the_report(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    claims = ["results/smoke/claims/tf_dynamics.json", "results/smoke/claims/locality.json"]
    write_claims(
        claims[0], [Claim("a", "s", 0.1, 0.1, "t", True), not_checkable("b", "s", 1, "smoke")]
    )
    Path("results/smoke/REPLICATION.md").write_text("# report")
    lines = finish_successful_run(_plan(claims, {})).splitlines()
    assert lines == [
        "Verdicts, claim by claim (pass / fail / not checked):",
        "  tf_dynamics  P1 Fig. 3             1 pass, 0 fail, 1 not checked",
        "  locality     P2 Fig. C (ResNet18)  not run: not made yet at this scale",
        "Report: results/smoke/REPLICATION.md",
    ]


@pytest.fixture(scope="module")
def offline_run(tmp_path_factory):
    """The smoke DAG (without the locality figures, for time) with the real MNIST, Fashion-MNIST and
    CIFAR-10 in place of stand-ins, an empty data folder and every download refused."""
    wd = copy_workflow(tmp_path_factory.mktemp("offline"))
    config = yaml.safe_load((wd / "config" / "smoke.yaml").read_text())
    config["rank_complexity"]["stand_in"] = False
    config["data_dir"] = str(wd / "no_data")
    for figure in ("locality", "locality_resnet34"):
        config["locality"].setdefault("figures", {}).setdefault(figure, {})["seeds"] = []
    (wd / "offline.yaml").write_text(yaml.safe_dump(config))
    env = venv_env()
    # no network, whatever the machine: every URL goes through a proxy that refuses connections
    env |= {"http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9", "no_proxy": ""}
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "snakemake"), "--configfile", "offline.yaml"],
        cwd=wd,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    return wd, proc


@pytest.mark.slow
def test_offline_run_makes_every_other_figure_and_ends_with_one_message(offline_run):
    wd, proc = offline_run
    assert proc.returncode != 0  # the replication is not complete
    res = wd / "results" / "smoke"
    for figure in (
        "tf_dynamics",
        "tf_dynamics_variants",
        "incremental_rank",
        "htf_detail",
        "rank_complexity_digits",
        "rank_complexity_mnist5k",
    ):
        assert (res / "figures" / f"{figure}.png").is_file(), proc.stderr[-5000:]
    for figure in ("rank_complexity", "rank_complexity_cifar10"):
        assert (
            not (res / "figures" / f"{figure}.png").exists()
            and not (res / "claims" / f"{figure}.json").exists()
        )
    log = proc.stdout + proc.stderr
    assert log.count("NOT RUN: 2 figure(s) wait for dataset files") == 1
    message = log[log.index("NOT RUN: 2 figure(s)") :]
    assert "rank_complexity: MNIST: MNIST/raw/train-images-idx3-ubyte.gz" in message
    assert "Fashion-MNIST: FashionMNIST/raw/train-images-idx3-ubyte.gz" in message
    assert "FashionMNIST/raw/t10k-labels-idx1-ubyte.gz" in message
    assert "rank_complexity_cifar10: CIFAR-10: cifar-10-python.tar.gz" in message
    assert (
        "fetch-data --datasets mnist fmnist cifar10" in message and str(wd / "no_data") in message
    )
    assert "results/smoke/REPLICATION.md lists these figures as not run." in message
    assert "run the same command again (snakemake --configfile offline.yaml)" in message


@pytest.mark.slow
def test_offline_report_lists_the_figures_not_run(offline_run):
    wd, proc = offline_run
    report = (wd / "results" / "smoke" / "REPLICATION.md").read_text()
    lines = report.splitlines()
    assert any(
        x.startswith(
            "| [rank_complexity](#rank_complexity) | P1 Fig. 4 (MNIST, Fashion-MNIST) | **not run** |"
        )
        for x in lines
    )
    assert any(
        x.startswith("| [rank_complexity_cifar10](#rank_complexity_cifar10) |")
        and "**not run**" in x
        for x in lines
    )
    assert "Not run: 2 figures (rank_complexity, rank_complexity_cifar10)" in report
    assert "**Not run:** waiting for the MNIST and Fashion-MNIST files" in report
    assert "## rank_complexity_digits" in report and "| digits_natural_fit_at_rank1 |" in report
    assert "mnist_natural_fit_at_rank1" not in report  # no claim of a figure not run
