"""The rank-complexity claims (impreg.claims.rank_complexity) on fabricated runs: runs with the paper's
numbers pass every claim, and each claim fails on runs that break just it; short, stand-in and
diverged runs are never passed."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
import yaml

from helpers import ROOT
from impreg.claims import write_claims
from impreg.claims.rank_complexity import QUALITATIVE, SERIES, rank_complexity_claims
from impreg.config import validate_config
from impreg.paper_values import RANK_COMPLEXITY as PAPER
from impreg.report import write_replication_report

CONFIG = validate_config(
    yaml.safe_load((ROOT / "config" / "config.yaml").read_text()), ROOT / "config" / "schema.yaml"
)["rank_complexity"]
CONTROLS = ["natural", "random_image", "random_label"]
VARIANCE, TEST_VARIANCE = 0.0889, 0.0866  # MNIST's, computed from its labels
SEEDS = (0, 1, 2)


def _curve(points: dict[int, float], ranks: list[int]) -> np.ndarray:
    keys = sorted(points)
    return np.interp(ranks, keys, [points[k] for k in keys])


def _run(
    dataset: str,
    control: str,
    train: dict,
    test: dict,
    ranks=range(1, 16),
    steps=120000,
    epochs=10000,
    status="completed",
    stand_in=False,
) -> dict:
    """A run whose final errors follow the curves through ``train`` and ``test`` (rank -> error), plus seed noise."""
    ranks = list(ranks)
    rows = [
        {"rank": r, "seed": s, "train_error": a + 2e-4 * (s - 1), "test_error": b + 2e-4 * (s - 1)}
        for s in SEEDS
        for r, a, b in zip(ranks, _curve(train, ranks), _curve(test, ranks))
    ]
    final = pd.DataFrame(rows)
    if status == "diverged":
        final["train_error"] = np.nan
    return {
        "dataset": dataset,
        "control": control,
        "status": status,
        "stand_in": stand_in,
        "steps": steps,
        "epochs": epochs,
        "variance_line": VARIANCE,
        "test_variance_line": TEST_VARIANCE,
        "final": final,
    }


def _values(panel: str = "mnist") -> dict[str, dict[int, float]]:
    return copy.deepcopy(PAPER["values"][panel])


def _runs(dataset: str = "mnist", values: dict | None = None, **kw) -> list[dict]:
    v = values or _values()
    return [_run(dataset, c, v[f"{c}_train"], v[f"{c}_test"], **kw) for c in CONTROLS]


def _claims(
    runs: list[dict], dataset: str = "mnist", config: dict = CONFIG, scale: str = "paper"
) -> dict:
    return {
        c.id: c for c in rank_complexity_claims(runs, config, [dataset], "rank_complexity", scale)
    }


def test_runs_with_the_paper_numbers_pass_every_claim():
    claims = _claims(_runs())
    assert set(claims) == {f"mnist_{c}" for c in QUALITATIVE} | {
        f"mnist_values_{s}" for s in SERIES
    }
    assert {k: c.measured for k, c in claims.items() if c.passed is not True} == {}
    fmnist = _claims(_runs("fmnist", _values("fmnist")), "fmnist")
    assert all(c.passed is True for c in fmnist.values()), {
        k: c.measured for k, c in fmnist.items() if not c.passed
    }


# claim -> how to change the paper's values so that just it fails
BREAKS = {
    # rank 1 fit at 0.67 of the variance: not "far below" it
    "natural_fit_at_rank1": lambda v: v["natural_train"].update({1: 0.06}),
    # stuck near the rank-1 fit: 0.02 at R = 15 (the paper: 0.003)
    "natural_train_near_zero": lambda v: v["natural_train"].update({5: 0.021, 10: 0.02, 15: 0.02}),
    # 10% below the variance at R = 1 (the old 15% rule let this pass)
    "random_start_at_variance": lambda v: v["random_image_train"].update({1: 0.080}),
    # the controls' train curves swapped
    "random_image_falls_faster": lambda v: v.update(
        random_image_train=v["random_label_train"], random_label_train=v["random_image_train"]
    ),
    "natural_test_low": lambda v: v["natural_test"].update({15: 0.07}),
    # above the variance but only 1.15x it (the old factor 1.0 let this pass; the paper: 1.6x)
    "random_test_rises": lambda v: v["random_label_test"].update({5: 0.095, 10: 0.098, 15: 0.10}),
}


@pytest.mark.parametrize("claim", sorted(QUALITATIVE))
def test_each_qualitative_claim_fails_on_runs_that_break_it(claim):
    values = _values()
    BREAKS[claim](values)
    claims = _claims(_runs(values=values))
    assert claims[f"mnist_{claim}"].passed is False
    assert claims[f"mnist_{claim}"].measured.startswith("holds on 0 of 3 seeds")
    others = [
        k.removeprefix("mnist_")
        for k, c in claims.items()
        if c.passed is False and "values" not in k
    ]
    assert others == [claim]


def test_random_image_train_error_must_fall_not_only_rise_less():
    # both controls rise with R (larger models left unfitted), random images less
    values = _values()
    values["random_image_train"].update({5: 0.0885, 10: 0.0885, 15: 0.0885})
    values["random_label_train"].update({5: 0.090, 10: 0.091, 15: 0.092})
    claim = _claims(_runs(values=values))["mnist_random_image_falls_faster"]
    assert claim.passed is False and claim.measured.startswith("holds on 0 of 3 seeds")


@pytest.mark.parametrize("series", SERIES)
def test_each_value_claim_fails_when_one_rank_is_off(series):
    values = _values()
    # twice the paper's at R = 15: natural train 0.006 for 0.003 (the old floor of 0.01 accepted it)
    values[series][15] *= 2
    claim = _claims(_runs(values=values))[f"mnist_values_{series}"]
    assert claim.passed is False and claim.measured["outside_tolerance_at"] == [15]
    assert list(claim.measured) == ["outside_tolerance_at", "mean"]  # the reason first, in one line


def test_value_floor_is_the_plot_reading_precision():
    values = _values()
    values["natural_train"][15] = 0.0045  # within 0.002 of the paper's 0.003
    assert _claims(_runs(values=values))["mnist_values_natural_train"].passed is True


def test_runs_shorter_than_the_paper_are_not_judged_against_it():
    # the quick scale: 1000 epochs, 2000 Adam steps, a 10000-image subset (the paper: 10000 epochs, 120000 steps)
    config = copy.deepcopy(CONFIG)
    config["datasets"]["mnist"].update(epochs=1000, train_subset=10000)
    claims = _claims(_runs(steps=2000, epochs=1000), config=config, scale="quick")
    assert all(c.passed is None for c in claims.values())
    assert (
        "2000 optimizer steps (1000 epochs), shorter than the paper's 10000 epochs"
        in claims["mnist_natural_fit_at_rank1"].note
    )
    assert "epochs=1000 (paper 10000)" in claims["mnist_values_natural_train"].note
    # an extension has no paper length to reach: its claims are checked from claims.min_steps on
    digits = _claims(_runs("digits", steps=2000, epochs=1000), "digits", scale="quick")
    assert len(digits) == len(QUALITATIVE) and all(c.passed is True for c in digits.values())
    short = _claims(_runs("digits", steps=500, epochs=500), "digits", scale="quick")
    assert all(c.passed is None and "min_steps" in c.note for c in short.values())


def test_mnist5k_at_the_paper_epochs_is_judged_and_says_what_differs():
    claims = _claims(_runs("mnist5k", steps=10000, epochs=10000), "mnist5k")
    assert all(c.passed is True for c in claims.values())
    assert all("4000 train / 1000 held-out" in c.note for c in claims.values())
    assert all(
        "10000 optimizer steps in 10000 epochs (1 per epoch; the paper: 120000, 12 per epoch)"
        in c.note
        for c in claims.values()
    )
    # at the paper's 12 steps per epoch the steps are no difference
    paper_steps = _claims(_runs("mnist5k", steps=120000, epochs=10000), "mnist5k")
    assert not any("optimizer steps" in c.note for c in paper_steps.values())
    short = _claims(_runs("mnist5k", steps=2000, epochs=2000), "mnist5k")
    assert all(
        c.passed is None and c.note.startswith("runs of 2000 optimizer steps")
        for c in short.values()
    )


def test_a_flat_random_test_curve_above_the_variance_does_not_rise():
    # random images at 0.14 from rank 1 on (as 4000 MNIST images give): above 1.3x the variance at R = 15,
    # and a hair above the R = 1 value, but no rise with the rank
    values = _values()
    values["random_image_test"].update({1: 0.140, 5: 0.141, 10: 0.141, 15: 0.1414})
    claims = _claims(_runs(values=values))
    assert claims["mnist_random_test_rises"].passed is False
    assert "rise_min_share = 0.25" in claims["mnist_random_test_rises"].tolerance


def test_stand_in_data_is_never_checked():
    claims = _claims(_runs(stand_in=True), scale="smoke")
    assert all(c.passed is None and "stand-in" in c.note for c in claims.values())


def test_rank_15_claims_need_rank_15():
    claims = _claims(_runs(ranks=[1, 2, 3, 5, 8, 12]))
    for cid in ("natural_train_near_zero", "random_test_rises"):
        assert (
            claims[f"mnist_{cid}"].passed is None
            and "rank 15 was not run" in claims[f"mnist_{cid}"].note
        )
    assert claims["mnist_natural_fit_at_rank1"].passed is True


def test_a_diverged_run_fails_the_claims_that_use_it_and_says_so_first():
    runs = _runs()
    runs[0] = _run(
        "mnist", "natural", _values()["natural_train"], _values()["natural_test"], status="diverged"
    )
    claims = _claims(runs)
    for cid in ("natural_fit_at_rank1", "natural_train_near_zero", "natural_test_low"):
        c = claims[f"mnist_{cid}"]
        assert c.passed is False and c.measured.startswith(
            "runs not completed (mnist/natural: diverged)"
        )
    assert claims["mnist_values_natural_train"].measured["runs_not_completed"] == [
        "mnist/natural: diverged"
    ]
    # NaN as null, valid JSON
    assert claims["mnist_values_natural_train"].measured["mean"][1] is None
    assert claims["mnist_random_test_rises"].passed is True


def test_a_failed_claim_reads_as_one_line_in_the_report(tmp_path):
    values = _values()
    BREAKS["random_test_rises"](values)
    claims = rank_complexity_claims(
        _runs(values=values), CONFIG, ["mnist"], "rank_complexity", "paper"
    )
    assert all("\n" not in c.statement and "\n" not in str(c.measured) for c in claims)
    write_claims(tmp_path / "rank_complexity.json", claims)
    write_replication_report([tmp_path / "rank_complexity.json"], tmp_path / "REPLICATION.md")
    line = next(
        x
        for x in (tmp_path / "REPLICATION.md").read_text().splitlines()
        if x.startswith("| mnist_random_test_rises |")
    )
    # the verdict and the numbers that decide it come before the cell is cut
    assert "holds on 0 of 3 seeds" in line and "rand label 0.0920 → 0.1000 (1.15 x)" in line
    assert line.endswith("| **FAIL** |")


def test_batch_size_gates_the_paper_panel_but_not_a_smaller_train_set():
    def with_batch(dataset: str, batch: int) -> dict:
        datasets = {
            **CONFIG["datasets"],
            dataset: {**CONFIG["datasets"][dataset], "batch_size": batch},
        }
        return {**CONFIG, "datasets": datasets}

    mnist = _claims(
        _runs("mnist", steps=120000, epochs=10000), "mnist", config=with_batch("mnist", 334)
    )
    assert mnist["mnist_values_natural_train"].passed is None
    assert "batch_size=334 (paper 5000)" in mnist["mnist_values_natural_train"].note
    # 334 of mnist5k's 4000 images is the paper's 12 steps per epoch: judged, the data difference noted
    small = _claims(
        _runs("mnist5k", steps=120000, epochs=10000), "mnist5k", config=with_batch("mnist5k", 334)
    )
    assert small["mnist5k_values_natural_train"].passed is True
    assert "4000 train / 1000 held-out" in small["mnist5k_values_natural_train"].note


def test_a_paper_panel_dataset_without_runs_is_not_checked():
    claims = rank_complexity_claims(
        _runs("digits"), CONFIG, ["mnist5k", "digits"], "rank_complexity", "paper"
    )
    mnist5k = [c for c in claims if c.id.startswith("mnist5k_")]
    assert mnist5k and all(c.passed is None for c in mnist5k)
