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


def _runs(
    means: dict[str, dict[float, dict[int, float]]], penalties: dict | None = None
) -> pd.DataFrame:
    """Three seeds per (task, lambda, x) whose mean accuracy (%) is means[task][lambda][x] and whose mean
    probe penalty is penalties[task][lambda][x] (default: 0.97 without the regularizer, 0.90 with it)."""

    def penalty(t: str, lam: float, x: int) -> float:
        return penalties[t][lam][x] if penalties else (0.97 if lam == 0 else 0.90)

    return pd.DataFrame(
        [
            {
                "task": t,
                "x": x,
                "lam": lam,
                "seed": s,
                "diverged": math.isnan(m),
                "accuracy": m + n,
                "epochs": 30,
                "stand_in": False,
                "capped": False,
                "penalty": penalty(t, lam, x) + n / 100,
            }
            for t, by_lam in means.items()
            for lam, by_x in by_lam.items()
            for x, m in by_x.items()
            for s, n in enumerate(NOISE)
        ]
    )


def _seed_runs(
    task: str, x: int, accuracies: dict[float, list[float]], penalties: dict | None = None
) -> pd.DataFrame:
    """One run per listed accuracy (seeds 0, 1, ...) of each lambda at (task, x)."""
    return pd.DataFrame(
        [
            {
                "task": task,
                "x": x,
                "lam": lam,
                "seed": s,
                "diverged": False,
                "accuracy": a,
                "epochs": 30,
                "stand_in": False,
                "capped": False,
                "penalty": penalties[lam][s] if penalties else math.nan,
            }
            for lam, values in accuracies.items()
            for s, a in enumerate(values)
        ]
    )


def _quick_claims(runs: pd.DataFrame, lambdas: list[float]) -> dict:
    """Claims of a Pathfinder-only grid at lengths 3 and 9 with these lambdas."""
    config = _config(pathfinder=[3, 9], is_same_class=[])
    config["pathfinder"]["lambdas"] = lambdas
    table = cell_table(runs, grid_of(config), "resnet18", config)
    return {c.id: c for c in locality_claims(table, config, "locality", "quick", "resnet18")}


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
    assert len(claims) == 14
    # Pathfinder's onset of chance is its longest length: unregularized_at_chance judges it alone
    assert {k: c.passed for k, c in claims.items() if c.passed is not True} == {
        "pathfinder_falls_to_chance_from": None
    }
    assert "seeds per cell: 3" in claims["pathfinder_short_range_agree"].note


def test_a_network_that_learned_nothing_fails_every_claim():
    chance = {
        t: {lam: {x: 50.0 for x in PAPER["x"][t]} for lam in PAPER["lambdas"][t]}
        for t in PAPER["x"]
    }
    claims = _claims(chance)
    # the same cell as pathfinder_unregularized_at_chance
    unchecked = {"pathfinder_falls_to_chance_from"}
    assert {k: c.passed for k, c in claims.items()} == {
        k: None if k in unchecked else False for k in claims
    }
    for t in PAPER["x"]:
        for name in ("short_range_agree", "unregularized_at_chance", "falls_to_chance_from"):
            if f"{t}_{name}" in unchecked:
                continue
            c = claims[f"{t}_{name}"]
            assert c.measured["learned"] is False and "learned nothing" in c.note


def test_memorized_long_range_is_no_chance_and_short_x_values_leave_the_onset_unchecked():
    # Pathfinder at lengths 3 and 9: learned at 3, 57% at 9 (above 50 + 3); Is Same Class up to 80 px only
    pf = {0.0: {3: 99.5, 9: 57.3}, 3.0: {3: 99.0, 9: 60.9}, 9.0: {3: 98.0, 9: 53.0}}
    isc = {
        lam: {x: PAPER["mean"]["is_same_class"][lam][x] for x in (0, 40, 80)}
        for lam in PAPER["lambdas"]["is_same_class"]
    }
    claims = _claims(
        {"pathfinder": pf, "is_same_class": isc},
        _config(pathfinder=[3, 9], is_same_class=[0, 40, 80]),
        scale="quick",
    )
    assert claims["pathfinder_short_range_agree"].passed is True  # 99.5 / 99.0 / 98.0: spread 1.5
    c = claims["pathfinder_unregularized_at_chance"]
    assert (
        c.passed is False
        and c.measured["learned"] is True
        and c.measured["lambda_0_means"] == {"9": 57.3}
    )
    # the onset (9) is the longest length run: the same cells, not a second failure
    twin = claims["pathfinder_falls_to_chance_from"]
    assert twin.passed is None and "unregularized_at_chance judges it" in twin.note
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
    cell = table[(table["task"] == "pathfinder") & (table["lam"] == 0.0) & (table["x"] == 3)].iloc[
        0
    ]
    assert (cell["n_runs"], cell["n_seeds"], cell["n_diverged"]) == (4, 3, 0)


def test_a_task_run_at_lambda_0_only_checks_only_the_unregularized_claims():
    config = _config(pathfinder=[3, 9])
    config["pathfinder"]["lambdas"] = [0.0]  # a figure's sub-grid (locality.figures.<id>.lambdas)
    claims = _claims({"pathfinder": {0.0: {3: 90.0, 9: 50.0}}}, config, scale="quick")
    for name in ("short_range_agree", "accuracy_grows_with_lambda"):
        assert (
            claims[f"pathfinder_{name}"].passed is None
            and "a single λ" in claims[f"pathfinder_{name}"].note
        )
    assert claims["pathfinder_regularizer_recovers"].passed is None
    # learned at 3 (90%), chance at 9
    assert claims["pathfinder_unregularized_at_chance"].passed is True


def test_one_runs_dip_cannot_decide_a_gain():
    """A gain of the means past half the paper's must also exceed 2 standard errors over seeds."""
    short = {0.0: [99.5, 99.6, 99.4], 9.0: [99.2, 99.0, 99.3]}
    noisy = pd.concat(
        [
            _seed_runs("pathfinder", 3, short),
            _seed_runs("pathfinder", 9, {0.0: [55.0, 56.0, 54.0], 9.0: [99.0, 99.0, 40.0]}),
        ]
    )
    claim = _quick_claims(noisy, [0.0, 9.0])["pathfinder_regularizer_recovers"]
    # >= 17.5, sem 19.7
    assert claim.measured["gain"] == pytest.approx(24.33, abs=0.01) and claim.passed is False
    steady = pd.concat(
        [
            _seed_runs("pathfinder", 3, short),
            _seed_runs("pathfinder", 9, {0.0: [55.0, 56.0, 54.0], 9.0: [80.0, 79.0, 81.0]}),
        ]
    )
    claims = _quick_claims(steady, [0.0, 9.0])
    assert claims["pathfinder_regularizer_recovers"].passed is True
    assert claims["pathfinder_accuracy_grows_with_lambda"].passed is True


def test_a_drop_within_the_noise_of_seeds_is_no_drop():
    short = {lam: [99.5, 99.6, 99.4] for lam in (0.0, 3.0, 9.0)}
    at_9 = {0.0: [55.0, 56.0, 54.0], 3.0: [85.0, 95.0, 75.0], 9.0: [84.0, 83.0, 82.0]}
    claims = _quick_claims(
        pd.concat([_seed_runs("pathfinder", 3, short), _seed_runs("pathfinder", 9, at_9)]),
        [0.0, 3.0, 9.0],
    )
    grows = claims["pathfinder_accuracy_grows_with_lambda"]
    # 85 -> 83 is a 2-point drop, but its standard error is 5.8: not a drop; yet 3.0 is no partial gain
    assert (
        grows.measured["non_decreasing"] is True and grows.measured["intermediate_partial"] is False
    )
    assert grows.passed is False
    at_9[3.0] = [60.0, 61.0, 62.0]
    claims = _quick_claims(
        pd.concat([_seed_runs("pathfinder", 3, short), _seed_runs("pathfinder", 9, at_9)]),
        [0.0, 3.0, 9.0],
    )
    assert claims["pathfinder_accuracy_grows_with_lambda"].passed is True
    at_9[9.0] = [50.0, 51.0, 52.0]  # a clear drop from 3.0 to 9.0
    claims = _quick_claims(
        pd.concat([_seed_runs("pathfinder", 3, short), _seed_runs("pathfinder", 9, at_9)]),
        [0.0, 3.0, 9.0],
    )
    assert claims["pathfinder_accuracy_grows_with_lambda"].measured["non_decreasing"] is False


def test_fewer_seeds_than_min_seeds_leave_the_comparisons_unchecked():
    runs = pd.concat(
        [
            _seed_runs("pathfinder", 3, {0.0: [99.5, 99.6], 9.0: [99.2, 99.0]}),
            _seed_runs(
                "pathfinder",
                9,
                {0.0: [55.0, 56.0], 9.0: [90.0, 91.0]},
                {0.0: [0.97, 0.96], 9.0: [0.5, 0.6]},
            ),
        ]
    )
    claims = _quick_claims(runs, [0.0, 9.0])
    for name in (
        "regularizer_recovers",
        "accuracy_grows_with_lambda",
        "regularizer_lowers_penalty",
    ):
        c = claims[f"pathfinder_{name}"]
        assert c.passed is None and "min_seeds = 3" in c.note
    # a claim on means alone is still judged
    assert claims["pathfinder_short_range_agree"].passed is True


def test_the_penalty_claim():
    short = _seed_runs("pathfinder", 3, {0.0: [99.5, 99.6, 99.4], 9.0: [99.2, 99.0, 99.3]})

    def claim(accuracy: list[float], penalties: dict | None) -> object:
        long = _seed_runs("pathfinder", 9, {0.0: [55.0, 56.0, 54.0], 9.0: accuracy}, penalties)
        return _quick_claims(pd.concat([short, long]), [0.0, 9.0])[
            "pathfinder_regularizer_lowers_penalty"
        ]

    lower = {0.0: [0.97, 0.96, 0.98], 9.0: [0.80, 0.82, 0.81]}
    assert claim([85.0, 86.0, 84.0], lower).passed is True
    within_noise = {0.0: [0.97, 0.80, 0.98], 9.0: [0.90, 0.92, 0.91]}  # 0.917 vs 0.910: sem 0.06
    assert claim([85.0, 86.0, 84.0], within_noise).passed is False
    # lowering the penalty it is trained on shows nothing
    learned_nothing = claim([50.0, 51.0, 50.0], lower)
    assert learned_nothing.passed is False and "learned nothing" in learned_nothing.note
    unmeasured = claim([85.0, 86.0, 84.0], None)
    assert unmeasured.passed is None and "no probe penalty" in unmeasured.note


def test_the_table_counts_capped_runs_and_the_claims_say_so():
    runs = pd.concat(
        [
            _seed_runs("pathfinder", 3, {0.0: [99.5, 99.6, 99.4], 9.0: [99.2, 99.0, 99.3]}),
            _seed_runs("pathfinder", 9, {0.0: [55.0, 56.0, 54.0], 9.0: [80.0, 79.0, 81.0]}),
        ]
    )
    runs.loc[(runs["x"] == 9) & (runs["lam"] == 9.0), "capped"] = [True, True, False]
    claims = _quick_claims(runs, [0.0, 9.0])
    assert (
        "2 of 6 runs in the cells used stopped at the epoch cap"
        in claims["pathfinder_regularizer_recovers"].note
    )
