"""The dynamics claims (impreg.claims.dynamics) on fabricated runs over real targets: each theory
claim passes on paper-like dynamics and fails where the theory does not hold; a run that did not
converge is left out of every claim; the paper's numbers are judged as one draw among our seeds."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import yaml

from helpers import ROOT, fake_dynamics_history
from impreg.claims import within_span
from impreg.claims.dynamics import (
    error_ordered,
    figure3_claims,
    learning_order,
    match_terms,
    predicted_steps,
    target_of,
    variant_claims,
)
from impreg.config import validate_config
from impreg.factorizations.cp import CPFactorization
from impreg.train.tf_dynamics import init_seed

CONFIG = validate_config(
    yaml.safe_load((ROOT / "config" / "config.yaml").read_text()), ROOT / "config" / "schema.yaml"
)
RULES = CONFIG["tf_dynamics"]["claims"]
PAPER_ESCAPES = [4200, 5300, 7000, 9800, 11300]


def _run(init: float, seed: int, escapes, final: float, status: str = "converged", **kw) -> dict:
    summary, history = fake_dynamics_history(seed, escapes, final, **kw)
    return {
        "init": init,
        "seed": seed,
        "status": status,
        "iterations": int(history["iteration"].iloc[-1]),
        "summary": summary,
        "history": history,
    }


def _figure3(small=None, seeds=(0, 1, 2), status=None) -> dict:
    """Paper-like runs of three seeds: init 0.05 learns everything at once to 0.08, init 0.01 in wide steps
    to 0.03, init 0.005 in sharp separated steps (escapes spread around the paper's) to 0.005; ``small``
    maps a seed to the keywords of its init-0.005 run, ``status`` an (init, seed) to its status."""
    runs = []
    for seed, shift in zip(seeds, (-200, 0, 300, 100, -100)):
        kw = {"escapes": [e + shift for e in PAPER_ESCAPES], "final": 0.005} | (small or {}).get(
            seed, {}
        )
        for init, args in (
            (0.05, dict(escapes=[100, 150, 200, 260, 300], final=0.08)),
            (0.01, dict(escapes=[1000, 2500, 4000, 5500, 7000], final=0.03, width=100.0)),
            (0.005, kw),
        ):
            runs.append(
                _run(init, seed, status=(status or {}).get((init, seed), "converged"), **args)
            )
    return {c.id: c for c in figure3_claims(runs, CONFIG["tf_dynamics"], "paper")}


@pytest.fixture(scope="module")
def paper_like():
    return _figure3()


def test_the_theory_holds_on_paper_like_dynamics(paper_like):
    for cid in (
        "one_at_a_time",
        "about_rank_components",
        "components_match_target",
        "steps_match_target",
        "reaches_target_init_0.005",
        "reaches_target_init_0.01",
        "error_order",
        "stepwise_init_0.005",
        "stepwise_init_0.01",
        "smooth_init_0.05",
        "sharper_with_smaller_init",
        "paper_escapes_init_0.005",
        "paper_final_error_init_0.005",
    ):
        assert paper_like[cid].passed is True, (cid, paper_like[cid].measured)
    # the order of learning and the large init's distance from its target are reported, not judged
    assert (
        paper_like["learning_order"].passed is None
        and "not judged" in paper_like["learning_order"].note
    )
    assert "{0: [1, 2, 3, 4, 5]" in paper_like["learning_order"].measured
    assert paper_like["reaches_target_init_0.05"].passed is None
    assert (
        "init 0.05: 3 of 3 runs end away from the target"
        in paper_like["reaches_target_init_0.05"].measured
    )


def test_the_papers_numbers_are_one_draw_among_our_seeds(paper_like):
    # seeds 0-2's targets have second terms of 0.47-0.51 and first steps 0.69-0.78: the paper's 0.59 and
    # 0.82 lie above all of them, so its run is not within what these seeds span
    norms = paper_like["paper_norms_init_0.005"]
    assert (
        norms.passed is False
        and "0.59: ours 0.473 to 0.511 over 3 seeds (3 below, 0 above)" in norms.measured
    )
    assert paper_like["paper_steps_init_0.005"].passed is False
    escapes = paper_like["paper_escapes_init_0.005"]  # the fabricated escapes bracket the paper's
    assert "4200: ours 4000 to 4500 over 3 seeds (1 below, 1 above)" in escapes.measured
    assert "{0: [4000, 5100, 6800, 9600, 11100]" in escapes.measured  # every seed's value shown


def test_within_span():
    assert within_span([1.0, 5.0], {0: [0.5, 4.0], 1: [2.0, 6.0]})[0] is True
    ok, lines = within_span([1.0, 5.0], {0: [1.5, 4.0], 1: [2.0, 6.0]})
    assert ok is False and lines[0] == "1: ours 1.5 to 2 over 2 seeds (0 below, 2 above)"
    assert within_span([11300], {0: [10100], 1: [11600]})[1] == [
        "11300: ours 10100 to 11600 over 2 seeds (1 below, 1 above)"
    ]
    assert within_span([1.0], {0: [1.0]})[0] is False  # one seed spans nothing
    assert within_span([None, 5.0], {0: [0.5, 4.0], 1: [2.0, 6.0]}) == (
        True,
        ["not compared", "5: ours 4 to 6 over 2 seeds (1 below, 1 above)"],
    )
    # no seed learned a second
    assert within_span([1.0, 2.0], {0: [0.5, None], 1: [1.5, None]})[0] is False


def test_learned_together_fails_the_sequential_claims():
    claims = _figure3(small={s: {"escapes": [4200] * 5} for s in (0, 1, 2)})
    for cid in (
        "one_at_a_time",
        "steps_match_target",
        "stepwise_init_0.005",
        "sharper_with_smaller_init",
    ):
        assert claims[cid].passed is False, (cid, claims[cid].measured)
    assert claims["components_match_target"].passed is True  # it still ends on the target's terms


def test_components_that_are_not_the_targets_terms_fail():
    claims = _figure3(small={s: {"finals": [0.7, 0.6, 0.25, 0.2, 0.1]} for s in (0, 1)})
    assert claims["components_match_target"].passed is False
    assert "holds on 1 of 3 judged seeds [2]" in claims["components_match_target"].measured


def test_a_run_that_leaves_its_target_is_named_and_counted():
    claims = _figure3(small={s: {"blow_up": 8.9, "final": 0.005} for s in (1, 2)})
    reach = claims["reaches_target_init_0.005"]
    assert (
        reach.passed is False
        and "init 0.005: 2 of 3 runs end away from the target" in reach.measured
    )
    assert (
        "seed 1: error 8.9, largest component 8.9 (the target's largest term 0.724; "
        in reach.measured
    )
    assert "% of its mass on the observed entries, which are 20% of all)" in reach.measured
    # the smallest init ends farther than the next larger
    assert claims["error_order"].passed is False
    # only seed 0 reached its target
    assert "; per seed {0: [" in claims["paper_norms_init_0.005"].measured
    assert "1: [" not in claims["paper_norms_init_0.005"].measured


def test_steps_follow_the_order_the_run_learned_the_terms_in():
    # seed 2 learns its second-largest term first: the predicted steps follow that order, and hold
    claims = _figure3(small={2: {"order": [1, 0, 2, 3, 4]}})
    assert (
        claims["steps_match_target"].passed is True
        and "'predicted': [0.88, 0.621" in claims["steps_match_target"].measured
    )
    assert "2: [2, 1, 3, 4, 5]" in claims["learning_order"].measured


def test_steps_elsewhere_than_the_target_predicts_fail():
    run = _run(0.005, 0, PAPER_ESCAPES, 0.005)
    run["history"]["reconstruction_error"] = np.interp(
        run["history"]["iteration"],
        [0, 4000, 4400, 8000, 8400, 15000],
        [1.0, 1.0, 0.6, 0.6, 0.005, 0.005],
    )
    from impreg.claims.dynamics import error_steps, steps_as_predicted

    order = learning_order(run, RULES)
    assert order == [0, 1, 2, 3, 4]
    assert not steps_as_predicted(
        predicted_steps(run, order), error_steps(run, RULES), RULES["target_step_tol"]
    )


def test_the_target_is_drawn_again_and_checked():
    run = _run(0.005, 3, PAPER_ESCAPES, 0.005)
    _, terms = target_of(run)
    assert [round(float(x), 3) for x in terms.norms] == [0.751, 0.548, 0.258, 0.19, 0.181]
    assert [round(m.cos, 6) for m in match_terms(run)] == [1.0] * 5
    assert predicted_steps(run, [0, 1, 2, 3, 4]) == [0.659, 0.367, 0.262, 0.181]
    run["summary"]["target_singular_values"][0] += 1e-3
    with pytest.raises(ValueError, match="not the run's"):
        target_of(run)


def test_a_run_that_did_not_converge_is_left_out_everywhere():
    claims = _figure3(status={(0.005, 1): "max_iterations"})
    for cid in (
        "one_at_a_time",
        "components_match_target",
        "steps_match_target",
        "reaches_target_init_0.005",
        "error_order",
        "stepwise_init_0.005",
    ):
        assert "holds on 2 of 2 judged seeds [0, 2]" in claims[cid].measured, (
            cid,
            claims[cid].measured,
        )
        assert "'init 0.005 seed 1': 'max_iterations'" in claims[cid].measured
    assert "1: [" not in claims["paper_escapes_init_0.005"].measured.split("per seed")[1]
    # with two of three seeds out, too few are judged to decide
    claims = _figure3(status={(0.005, 1): "max_iterations", (0.005, 2): "diverged"})
    assert (
        claims["one_at_a_time"].passed is None
        and "too few to decide" in claims["one_at_a_time"].note
    )


@pytest.mark.parametrize(
    "errors,ordered",
    [
        ([0.005, 0.03, 0.08], True),
        ([0.004424, 0.004442, 0.064], True),  # both small inits on the target
        ([0.0044, 0.0046, 0.0050], False),  # the large init not farther
        ([0.02, 0.005, 0.08], False),  # the smallest init farther
        ([0.005, 1.19, 0.06], False),
    ],
)
def test_error_order(errors, ordered):
    assert error_ordered(errors, 0.25) is ordered


def test_variant_claims_pass_and_fail():
    inits = sorted(CONFIG["tf_dynamics_variants"]["variants"]["huber"]["init_stds"])
    runs = []
    for seed in (0, 1, 2):
        runs += [
            _run(inits[2], seed, [100, 150, 200, 260, 300], 0.08),
            _run(inits[1], seed, [1000, 2500, 4000, 5500, 7000], 0.007, width=100.0),
            _run(inits[0], seed, PAPER_ESCAPES if seed else [4200] * 5, 0.007),
        ]
    claims = {
        c.id: c
        for c in variant_claims("huber", runs, CONFIG["tf_dynamics_variants"], "paper", "note")
    }
    for cid in (
        "about_rank_components",
        "components_match_target",
        "steps_match_target",
        "stepwise",
        "error_order",
        "reaches_target",
        "one_at_a_time",
    ):
        assert claims[f"huber_{cid}"].passed is True, (cid, claims[f"huber_{cid}"].measured)
    # seed 0 learns together
    assert "holds on 2 of 3 judged seeds [1, 2]" in claims["huber_one_at_a_time"].measured
    assert "init 0.05: 3 of 3 runs end away" in claims["huber_reaches_target"].measured


def test_runs_without_saved_components_are_not_checked_for_them():
    runs = []
    for seed in (0, 1, 2):
        for init, esc, final in (
            (0.05, [100, 150, 200, 260, 300], 0.08),
            (0.01, [1000, 2500, 4000, 5500, 7000], 0.03),
            (0.005, PAPER_ESCAPES, 0.005),
        ):
            run = _run(init, seed, esc, final)
            del run["summary"]["final_components"]
            runs.append(run)
    claims = {c.id: c for c in figure3_claims(runs, CONFIG["tf_dynamics"], "paper")}
    for cid in ("components_match_target", "steps_match_target", "learning_order"):
        assert (
            claims[cid].passed is None
            and "before the runs saved their components" in claims[cid].note
        )
    assert claims["one_at_a_time"].passed is True


def test_each_init_of_a_seed_has_its_own_draw():
    assert init_seed(0, 0.005) == init_seed(0, 0.005)
    assert len({init_seed(s, i) for s in (0, 1) for i in (0.005, 0.01, 0.05)}) == 6

    def direction(init):
        model = CPFactorization(
            (4, 4, 4),
            3,
            init,
            generator=torch.Generator().manual_seed(init_seed(0, init)),
            dtype=torch.float64,
        )
        flat = torch.cat([f.detach().reshape(-1) for f in model.factors])
        return flat / flat.norm()

    # not one draw rescaled (that gives 1)
    assert abs(float(direction(0.005) @ direction(0.01))) < 0.5


def test_the_observed_share_of_a_component():
    from impreg.claims.dynamics import observed_share
    from impreg.data.synthetic import make_cp_completion

    run = _run(0.005, 0, PAPER_ESCAPES, 0.005)
    data = make_cp_completion(4, 10, 5, 1.0, 2000, 0)
    # a rank-one tensor on one observed entry
    corner = [np.eye(10)[:, [i]] for i in data.indices[0]]
    run["summary"]["final_components"]["factors"] = [c.tolist() for c in corner]
    assert observed_share(run) == pytest.approx(1.0)
    missed = next(
        i for i in np.ndindex(10, 10, 10, 10) if not (data.indices == i).all(axis=1).any()
    )
    run["summary"]["final_components"]["factors"] = [np.eye(10)[:, [i]].tolist() for i in missed]
    assert observed_share(run) == 0.0
    run["summary"]["final_components"]["factors"] = [(np.ones((10, 1)) / np.sqrt(10)).tolist()] * 4
    assert observed_share(run) == pytest.approx(0.2)  # spread evenly: the observed fraction
