"""Incremental-rank training (P2 Figs. A/B) and the tensor sensing variant of P1's appendix:
data generators, training loops on tiny cases, and the command line."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

from impreg.cli import main as cli_main
from impreg.data.synthetic import (
    CompletionData,
    SensingData,
    make_cp_completion,
    make_cp_sensing,
    make_ht_completion,
)
from impreg.io import DataFileError
from impreg.tensor_ranks import matricization_singular_values
from impreg.train.incremental_rank import IncrementalRankConfig, parse_matricizations
from impreg.train.incremental_rank import run as run_incremental
from impreg.train.tf_dynamics import TFDynamicsConfig, sensing_loss_and_grad
from impreg.train.tf_dynamics import run as run_tf

# ---------------------------------------------------------------- data


def test_sensing_values_are_inner_products_with_gaussian_measurements():
    d = make_cp_sensing(order=3, mode_dim=4, rank=2, fro_norm=1.0, num_measurements=500, seed=3)
    assert d.measurements.shape == (500, 4, 4, 4) and d.measurements.dtype == np.float32
    expected = np.einsum("nabc,abc->n", d.measurements.astype(np.float64), d.target)
    np.testing.assert_allclose(d.values, expected, rtol=1e-12, atol=1e-14)
    # i.i.d. N(0, 1/numel) entries: mean ~0, variance ~1/64
    x = d.measurements.reshape(-1).astype(np.float64)
    assert abs(x.mean()) < 0.01 and x.var() == pytest.approx(1 / 64, rel=0.05)
    assert np.isclose(np.linalg.norm(d.target), 1.0) and d.meta["kind"] == "cp_sensing"


def test_sensing_target_equals_completion_target_of_the_same_seed():
    s = make_cp_sensing(3, 4, 2, 1.0, 10, seed=5)
    c = make_cp_completion(3, 4, 2, 1.0, 10, seed=5)
    np.testing.assert_array_equal(s.target, c.target)


def test_sensing_is_deterministic_and_roundtrips(tmp_path):
    a = make_cp_sensing(3, 4, 2, 1.0, 30, seed=1)
    b = make_cp_sensing(3, 4, 2, 1.0, 30, seed=1)
    c = make_cp_sensing(3, 4, 2, 1.0, 30, seed=2)
    assert np.array_equal(a.measurements, b.measurements) and not np.array_equal(
        a.measurements, c.measurements
    )
    a.save(tmp_path / "s.npz")
    e = SensingData.load(tmp_path / "s.npz")
    assert (
        np.array_equal(e.measurements, a.measurements)
        and np.array_equal(e.values, a.values)
        and e.meta == a.meta
    )


def test_sensing_load_errors_name_the_file(tmp_path):
    with pytest.raises(DataFileError, match="does not exist"):
        SensingData.load(tmp_path / "nope.npz")
    make_cp_completion(3, 4, 2, 1.0, 10, seed=0).save(tmp_path / "c.npz")
    with pytest.raises(DataFileError, match="c.npz"):
        SensingData.load(tmp_path / "c.npz")


def test_ht_completion_target_has_low_in_tree_rank():
    d = make_ht_completion(
        order=4,
        mode_dim=5,
        ranks=[2, 2],
        pattern="adjacent",
        fro_norm=3.0,
        num_observations=100,
        seed=0,
    )
    assert np.isclose(np.linalg.norm(d.target), 3.0)
    assert len(np.unique(d.flat_indices)) == 100
    assert np.array_equal(d.values, d.target[tuple(d.indices.T)])
    sv_tree = matricization_singular_values(d.target, (0, 1))
    sv_off = matricization_singular_values(d.target, (0, 2))
    assert (sv_tree[2:] < 1e-10 * sv_tree[0]).all()  # rank <= 2 in the tree
    assert (sv_off[2:4] > 1e-8 * sv_off[0]).all()  # up to 2^2 = 4 outside it
    assert d.meta["tree"] == "((0, 1), (2, 3))"


# ---------------------------------------------------------------- tensor sensing training


@pytest.mark.parametrize("loss", ["l2", "huber"])
def test_sensing_loss_gradient_matches_autograd(loss):
    import torch.nn.functional as F

    torch.manual_seed(0)
    full = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    x = torch.randn(7, 12, dtype=torch.float64)
    y = torch.randn(7, dtype=torch.float64)
    pred = x @ full.reshape(-1)
    ref = F.mse_loss(pred, y) if loss == "l2" else F.smooth_l1_loss(pred, y, beta=0.3)
    (expected,) = torch.autograd.grad(ref, full)
    value, grad = sensing_loss_and_grad(full.detach(), x, y, loss, 0.3)
    torch.testing.assert_close(value, ref.detach())
    torch.testing.assert_close(grad, expected)


def test_tf_dynamics_trains_on_sensing_data_deterministically(tmp_path):
    data = make_cp_sensing(3, 4, 2, 1.0, 40, seed=0)
    cfg = TFDynamicsConfig(
        num_components=16, init_std=0.05, max_iterations=300, log_every=10, top_k=5, device="cpu"
    )
    summary = run_tf(cfg, data, tmp_path / "a")
    run_tf(cfg, data, tmp_path / "b")
    metrics = pd.read_csv(tmp_path / "a" / "metrics.csv")
    assert metrics["train_loss"].iloc[-1] < 0.1 * metrics["train_loss"].iloc[0]
    assert summary["data"]["kind"] == "cp_sensing"
    assert (tmp_path / "a" / "metrics.csv").read_text() == (
        tmp_path / "b" / "metrics.csv"
    ).read_text()


# ---------------------------------------------------------------- incremental rank


@pytest.fixture(scope="module")
def datasets():
    return {
        "mf": make_cp_completion(
            order=2, mode_dim=8, rank=2, fro_norm=8.0, num_observations=40, seed=0
        ),
        "tf": make_cp_completion(
            order=3, mode_dim=4, rank=2, fro_norm=8.0, num_observations=40, seed=0
        ),
        "htf": make_ht_completion(
            order=4,
            mode_dim=3,
            ranks=[2, 2],
            pattern="adjacent",
            fro_norm=9.0,
            num_observations=60,
            seed=0,
        ),
    }


def _cfg(model, **kw):
    base = dict(
        model=model,
        init_std=0.1,
        htf_width=4,
        max_iterations=150,
        log_every=10,
        top_k=3,
        device="cpu",
        stop_validations=3,
    )
    return IncrementalRankConfig(**(base | kw))


@pytest.mark.parametrize("model", ["mf", "tf", "htf"])
def test_run_writes_metrics_and_summary(tmp_path, datasets, model):
    summary = run_incremental(_cfg(model), datasets[model], tmp_path)
    metrics = pd.read_csv(tmp_path / "metrics.csv")
    on_disk = json.loads((tmp_path / "summary.json").read_text())
    assert on_disk == summary | {"settings": on_disk["settings"], "versions": on_disk["versions"]}
    assert {
        "iterations",
        "wall_seconds",
        "device",
        "status",
        "settings",
        "top_quantity",
        "target_singular_values",
    } <= set(on_disk)
    # once each
    assert {"seed", "model"} <= set(on_disk["settings"]) and not {"seed", "model"} & set(on_disk)
    assert list(metrics.columns[:6]) == [
        "iteration",
        "train_loss",
        "reconstruction_error",
        "top_0",
        "top_1",
        "top_2",
    ]
    assert (
        metrics["iteration"].iloc[0] == 0 and metrics["iteration"].iloc[-1] == summary["iterations"]
    )
    assert (metrics["iteration"].diff().dropna().iloc[:-1] == 10).all()
    tops = metrics[["top_0", "top_1", "top_2"]].to_numpy()
    assert (tops[:, :-1] >= tops[:, 1:]).all()  # order statistics
    assert metrics["reconstruction_error"].iloc[0] == pytest.approx(1.0, abs=0.05)
    assert metrics["train_loss"].iloc[-1] < metrics["train_loss"].iloc[0]


def test_htf_logs_local_norms_singular_values_and_ranks(tmp_path, datasets):
    summary = run_incremental(
        _cfg("htf", extra_matricizations="0-2;1-3"), datasets["htf"], tmp_path
    )
    metrics = pd.read_csv(tmp_path / "metrics.csv")
    for node in ("0-1", "2-3", "0-1-2-3"):
        assert {f"local_{node}_{k}" for k in range(3)} <= set(metrics.columns)
    keys = ["0", "1", "0-1", "2", "3", "2-3", "0-2", "1-3"]
    assert summary["matricizations"] == keys
    for key in keys:
        assert f"sv_{key}_0" in metrics and f"rank_{key}" in metrics and f"erank_{key}" in metrics
    # the top curve is the root's local norms
    np.testing.assert_allclose(metrics["top_0"], metrics["local_0-1-2-3_0"])
    # full spectra in the summary match the last logged singular values and ranks
    final = metrics.iloc[-1]
    sv = summary["final_matricization_singular_values"]["0-2"]
    assert final["sv_0-2_0"] == pytest.approx(sv[0], rel=1e-6)
    assert summary["final_ranks"]["0-1"] == final["rank_0-1"]
    assert summary["target_ranks"]["0-1"] == 2 and summary["target_split_modes"] == "0-1"


def test_stop_rule_counts_validations(tmp_path, datasets):
    # a loose threshold: the run stops after stop_validations + 1 validations below it
    summary = run_incremental(
        _cfg("mf", stop_loss=10.0, stop_validations=2, max_iterations=10_000),
        datasets["mf"],
        tmp_path,
    )
    assert summary["status"] == "converged" and summary["iterations"] == 20


def test_bad_settings_are_rejected(tmp_path, datasets):
    with pytest.raises(
        ValueError, match=r"IncrementalRankConfig.model must be one of mf, tf, htf, got 'cnn'"
    ):
        _cfg("cnn")
    with pytest.raises(
        ValueError, match=r"IncrementalRankConfig.alpha must be in \[0, 1\), got 1.5"
    ):
        _cfg("mf", alpha=1.5)
    with pytest.raises(ValueError, match="matrix target"):
        run_incremental(_cfg("mf"), datasets["tf"], tmp_path)
    with pytest.raises(ValueError, match="bad matricization"):
        parse_matricizations("0-x")


def test_cli_makes_data_and_trains(tmp_path, capsys):
    data = tmp_path / "h.npz"
    assert (
        cli_main(
            [
                "make-data",
                "ht-completion",
                "--order",
                "4",
                "--mode-dim",
                "3",
                "--ranks",
                "2",
                "--fro-norm",
                "9",
                "--num-observations",
                "50",
                "--seed",
                "1",
                "--out",
                str(data),
            ]
        )
        == 0
    )
    assert CompletionData.load(data).meta["ranks"] == [2]
    assert (
        cli_main(
            [
                "train",
                "incremental-rank",
                "--model",
                "htf",
                "--data",
                str(data),
                "--out-dir",
                str(tmp_path / "run"),
                "--htf-width",
                "4",
                "--init-std",
                "0.1",
                "--max-iterations",
                "30",
                "--log-every",
                "10",
                "--top-k",
                "3",
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    assert len(pd.read_csv(tmp_path / "run" / "metrics.csv")) == 4
    sensing = tmp_path / "s.npz"
    assert (
        cli_main(
            [
                "make-data",
                "tf-sensing",
                "--order",
                "3",
                "--mode-dim",
                "3",
                "--rank",
                "1",
                "--num-observations",
                "20",
                "--out",
                str(sensing),
            ]
        )
        == 0
    )
    assert (
        cli_main(
            [
                "train",
                "tf-sensing",
                "--data",
                str(sensing),
                "--out-dir",
                str(tmp_path / "srun"),
                "--num-components",
                "9",
                "--max-iterations",
                "20",
                "--log-every",
                "10",
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    assert (
        json.loads((tmp_path / "srun" / "summary.json").read_text())["data"]["kind"] == "cp_sensing"
    )
    # a completion file given to the sensing trainer fails with a message naming it
    assert (
        cli_main(["train", "tf-sensing", "--data", str(data), "--out-dir", str(tmp_path / "x")])
        == 2
    )
    assert "h.npz" in capsys.readouterr().err


# ---------------------------------------------------------------- config


def test_schema_defaults_carry_the_paper_scale_reasons(root):
    """quick and smoke inherit the decisions and paper settings text from the schema: it must be config.yaml's."""
    import yaml

    from impreg.config import load_config, validate_config

    paper = load_config(root / "config" / "config.yaml", root / "config" / "schema.yaml")
    quick = load_config(root / "config" / "quick.yaml", root / "config" / "schema.yaml")
    assert quick["tf_dynamics_variants"]["decisions"] == paper["tf_dynamics_variants"]["decisions"]
    assert (
        quick["incremental_rank"]["paper_settings"] == paper["incremental_rank"]["paper_settings"]
    )
    raw = yaml.safe_load((root / "config" / "config.yaml").read_text())
    assert (
        "decisions" in raw["tf_dynamics_variants"] and "paper_settings" in raw["incremental_rank"]
    )
    # the schema's defaults are the paper-scale settings (an empty config gets them)
    defaults = validate_config({}, root / "config" / "schema.yaml")
    for section in ("tf_dynamics_variants", "incremental_rank", "htf_detail"):
        assert {k: v for k, v in defaults[section].items() if k != "changes_from_paper"} == {
            k: v for k, v in paper[section].items() if k != "changes_from_paper"
        }, section


def test_inconsistent_sections_are_named(root):
    import copy

    import yaml

    from impreg.config import ConfigError, validate_config

    smoke = yaml.safe_load((root / "config" / "smoke.yaml").read_text())
    for path, value, expected in (
        (
            ("tf_dynamics_variants", "variants", "order3", "num_observations"),
            1000,
            "variants.order3.num_observations",
        ),
        (("incremental_rank", "figure_seed"), 9, "incremental_rank.figure_seed"),
        (("htf_detail", "figure_seed"), 9, "htf_detail.figure_seed"),
        (
            ("incremental_rank", "htf", "extra_matricizations"),
            "0-7",
            "incremental_rank.htf.extra_matricizations",
        ),
        (("incremental_rank", "num_observations"), 100, "incremental_rank.num_observations"),
    ):
        bad = copy.deepcopy(smoke)
        node = bad
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        with pytest.raises(ConfigError, match=expected.replace(".", r"\.")):
            validate_config(bad, root / "config" / "schema.yaml")
