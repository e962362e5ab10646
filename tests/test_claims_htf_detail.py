"""The HTF detail claims on fabricated runs: each judged claim passes on a run that shows it and fails on one
that does not; the off-tree ranks, which follow from recovering the target, are reported, not judged."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers import ROOT
from impreg.claims.htf_detail import SPECS, htf_detail_claims
from impreg.claims.incremental_rank import learned_one_at_a_time
from impreg.config import validate_config

ESCAPES = [1000, 3000, 5000, 7000, 9000]
TOGETHER = [1000, 5000, 5000, 5000, 5000]  # components 2-5 learned at once
NODE, ROOT_NORMS, SV01 = [6, 4, 3, 2, 1], [9.5, 4.8, 2.5, 1.5, 0.8], [50, 30, 15, 6, 2]
# outside the tree: rank 10 in the target and in a good fit
SV02 = [
    40,
    30,
    20,
    15,
    10,
    8,
    6,
    4,
    3,
    2,
]
TAIL = [1e-5] * 54


def _curves(t, escapes, finals, k=10, floor=1e-3):
    out = np.full((len(t), k), floor)
    for j, (c, f) in enumerate(zip(escapes, finals)):
        out[:, j] = np.maximum(f / (1 + np.exp(np.clip(-(t - c) / 40.0, -50, 50))), floor)
    return -np.sort(-out, axis=1)


def _run(
    seed=0,
    status="converged",
    node=ESCAPES,
    root=ESCAPES,
    sv=ESCAPES,
    node_finals=NODE,
    final01=None,
    final02=None,
    target02=None,
    target_root=None,
):
    t = np.arange(0, 12000, 25)
    columns = {"iteration": t, "reconstruction_error": np.linspace(1, 0.005, len(t))}
    for name, values in (
        ("local_0-1", _curves(t, node, node_finals)),
        ("local_2-3", _curves(t, node, node_finals)),
        ("local_0-1-2-3", _curves(t, root, ROOT_NORMS)),
        ("sv_0-1", _curves(t, sv, SV01)),
        ("sv_0-2", _curves(t, ESCAPES + [9000] * 5, SV02)),
    ):
        columns |= {f"{name}_{k}": values[:, k] for k in range(10)}
    target = {"0-1": SV01 + [1e-6] * 59, "0-2": target02 or SV02 + [1e-6] * 54}
    # at order 4 the root's split is node {1,2}'s matricization; a separate key lets a test change it alone
    target["root"] = target_root or target["0-1"]
    final = {"0-1": final01 or SV01 + [1e-5] * 59, "0-2": final02 or SV02 + TAIL}
    summary = {
        "model": "htf",
        "seed": seed,
        "status": status,
        "dims": [8, 8, 8, 8],
        "target_split_modes": "root",
        "target_matricization_singular_values": target,
        "final_matricization_singular_values": final,
    }
    return {
        "seed": seed,
        "status": status,
        "iterations": int(t[-1]),
        "summary": summary,
        "history": pd.DataFrame(columns),
    }


@pytest.fixture(scope="module")
def config():
    return validate_config({}, ROOT / "config" / "schema.yaml")


def _claims(config, runs, scale="paper"):
    c = htf_detail_claims(runs, config["htf_detail"], config["incremental_rank"]["htf"], 5, scale)
    return {x.id: x for x in c}


def _seeds(config, **kw):
    return _claims(config, [_run(seed=s, **kw) for s in (0, 1, 2)])


def _judged(claims: dict) -> dict:
    return {k: c for k, c in claims.items() if k != "off_tree_ranks"}


def test_every_claim_passes_on_runs_that_show_it(config):
    claims = _seeds(config)
    assert set(claims) == set(SPECS)
    assert all(c.passed is True for c in _judged(claims).values()), {
        c.id: c.measured for c in claims.values() if not c.passed
    }
    off = claims["off_tree_ranks"]
    assert off.passed is None and "not judged" in off.note and "htf_recovers_target" in off.note
    assert "'learned': 10, 'target': 10, 'learned in tree': 5" in off.measured


@pytest.mark.parametrize(
    "cid, kw",
    [
        ("node12_one_at_a_time", dict(node=TOGETHER)),
        ("root_one_at_a_time", dict(root=TOGETHER)),
        ("in_tree_sv_one_at_a_time", dict(sv=TOGETHER)),
        # nine components at node {1,2} end non-negligible: more than the target's 5
        (
            "node12_about_rank",
            dict(node=ESCAPES + [9500, 10000, 10500, 11000], node_finals=NODE + [1, 1, 1, 1]),
        ),
        # the target's root split has 2 non-negligible singular values, the root learned 5
        ("root_about_rank", dict(target_root=[60, 30] + [1e-3] * 62)),
        # the learned {1,2} matricization has 9 non-negligible singular values
        ("in_tree_low_rank", dict(final01=SV01 + [2] * 4 + [1e-5] * 55)),
    ],
)
def test_each_claim_fails_on_runs_that_do_not_show_it(config, cid, kw):
    claims = _seeds(config, **kw)
    assert claims[cid].passed is False, claims[cid].measured
    others = {k: c.passed for k, c in _judged(claims).items() if k != cid}
    assert all(others.values()), others


def test_one_at_a_time_is_the_incremental_rank_rule(config):
    # three learned components at node {1,2}: below incremental_rank's min_learned = 4, as for the root there
    runs = [_run(seed=s, node=ESCAPES[:3], node_finals=NODE[:3]) for s in (0, 1, 2)]
    values = runs[0]["history"][[f"local_0-1_{k}" for k in range(10)]].to_numpy()
    rules = config["htf_detail"]["claims"]
    assert rules["min_learned"] == config["incremental_rank"]["claims"]["min_learned"]
    assert rules["learned_fraction"] == config["incremental_rank"]["claims"]["learned_fraction"]
    assert not learned_one_at_a_time(
        runs[0]["history"]["iteration"],
        values,
        rules["negligible_rel"],
        rules["min_learned"],
        rules["learned_fraction"],
    )
    claims = _claims(config, runs)
    assert claims["node12_one_at_a_time"].passed is False
    assert "learned per seed {0: 3, 1: 3, 2: 3}" in claims["node12_one_at_a_time"].measured


def test_in_tree_low_rank_fails_for_a_model_that_learned_nothing(config):
    # at initialization every matricization is full rank
    full = list(np.linspace(1e-3, 9e-4, 64))
    claims = _seeds(config, final01=full, final02=full)
    assert claims["in_tree_low_rank"].passed is False


def test_runs_that_did_not_converge_are_left_out(config):
    claims = _judged(
        _claims(
            config, [_run(seed=s, status="diverged" if s == 0 else "converged") for s in (0, 1, 2)]
        )
    )
    assert all(c.passed is True for c in claims.values())
    assert all(
        "holds on 2 of 2 judged seeds [1, 2]" in c.measured and "{0: 'diverged'}" in c.measured
        for c in claims.values()
    )
    # stopped by the cap on two of three seeds: too few judged to decide, whatever the third shows
    claims = _judged(
        _claims(
            config, [_run(seed=s, status="max_iterations" if s else "converged") for s in (0, 1, 2)]
        )
    )
    assert all(c.passed is None and "too few to decide" in c.note for c in claims.values())


def test_smoke_scale_is_unchecked(config):
    claims = _claims(config, [_run(seed=0)], scale="smoke")
    assert all(c.passed is None and "smoke" in c.note for c in claims.values())


def test_a_run_without_a_panel_fails_naming_it(config):
    run = _run(seed=3)
    run["history"] = run["history"].drop(columns=[f"sv_0-2_{k}" for k in range(10)])
    with pytest.raises(ValueError, match="run of seed 3 is malformed: no column sv_0-2_0"):
        htf_detail_claims(
            [run], config["htf_detail"], config["incremental_rank"]["htf"], 5, "paper"
        )
