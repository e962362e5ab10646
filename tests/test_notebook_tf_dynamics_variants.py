"""The tf_dynamics_variants notebook on fabricated runs: claims pass, fail and are unchecked."""

import pytest
import yaml

from helpers import ROOT, fake_dynamics_run, papermill
from impreg.claims import read_claims
from impreg.config import validate_config

NOTEBOOK = ROOT / "notebooks" / "tf_dynamics_variants.ipynb"
VARIANTS = ("order3", "huber", "sensing")


@pytest.fixture
def config():
    full = validate_config(
        yaml.safe_load((ROOT / "config" / "config.yaml").read_text()),
        ROOT / "config" / "schema.yaml",
    )
    section = full["tf_dynamics_variants"]
    section["seeds"] = [0, 1]
    return section


def _runs(tmp_path, config, small_escapes, diverged=()):
    """Two seeds of every variant's inits (over Figure 3's targets); the largest-init runs of the
    (variant, seed)s in ``diverged`` diverge."""
    runs, variants = [], []
    for v in VARIANTS:
        large, mid, small = config["variants"][v]["init_stds"]  # each variant its own inits
        for seed in (0, 1):
            runs.append(
                fake_dynamics_run(
                    tmp_path / f"{v}a{seed}",
                    large,
                    seed,
                    [100, 150, 200, 260, 300],
                    0.08,
                    diverge_at=1000 if (v, seed) in diverged else None,
                )
            )
            runs.append(
                fake_dynamics_run(
                    tmp_path / f"{v}b{seed}", mid, seed, [1000, 2500, 4000, 5500, 7000], 0.006
                )
            )
            escapes = small_escapes if v == "huber" else [4200, 5300, 7000, 9800, 11300]
            runs.append(fake_dynamics_run(tmp_path / f"{v}c{seed}", small, seed, escapes, 0.005))
            variants += [v, v, v]
    return runs, variants


def _params(tmp_path, runs, variants, config, scale="paper"):
    return dict(
        summaries=[str(r / "summary.json") for r in runs],
        metrics=[str(r / "metrics.csv") for r in runs],
        variants=variants,
        config=config,
        scale=scale,
        out_pdf=str(tmp_path / "f.pdf"),
        out_png=str(tmp_path / "f.png"),
        out_claims=str(tmp_path / "claims.json"),
    )


@pytest.mark.slow  # a notebook or workflow run of its own: kept out of the 10-minute fast suite
def test_claims_pass_on_incremental_dynamics_and_fail_when_learned_together_or_diverged(
    tmp_path, config
):
    # huber's smallest init learns all five components at once; the other variants one at a time;
    # the sensing run of the largest init diverges on the figure's seed
    runs, variants = _runs(tmp_path, config, [4200] * 5, diverged={("sensing", 0)})
    proc = papermill(
        NOTEBOOK, tmp_path / "out.ipynb", _params(tmp_path, runs, variants, config), tmp_path
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "f.pdf").stat().st_size > 0 and (tmp_path / "f.png").read_bytes()[
        :4
    ] == b"\x89PNG"
    claims = {c.id: c for c in read_claims(tmp_path / "claims.json")}
    assert len(claims) == 3 * 7
    for v in ("order3", "sensing"):
        for what in (
            "one_at_a_time",
            "about_rank_components",
            "components_match_target",
            "steps_match_target",
            "stepwise",
            "reaches_target",
            "error_order",
        ):
            if (v, what) != ("sensing", "error_order"):
                assert claims[f"{v}_{what}"].passed is True, claims[f"{v}_{what}"]
        assert "decisions:" in claims[f"{v}_one_at_a_time"].note
    # the only claim that needs the diverged run leaves it out, names it, and with one seed of two left cannot decide
    large = max(config["variants"]["sensing"]["init_stds"])
    assert (
        claims["sensing_error_order"].passed is None
        and "too few to decide" in claims["sensing_error_order"].note
    )
    assert f"'init {large:g} seed 0': 'diverged'" in claims["sensing_error_order"].measured
    assert (
        f"marked in the figure: (variant, init) [('sensing', {large})]"
        in (tmp_path / "out.ipynb").read_text()
    )
    for what in ("one_at_a_time", "stepwise", "steps_match_target"):
        assert claims[f"huber_{what}"].passed is False
    assert claims["huber_about_rank_components"].passed is True


@pytest.mark.slow  # a notebook or workflow run of its own: kept out of the 10-minute fast suite
def test_claims_unchecked_at_smoke_scale(tmp_path, config):
    runs, variants = _runs(tmp_path, config, [4200, 5300, 7000, 9800, 11300])
    proc = papermill(
        NOTEBOOK,
        tmp_path / "out.ipynb",
        _params(tmp_path, runs, variants, config, "smoke"),
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    claims = read_claims(tmp_path / "claims.json")
    assert len(claims) == 3 * 7 and all(c.passed is None and "smoke" in c.note for c in claims)


@pytest.mark.slow  # a notebook or workflow run of its own: kept out of the 10-minute fast suite
def test_malformed_run_file_fails_with_its_path(tmp_path, config):
    runs, variants = _runs(tmp_path, config, [4200, 5300, 7000, 9800, 11300])
    summary = runs[4] / "summary.json"
    summary.write_text(summary.read_text()[:25])  # truncated JSON
    proc = papermill(
        NOTEBOOK, tmp_path / "out.ipynb", _params(tmp_path, runs, variants, config), tmp_path
    )
    assert proc.returncode != 0
    assert f"run file {summary} is malformed (not valid JSON" in proc.stderr
    assert not (tmp_path / "claims.json").exists()
