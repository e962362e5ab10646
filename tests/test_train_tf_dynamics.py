import json

import pandas as pd
import pytest

from impreg.data.synthetic import make_cp_completion
from impreg.train.tf_dynamics import TFDynamicsConfig, max_cp_rank, run


@pytest.fixture(scope="module")
def data():
    return make_cp_completion(
        order=3, mode_dim=4, rank=2, fro_norm=1.0, num_observations=40, seed=0
    )


def _cfg(**kw):
    base = dict(
        num_components=16, init_std=0.05, max_iterations=300, log_every=10, top_k=5, device="cpu"
    )
    base.update(kw)
    return TFDynamicsConfig(**base)


def test_run_writes_metrics_and_summary(tmp_path, data):
    summary = run(_cfg(), data, tmp_path)
    metrics = pd.read_csv(tmp_path / "metrics.csv")
    on_disk = json.loads((tmp_path / "summary.json").read_text())
    assert on_disk == summary | {"settings": on_disk["settings"], "versions": on_disk["versions"]}
    for key in ("iterations", "wall_seconds", "device", "status", "settings"):
        assert key in on_disk
    # each setting once, under settings
    assert "seed" not in on_disk and on_disk["settings"]["seed"] == 0
    assert on_disk["settings"]["init_std"] == 0.05 and on_disk["settings"]["num_components"] == 16
    assert list(metrics.columns[:3]) == ["iteration", "train_loss", "reconstruction_error"]
    assert [f"top_component_{k}" for k in range(5)] + [f"top_index_{k}" for k in range(5)] == list(
        metrics.columns[3:]
    )
    assert (
        metrics["iteration"].iloc[0] == 0 and metrics["iteration"].iloc[-1] == summary["iterations"]
    )
    # order statistics: each row sorted in decreasing order
    tops = metrics.filter(like="top_component_").to_numpy()
    assert (tops[:, :-1] >= tops[:, 1:]).all()
    assert metrics["reconstruction_error"].iloc[0] == pytest.approx(1.0, abs=0.05)
    assert metrics["train_loss"].iloc[-1] < metrics["train_loss"].iloc[0]


def test_stops_after_patience_below_threshold(tmp_path, data):
    # a loose threshold is crossed early; the run then goes exactly patience + 1 iterations below it
    summary = run(_cfg(stop_loss=1e-2, stop_patience=7, max_iterations=5000), data, tmp_path)
    metrics = pd.read_csv(tmp_path / "metrics.csv")
    assert summary["status"] == "converged"
    assert summary["iterations"] < 5000
    assert metrics["train_loss"].iloc[-1] < 1e-2


def test_huber_loss_runs(tmp_path, data):
    assert (
        run(_cfg(loss="huber", huber_delta=0.5, max_iterations=20), data, tmp_path)["iterations"]
        == 20
    )


def test_max_rank():
    assert max_cp_rank((10, 10, 10, 10)) == 1000
    assert max_cp_rank((10, 10, 10)) == 100


@pytest.mark.parametrize("loss", ["l2", "huber"])
def test_written_out_loss_gradient_matches_autograd(loss):
    import torch
    import torch.nn.functional as F

    from impreg.train.tf_dynamics import completion_loss_and_grad

    torch.manual_seed(0)
    full = torch.randn(4, 5, dtype=torch.float64, requires_grad=True)
    target = torch.randn(4, 5, dtype=torch.float64)
    mask = torch.rand(4, 5) < 0.5
    count = int(mask.sum())
    if loss == "l2":
        ref = F.mse_loss(full[mask], target[mask])
    else:
        ref = F.smooth_l1_loss(full[mask], target[mask], beta=0.7)
    (expected,) = torch.autograd.grad(ref, full)
    value, grad = completion_loss_and_grad(
        full.detach(), mask, torch.where(mask, target, 0.0), count, loss, 0.7
    )
    torch.testing.assert_close(value, ref.detach())
    torch.testing.assert_close(grad, expected)


def test_summary_holds_the_final_components_and_the_target_spectrum(tmp_path, data):
    """The largest components' unit factors, norms and indices (those of the last logged row), and the
    target's mode-0 singular values, which identify the target drawn again from the data's metadata."""
    import numpy as np

    from impreg.data.synthetic import cp_target_components, outer_sum
    from impreg.tensor_ranks import matricization_singular_values

    summary = run(_cfg(max_iterations=200), data, tmp_path)
    last = pd.read_csv(tmp_path / "metrics.csv").iloc[-1]
    comps = summary["final_components"]
    assert comps["index"] == [int(last[f"top_index_{k}"]) for k in range(5)]
    assert comps["norm"] == [last[f"top_component_{k}"] for k in range(5)]
    factors = [np.asarray(f) for f in comps["factors"]]
    assert [f.shape for f in factors] == [(4, 5)] * 3
    np.testing.assert_allclose([np.linalg.norm(f, axis=0) for f in factors], 1.0, rtol=0, atol=1e-6)
    target, _ = cp_target_components(data.meta)
    np.testing.assert_array_equal(
        summary["target_singular_values"], matricization_singular_values(target, [0])
    )
    assert np.isfinite(outer_sum(factors)).all()


def test_float32_and_float64_runs_start_from_the_same_factors(tmp_path, data):
    """The initial draw is float64 whatever the dtype, so the two precisions differ in their arithmetic only."""
    import torch

    from impreg.train.tf_dynamics import initial_model

    base = initial_model((4, 4, 4), 16, 0.05, seed=3)
    assert all(f.dtype == torch.float64 for f in base.factors)
    rows = {}
    for dtype in ("float32", "float64"):
        run(_cfg(dtype=dtype, max_iterations=1, top_k=3), data, tmp_path / dtype)
        rows[dtype] = pd.read_csv(tmp_path / dtype / "metrics.csv").iloc[0]
    for k in range(3):
        assert rows["float32"][f"top_index_{k}"] == rows["float64"][f"top_index_{k}"]
        assert (
            abs(rows["float32"][f"top_component_{k}"] / rows["float64"][f"top_component_{k}"] - 1)
            < 1e-6
        )
