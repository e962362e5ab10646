"""docs/extending.md: the toy experiment it walks through, added to a copy of the workflow as the
page says (its module, its schema section, its notebook), is a command, a training and a set of
jobs, and nothing else had to name it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from helpers import ROOT, copy_workflow, job_counts, snakemake, venv_env

PAGE = ROOT / "docs" / "extending.md"


def _block(language: str) -> str:
    blocks = re.findall(rf"```{language}\n(.*?)```", PAGE.read_text(), re.S)
    assert len(blocks) == 1, f"docs/extending.md should hold one {language} block"
    return blocks[0]


def _notebook() -> dict:
    """A notebook with a parameters cell (papermill's input; the dry run never executes it)."""
    cell = {
        "cell_type": "code",
        "metadata": {"tags": ["parameters"]},
        "source": "summaries = []\n",
        "outputs": [],
        "execution_count": None,
    }
    return {
        "cells": [cell],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


@pytest.fixture(scope="module")
def with_toy(tmp_path_factory) -> Path:
    """A copy of the workflow with the page's toy experiment added as the page says."""
    wd = copy_workflow(tmp_path_factory.mktemp("toy"))
    (wd / "src" / "impreg" / "experiments" / "toy.py").write_text(_block("python"))
    schema_file = wd / "config" / "schema.yaml"
    schema = yaml.safe_load(schema_file.read_text())
    schema["properties"] |= yaml.safe_load(textwrap.dedent(_block("yaml")))
    schema_file.write_text(yaml.safe_dump(schema, sort_keys=False))
    (wd / "notebooks" / "toy.ipynb").write_text(json.dumps(_notebook()))
    return wd


def _python(wd: Path, code: str, *args: str) -> subprocess.CompletedProcess:
    env = venv_env() | {"PYTHONPATH": str(wd / "src")}
    return subprocess.run(
        [sys.executable, *(["-c", code] if code else []), *args],
        cwd=wd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_toy_is_found_with_its_commands_and_its_plug_in_keeps_the_contract(with_toy):
    check = (
        "from impreg.experiments import EXPERIMENTS, REGISTRY; from impreg.paper_figures import FIGURES\n"
        "toy = next(e for e in EXPERIMENTS if e.name == 'toy')\n"
        "assert toy.problems() == [], toy.problems()\n"
        "assert EXPERIMENTS[-1] is toy and list(FIGURES)[-1] == 'toy' and FIGURES['toy'].extension\n"
        "assert [' '.join(c.words) for c in REGISTRY.experiments['toy']] == ['make-data toy', 'train toy']\n"
    )
    proc = _python(with_toy, check)
    assert proc.returncode == 0, proc.stderr[-3000:]
    help_text = _python(with_toy, "", "-m", "impreg", "train", "toy", "--help")
    assert (
        help_text.returncode == 0
        and "--init-std" in help_text.stdout
        and "--settings" in help_text.stdout
    )


def test_the_toy_trains_to_its_target_rank_through_the_command_line(with_toy, tmp_path):
    data, run = tmp_path / "target.npz", tmp_path / "run"
    made = _python(
        with_toy, "", "-m", "impreg", "make-data", "toy", "--seed", "3", "--out", str(data)
    )
    assert made.returncode == 0, made.stderr[-3000:]
    trained = _python(
        with_toy,
        "",
        "-m",
        "impreg",
        "train",
        "toy",
        "--data",
        str(data),
        "--out-dir",
        str(run),
        "--settings",
        '{"seed": 1}',
    )
    assert trained.returncode == 0, trained.stderr[-3000:]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "max_iterations" and summary["settings"]["seed"] == 1
    assert summary["rank"] == 2 and summary["final_error"] < 1e-3, summary


def test_a_dry_run_plans_the_toys_data_training_and_figure_jobs(with_toy):
    proc = snakemake(with_toy, "toy", "-n", "--configfile", "config/smoke.yaml")
    assert proc.returncode == 0, proc.stderr[-3000:]
    counts = job_counts(proc.stdout + proc.stderr)
    assert (counts["toy_data"], counts["toy_train"], counts["toy"]) == (2, 2, 1), counts
    assert "results/smoke/runs/toy/dim8_rank2_seed1/summary.json" in proc.stdout + proc.stderr


def test_a_job_request_for_a_rule_that_does_not_exist_is_named(with_toy):
    (with_toy / "typo.yaml").write_text(
        yaml.safe_dump({"resources": {"toy_trian": {"runtime": 5}}})
    )
    proc = snakemake(with_toy, "toy", "-n", "--configfile", "config/smoke.yaml", "typo.yaml")
    assert proc.returncode != 0
    assert "['toy_trian'] name no rule of this workflow" in proc.stdout + proc.stderr
