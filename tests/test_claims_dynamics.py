"""The dynamics claims (impreg.claims.dynamics) on fabricated runs: the order of final errors across
inits passes with a clear order, fails on a tie that rounding could flip, and never counts a diverged run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from helpers import ROOT
from impreg.claims.dynamics import SeedVotes, figure3_claims, variant_claims
from impreg.config import validate_config
from impreg.factorizations.cp import CPFactorization
from impreg.train.tf_dynamics import init_seed

CONFIG = validate_config(yaml.safe_load((ROOT / "config" / "config.yaml").read_text()), ROOT / "config" / "schema.yaml")


def _run(init: float, seed: int, final: float, status: str = "converged") -> dict:
    """A run whose reconstruction error falls linearly from 1 to ``final`` (components do not matter here)."""
    t = np.arange(0, 2000, 25)
    history = pd.DataFrame({"iteration": t, "reconstruction_error": np.linspace(1.0, final, len(t)),
                            **{f"top_component_{k}": np.full(len(t), 1e-6) for k in range(10)}})
    return {"init": init, "seed": seed, "status": status, "iterations": int(t[-1]), "history": history}


def _votes(finals: dict[int, list[float]], status: dict | None = None) -> SeedVotes:
    inits = (0.005, 0.01, 0.05)
    runs = [_run(i, s, f, (status or {}).get((i, s), "converged"))
            for s, errors in finals.items() for i, f in zip(inits, errors)]
    return SeedVotes({(r["init"], r["seed"]): r for r in runs}, finals)


def test_a_clear_order_holds_and_a_rounding_level_tie_does_not():
    per_seed, finals = _votes({0: [0.005, 0.03, 0.08], 1: [0.004424, 0.004442, 0.064]}).error_order(
        [0.05, 0.01, 0.005], margin=0.25)
    assert per_seed == {0: True, 1: False}
    assert finals[1] == [0.0044, 0.0044, 0.064]


def test_a_margin_of_zero_is_the_strict_order():
    per_seed, _ = _votes({0: [0.004424, 0.004442, 0.064]}).error_order([0.005, 0.01, 0.05], margin=0.0)
    assert per_seed == {0: True}


def test_a_diverged_run_never_holds_and_is_named():
    votes = _votes({0: [0.005, 0.03, 0.08], 1: [0.005, 0.03, 0.08]}, status={(0.01, 1): "diverged"})
    per_seed, _ = votes.error_order([0.005, 0.01, 0.05], margin=0.25)
    text, ok = votes.verdict(per_seed, 0.005, 0.01, 0.05)
    assert per_seed == {0: True, 1: False} and ok is False  # 1 of 2 is no majority
    assert "'init 0.01 seed 1': 'diverged'" in text


@pytest.mark.parametrize("errors,passed", [([0.005, 0.03, 0.08], True), ([0.0044, 0.0046, 0.064], False)])
def test_figure3_error_order_claim(errors, passed):
    runs = [_run(i, s, f) for s in (0, 1, 2) for i, f in zip((0.005, 0.01, 0.05), errors)]
    claims = {c.id: c for c in figure3_claims(runs, CONFIG["tf_dynamics"], "paper")}
    assert claims["error_order"].passed is passed
    assert "order_margin = 0.25" in claims["error_order"].tolerance


@pytest.mark.parametrize("errors,passed", [([0.005, 0.03, 0.08], True), ([0.0050, 0.0051, 0.08], False)])
def test_variant_error_order_claim(errors, passed):
    inits = CONFIG["tf_dynamics_variants"]["variants"]["huber"]["init_stds"]
    runs = [_run(i, s, f) for s in (0, 1, 2) for i, f in zip(sorted(inits), errors)]
    claims = {c.id: c for c in variant_claims("huber", runs, CONFIG["tf_dynamics_variants"], "paper", "note")}
    assert claims["huber_error_order"].passed is passed
    assert claims["huber_one_at_a_time"].passed is False  # no component ever rises in these runs


def test_each_init_of_a_seed_has_its_own_draw():
    assert init_seed(0, 0.005) == init_seed(0, 0.005)
    assert len({init_seed(s, i) for s in (0, 1) for i in (0.005, 0.01, 0.05)}) == 6

    def direction(init):
        model = CPFactorization((4, 4, 4), 3, init, generator=torch.Generator().manual_seed(init_seed(0, init)),
                                dtype=torch.float64)
        flat = torch.cat([f.detach().reshape(-1) for f in model.factors])
        return flat / flat.norm()

    assert abs(float(direction(0.005) @ direction(0.01))) < 0.5  # not one draw rescaled (that gives 1)
