"""The rank_complexity notebook on fabricated runs: table, figure, and claims that pass, fail or are unchecked."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from helpers import ROOT, papermill
from impreg.claims import read_claims
from impreg.config import validate_config
from impreg.paper_values import RANK_COMPLEXITY as PAPER

NOTEBOOK = ROOT / "notebooks" / "rank_complexity.ipynb"
CONTROLS = ["natural", "random_image", "random_label"]


def _curve(points: dict[int, float], ranks) -> np.ndarray:
    keys = sorted(points)
    return np.interp(ranks, keys, [points[k] for k in keys])


def _fake_run(
    path,
    dataset,
    control,
    values,
    seeds=(0, 1),
    ranks=range(1, 16),
    stand_in=False,
    steps=120000,
    status="completed",
    epochs=10000,
):
    """A run whose final train/test errors follow ``values[split]`` (dict rank -> error), plus seed noise;
    a diverged one has NaN train errors at its last evaluation, as the training loop leaves it."""
    rows = []
    for s in seeds:
        noise = 0.0005 * (s - (len(seeds) - 1) / 2)
        for split in ("train", "test"):
            curve = _curve(values[split], list(ranks)) + noise
            for r, v in zip(ranks, curve):
                rows.append({"seed": s, "rank": r, "split": split, "v": v})
    df = (
        pd.DataFrame(rows)
        .pivot_table(index=["seed", "rank"], columns="split", values="v")
        .reset_index()
    )
    metrics = pd.DataFrame(
        {
            "epoch": epochs,
            "step": steps,
            "rank": df["rank"],
            "seed": df["seed"],
            "train_error": df["train"],
            "test_error": df["test"],
        }
    )
    if status == "diverged":
        metrics["train_error"] = np.nan
    path.mkdir(parents=True)
    metrics.to_csv(path / "metrics.csv", index=False)
    summary = {
        "dataset": dataset,
        "control": control,
        "status": status,
        "stand_in": stand_in,
        "steps": steps,
        "epochs": epochs,
        "variance_line": 0.0889,
        "test_variance_line": 0.0866,
    }
    (path / "summary.json").write_text(json.dumps(summary))
    return path


def _paper_runs(tmp_path, dataset, swap_random=False, diverged=(), **kw):
    v = PAPER["values"][dataset]
    runs = []
    for control in CONTROLS:
        train_key = (
            {"random_image": "random_label", "random_label": "random_image"}.get(control, control)
            if swap_random
            else control
        )
        values = {"train": v[f"{train_key}_train"], "test": v[f"{control}_test"]}
        runs.append(
            _fake_run(
                tmp_path / f"{dataset}_{control}",
                dataset,
                control,
                values,
                status="diverged" if control in diverged else "completed",
                **kw,
            )
        )
    return runs


@pytest.fixture
def paper_config():
    config = validate_config(
        yaml.safe_load((ROOT / "config" / "config.yaml").read_text()),
        ROOT / "config" / "schema.yaml",
    )
    return config["rank_complexity"]


def _params(
    tmp_path, runs, config, figure="rank_complexity", datasets=("mnist", "fmnist"), scale="paper"
):
    return dict(
        summaries=[str(r / "summary.json") for r in runs],
        metrics=[str(r / "metrics.csv") for r in runs],
        config=config,
        scale=scale,
        figure=figure,
        datasets=list(datasets),
        out_pdf=str(tmp_path / "f.pdf"),
        out_png=str(tmp_path / "f.png"),
        out_claims=str(tmp_path / "claims.json"),
        out_table=str(tmp_path / "table"),
    )


def test_paper_like_runs_pass_and_the_table_holds_every_plotted_value(tmp_path, paper_config):
    runs = _paper_runs(tmp_path, "mnist") + _paper_runs(tmp_path, "fmnist")
    proc = papermill(
        NOTEBOOK, tmp_path / "out.ipynb", _params(tmp_path, runs, paper_config), tmp_path
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    claims = {c.id: c for c in read_claims(tmp_path / "claims.json")}
    assert len(claims) == 2 * (6 + 6)
    failed = {k: (c.measured, c.tolerance) for k, c in claims.items() if c.passed is not True}
    assert not failed
    assert (tmp_path / "f.pdf").read_bytes()[:4] == b"%PDF" and (tmp_path / "f.png").read_bytes()[
        :4
    ] == b"\x89PNG"
    table = pd.read_csv(tmp_path / "table.csv")
    assert len(table) == 2 * 3 * 2 * 15  # datasets x controls x splits x ranks
    assert set(table.columns) >= {
        "dataset",
        "control",
        "split",
        "rank",
        "mean",
        "std",
        "seeds",
        "variance_line",
    }
    row = table[
        (table["dataset"] == "mnist")
        & (table["control"] == "natural")
        & (table["split"] == "train")
        & (table["rank"] == 5)
    ]
    assert row["mean"].item() == pytest.approx(0.008) and row["seeds"].item() == 2
    assert "0.0080 ± 0.000" in (tmp_path / "table.md").read_text()
    assert "\\begin{tabular}" in (tmp_path / "table.tex").read_text()


@pytest.mark.slow  # a notebook or workflow run of its own: kept out of the 10-minute fast suite
def test_claims_fail_when_random_labels_are_fit_faster_or_a_run_diverged(tmp_path, paper_config):
    # MNIST: the controls swapped; Fashion-MNIST: paper-like, but its natural run diverged
    runs = _paper_runs(tmp_path, "mnist", swap_random=True) + _paper_runs(
        tmp_path, "fmnist", diverged={"natural"}
    )
    proc = papermill(
        NOTEBOOK, tmp_path / "out.ipynb", _params(tmp_path, runs, paper_config), tmp_path
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    claims = {c.id: c for c in read_claims(tmp_path / "claims.json")}
    assert claims["mnist_random_image_falls_faster"].passed is False
    assert claims["mnist_values_random_label_train"].passed is False
    assert claims["mnist_natural_fit_at_rank1"].passed is True
    # every claim on the diverged run fails and names it; those on the other runs are untouched
    for cid in (
        "natural_fit_at_rank1",
        "natural_test_low",
        "values_natural_train",
        "values_natural_test",
    ):
        assert (
            claims[f"fmnist_{cid}"].passed is False
            and "fmnist/natural: diverged" in claims[f"fmnist_{cid}"].note
        )
    assert claims["fmnist_random_image_falls_faster"].passed is True
    assert (
        "diverged runs marked in the figure: [('fmnist', ['original'])]"
        in (tmp_path / "out.ipynb").read_text()
    )


def test_stand_in_and_reduced_runs_are_not_checked(tmp_path, paper_config):
    # Fashion-MNIST as at the quick scale: 1000 epochs, 2000 steps (the paper: 10000 epochs, 120000 steps)
    runs = _paper_runs(tmp_path, "mnist", stand_in=True) + _paper_runs(
        tmp_path, "fmnist", steps=2000, epochs=1000
    )
    config = json.loads(json.dumps(paper_config))
    config["datasets"]["fmnist"]["epochs"] = 1000
    proc = papermill(
        NOTEBOOK, tmp_path / "out.ipynb", _params(tmp_path, runs, config, scale="smoke"), tmp_path
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    claims = read_claims(tmp_path / "claims.json")
    assert claims and all(c.passed is None for c in claims)
    notes = {c.id: c.note for c in claims}
    assert (
        "stand-in" in notes["mnist_natural_fit_at_rank1"]
        and "stand-in" in notes["mnist_values_natural_train"]
    )
    assert "shorter than the paper's 10000 epochs" in notes["fmnist_natural_fit_at_rank1"]
    assert "epochs=1000 (paper 10000)" in notes["fmnist_values_natural_train"]
    assert pd.read_csv(tmp_path / "table.csv")["stand_in"].any()


def test_extension_datasets_get_qualitative_claims_only(tmp_path, paper_config):
    v = PAPER["values"]["mnist"]
    runs = [
        _fake_run(
            tmp_path / c,
            "digits",
            c,
            {"train": v[f"{c}_train"], "test": v[f"{c}_test"]},
            ranks=[1, 2, 4, 8, 15],
        )
        for c in CONTROLS
    ]
    proc = papermill(
        NOTEBOOK,
        tmp_path / "out.ipynb",
        _params(tmp_path, runs, paper_config, figure="rank_complexity_digits", datasets=["digits"]),
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    claims = read_claims(tmp_path / "claims.json")
    assert len(claims) == 6 and all(c.id.startswith("digits_") for c in claims)
    assert all("Extension" in c.statement and "not in the paper" in c.paper for c in claims)
    assert all(c.passed is True for c in claims)


def test_mnist5k_is_checked_against_the_paper_mnist_panel_and_says_what_differs(
    tmp_path, paper_config
):
    v = PAPER["values"]["mnist"]
    runs = [
        _fake_run(
            tmp_path / c,
            "mnist5k",
            c,
            {"train": v[f"{c}_train"], "test": v[f"{c}_test"]},
            steps=10000,
        )
        for c in CONTROLS
    ]
    proc = papermill(
        NOTEBOOK,
        tmp_path / "out.ipynb",
        _params(
            tmp_path, runs, paper_config, figure="rank_complexity_mnist5k", datasets=["mnist5k"]
        ),
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    claims = read_claims(tmp_path / "claims.json")
    assert len(claims) == 6 + 6 and all(c.id.startswith("mnist5k_") for c in claims)
    assert all(c.passed is True for c in claims), {
        c.id: c.measured for c in claims if c.passed is not True
    }
    assert all(
        "MNIST panel" in c.statement and "4000 train / 1000 held-out" in c.note for c in claims
    )
    values = {c.id: c for c in claims}["mnist5k_values_natural_train"]
    # keys as JSON writes them
    assert values.paper == {
        "1": 0.022,
        "5": 0.008,
        "10": 0.004,
        "15": 0.003,
    }


def test_truncated_run_file_fails_with_its_path(tmp_path, paper_config):
    runs = _paper_runs(tmp_path, "mnist")
    metrics = runs[1] / "metrics.csv"
    metrics.write_text(metrics.read_text()[:-12])  # cut in the middle of its last line
    proc = papermill(
        NOTEBOOK,
        tmp_path / "out.ipynb",
        _params(tmp_path, runs, paper_config, datasets=["mnist"]),
        tmp_path,
    )
    assert proc.returncode != 0
    assert f"run file {metrics} is malformed: its last row is incomplete" in proc.stderr
    assert not (tmp_path / "claims.json").exists()
