"""The locality claims (impreg.claims.locality) on fabricated run tables: claims that must pass,
claims that must fail (a network that learned nothing among them) and claims that cannot be checked."""

from __future__ import annotations

import copy
import math

import pandas as pd
import pytest

from helpers import ROOT
from impreg.claims.locality import cell_table, chance_onset, grid_of, learned_floor, locality_claims
from impreg.config import load_config
from impreg.paper_values import LOCALITY as PAPER

CONFIG = load_config(ROOT / "config" / "config.yaml", ROOT / "config" / "schema.yaml")["locality"]
NOISE = (-0.4, 0.0, 0.4)  # per seed, in points: the cell means are the targets


def _runs(means: dict[str, dict[float, dict[int, float]]]) -> pd.DataFrame:
    """Three seeds per (task, lambda, x) whose mean accuracy (%) is means[task][lambda][x]."""
    return pd.DataFrame([{"task": t, "x": x, "lam": lam, "seed": s, "diverged": math.isnan(m), "accuracy": m + n,
                          "epochs": 30, "stand_in": False}
                         for t, by_lam in means.items() for lam, by_x in by_lam.items() for x, m in by_x.items()
                         for s, n in enumerate(NOISE)])


def _config(**xs) -> dict:
    config = copy.deepcopy(CONFIG)
    for task, values in xs.items():
        config[task]["distances" if task == "is_same_class" else "path_lengths"] = values
    return config


def _claims(means: dict, config: dict = CONFIG, scale: str = "paper") -> dict:
    table = cell_table(_runs(means), grid_of(config), "resnet18", config)
    return {c.id: c for c in locality_claims(table, config, "locality", scale, "resnet18")}


def test_the_rules_come_from_the_papers_numbers():
    assert chance_onset("is_same_class", 3.0) == 120 and chance_onset("pathfinder", 3.0) == 9
    assert learned_floor("is_same_class", 0.5) == pytest.approx(55.6)
    assert learned_floor("pathfinder", 0.5) == pytest.approx(74.15)


def test_the_papers_own_numbers_pass_every_claim():
    claims = _claims(PAPER["mean"])
    assert len(claims) == 12
    # Pathfinder is at chance only at its longest length, which unregularized_at_chance already judges
    assert {k: c.passed for k, c in claims.items() if c.passed is not True} == {"pathfinder_falls_to_chance_from": None}
    assert "count one result twice" in claims["pathfinder_falls_to_chance_from"].note
    assert "seeds per cell: 3" in claims["pathfinder_short_range_agree"].note


def test_a_network_that_learned_nothing_fails_every_claim():
    chance = {t: {lam: {x: 50.0 for x in PAPER["x"][t]} for lam in PAPER["lambdas"][t]} for t in PAPER["x"]}
    claims = _claims(chance)
    double = "pathfinder_falls_to_chance_from"  # not judged: unregularized_at_chance judges its one cell
    assert {k: c.passed for k, c in claims.items() if k != double} == {k: False for k in claims if k != double}
    assert claims[double].passed is None
    for t in PAPER["x"]:
        onset = ("falls_to_chance_from",) if t != "pathfinder" else ()
        for name in ("short_range_agree", "unregularized_at_chance", *onset):
            c = claims[f"{t}_{name}"]
            assert c.measured["learned"] is False and "learned nothing" in c.note


def test_memorized_long_range_is_no_chance_and_short_x_values_leave_the_onset_unchecked():
    # Pathfinder at lengths 3 and 9: learned at 3, 57% at 9 (above 50 + 3); Is Same Class up to 80 px only
    pf = {0.0: {3: 99.5, 9: 57.3}, 3.0: {3: 99.0, 9: 60.9}, 9.0: {3: 98.0, 9: 53.0}}
    isc = {lam: {x: PAPER["mean"]["is_same_class"][lam][x] for x in (0, 40, 80)}
           for lam in PAPER["lambdas"]["is_same_class"]}
    claims = _claims({"pathfinder": pf, "is_same_class": isc}, _config(pathfinder=[3, 9], is_same_class=[0, 40, 80]),
                     scale="quick")
    assert claims["pathfinder_short_range_agree"].passed is True  # 99.5 / 99.0 / 98.0: spread 1.5
    c = claims["pathfinder_unregularized_at_chance"]
    assert c.passed is False and c.measured["learned"] is True and c.measured["lambda_0_means"] == {"9": 57.3}
    assert claims["pathfinder_falls_to_chance_from"].passed is None  # the same cell: not counted twice
    assert claims["pathfinder_regularizer_recovers"].passed is False  # 53.0 - 57.3 < 0.5 x 35
    assert claims["pathfinder_accuracy_grows_with_lambda"].passed is False
    onset = claims["is_same_class_falls_to_chance_from"]
    assert onset.passed is None and "onset x = 120" in onset.note
    assert claims["is_same_class_unregularized_at_chance"].passed is False  # 55.8 at 80 px


def test_a_shortest_cell_without_a_finished_run_is_not_checkable():
    means = copy.deepcopy(PAPER["mean"])
    means["pathfinder"][0.0][3] = math.nan  # every seed diverged
    claims = _claims(means)
    for name in ("short_range_agree", "unregularized_at_chance"):
        c = claims[f"pathfinder_{name}"]
        assert c.passed is None and "no non-diverged run" in c.note


def test_the_table_counts_seeds_and_runs_per_cell():
    runs = _runs({"pathfinder": {0.0: {3: 90.0, 9: 50.0}}})
    runs = pd.concat([runs, runs.iloc[[0]]])  # one seed twice: a run counted, not a seed
    table = cell_table(runs, grid_of(_config(pathfinder=[3, 9])), "resnet18", CONFIG)
    cell = table[(table["task"] == "pathfinder") & (table["lam"] == 0.0) & (table["x"] == 3)].iloc[0]
    assert (cell["n_runs"], cell["n_seeds"], cell["n_diverged"]) == (4, 3, 0)


def test_a_task_run_at_lambda_0_only_checks_only_the_unregularized_claims():
    config = _config(pathfinder=[3, 9])
    config["pathfinder"]["lambdas"] = [0.0]  # a figure's sub-grid (locality.figures.<id>.lambdas)
    claims = _claims({"pathfinder": {0.0: {3: 90.0, 9: 50.0}}}, config, scale="quick")
    for name in ("short_range_agree", "accuracy_grows_with_lambda"):
        assert claims[f"pathfinder_{name}"].passed is None and "a single λ" in claims[f"pathfinder_{name}"].note
    assert claims["pathfinder_regularizer_recovers"].passed is None
    assert claims["pathfinder_unregularized_at_chance"].passed is True  # learned at 3 (90%), chance at 9
