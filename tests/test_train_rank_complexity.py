"""The rank-complexity training loop on a tiny case: outputs, seeding, packing, metrics (resuming,
signals and divergence: test_train_reliability.py, over every experiment)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from helpers import tiny_binary_images
from impreg.cli import main
from impreg.data.tensorize import make_rank_complexity_data
from impreg.factorizations.pixel_cp import PixelCP
from impreg.train.rank_complexity import (
    RankComplexityConfig,
    baseline_test_error,
    batch_order,
    init_seed,
    model_specs,
    run,
)
from impreg.train.reliability import CHECKPOINT


@pytest.fixture(scope="module")
def data():
    return tiny_binary_images()


def _cfg(**kw) -> RankComplexityConfig:
    base = dict(
        ranks=(1, 2),
        seeds=(0, 1),
        epochs=6,
        batch_size=16,
        lr=1e-2,
        eval_every=2,
        checkpoint_every=2,
        device="cpu",
    )
    base.update(kw)
    return RankComplexityConfig(**base)


def test_run_writes_metrics_and_summary(tmp_path, data):
    summary = run(_cfg(), data, tmp_path, log=lambda *_: None)
    metrics = pd.read_csv(tmp_path / "metrics.csv")
    on_disk = json.loads((tmp_path / "summary.json").read_text())
    assert on_disk == summary | {"settings": on_disk["settings"], "versions": on_disk["versions"]}
    assert list(metrics.columns) == ["epoch", "step", "rank", "seed", "train_error", "test_error"]
    assert sorted(set(metrics["epoch"])) == [2, 4, 6]  # every eval_every epochs, the last always
    assert len(metrics) == 3 * 4  # 3 evaluations x (2 ranks x 2 seeds)
    assert metrics["step"].max() == 6 * 4  # ceil(60 / 16) = 4 steps per epoch
    assert summary["status"] == "completed" and summary["epochs"] == 6 and summary["steps"] == 24
    for key in (
        "wall_seconds",
        "device",
        "seed",
        "settings",
        "variance_line",
        "test_variance_line",
        "epochs_per_second",
        "num_models",
        "final",
    ):
        assert key in on_disk
    assert on_disk["deterministic"] is True and "CPU" in on_disk["deterministic_reason"]
    assert on_disk["peak_memory"]["host_rss_mb"] > 0
    assert (
        on_disk["settings"]["ranks"] == [1, 2]
        and on_disk["settings"]["lr"] == 1e-2
        and "ranks" not in on_disk
    )
    last = metrics[metrics["epoch"] == 6].sort_values(["seed", "rank"])
    final = pd.DataFrame(summary["final"]).sort_values(["seed", "rank"])
    np.testing.assert_allclose(
        last[["train_error", "test_error"]].to_numpy(),
        final[["train_error", "test_error"]].to_numpy(),
        atol=1e-12,
    )
    assert (metrics[["train_error", "test_error"]] > 0).all().all()
    first = metrics[metrics["epoch"] == 2]["train_error"].mean()
    assert last["train_error"].mean() < first  # it learns
    assert (tmp_path / CHECKPOINT).exists()


def test_a_packed_model_equals_the_same_model_fitted_alone(tmp_path, data):
    packed = run(_cfg(ranks=(1, 2, 3), seeds=(0, 1)), data, tmp_path / "pack", log=lambda *_: None)
    alone = run(_cfg(ranks=(2,), seeds=(1,)), data, tmp_path / "alone", log=lambda *_: None)
    mine = next(m for m in packed["final"] if m["rank"] == 2 and m["seed"] == 1)
    np.testing.assert_allclose(
        [mine["train_error"], mine["test_error"]],
        [alone["final"][0]["train_error"], alone["final"][0]["test_error"]],
        rtol=1e-5,
        atol=1e-9,
    )


def test_train_error_is_the_running_average_of_the_epochs_minibatch_errors(tmp_path, data):
    # one full batch: the epoch's train error is the MSE of the initial model (before its step), / 4
    cfg = _cfg(ranks=(2,), seeds=(0,), epochs=1, batch_size=1000, eval_every=1)
    summary = run(cfg, data, tmp_path, log=lambda *_: None)
    model = PixelCP(data.num_pixels, model_specs(cfg))
    with torch.no_grad():
        pred = model(torch.as_tensor(data.train_bits).float())[:, 0]
    expected = float(((pred - torch.as_tensor(data.train_targets)) ** 2).mean() / 4)
    assert summary["final"][0]["train_error"] == pytest.approx(expected, rel=1e-5)


def test_test_error_is_clamped_per_sample(tmp_path, data):
    # init mean 3: every prediction is about 3^12, so every clamped squared error is 4 -> reported 1.0
    summary = run(
        _cfg(init_mean=3.0, epochs=1, eval_every=1, lr=1e-6), data, tmp_path, log=lambda *_: None
    )
    assert all(m["test_error"] == pytest.approx(1.0) for m in summary["final"])
    assert all(m["train_error"] > 1e6 for m in summary["final"])


def test_seeds_and_batch_orders():
    assert len({init_seed(s, r) for s in range(5) for r in range(1, 16)}) == 75
    a = batch_order(0, 3, 100)
    assert sorted(a) == list(range(100))
    np.testing.assert_array_equal(a, batch_order(0, 3, 100))
    assert not np.array_equal(a, batch_order(1, 3, 100)) and not np.array_equal(
        a, batch_order(0, 4, 100)
    )


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="ranks"):
        RankComplexityConfig(ranks=(1, 1))
    with pytest.raises(ValueError, match="epochs"):
        RankComplexityConfig(epochs=0)


def test_make_data_digits_subset_and_controls():
    natural = make_rank_complexity_data(
        "digits", "natural", positive_class=6, seed=0, train_subset=500
    )
    assert natural.train_bits.shape == (500, 64) and natural.test_bits.shape == (450, 64)
    assert natural.meta["stand_in"] is False and natural.meta["source_num_train"] == 1347
    assert set(np.unique(natural.train_targets)) == {0.0, 2.0}
    label = make_rank_complexity_data(
        "digits", "random_label", positive_class=6, seed=0, train_subset=500
    )
    np.testing.assert_array_equal(label.train_bits, natural.train_bits)  # same subset of images
    assert sorted(label.train_targets) == sorted(natural.train_targets)
    assert not np.array_equal(label.train_targets, natural.train_targets)
    assert 0 < baseline_test_error(natural) < 0.25
    with pytest.raises(ValueError, match="exceeds"):
        make_rank_complexity_data("digits", train_subset=5000)


def test_cli_trains_from_an_npz(tmp_path, data):
    data.save(tmp_path / "d.npz")
    argv = [
        "train",
        "rank-complexity",
        "--data",
        str(tmp_path / "d.npz"),
        "--out-dir",
        str(tmp_path / "run"),
        "--ranks",
        "1",
        "3",
        "--seeds",
        "0",
        "--epochs",
        "3",
        "--batch-size",
        "20",
        "--eval-every",
        "1",
        "--device",
        "cpu",
    ]
    assert main(argv) == 0
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["settings"]["ranks"] == [1, 3] and summary["epochs"] == 3
    assert (
        main(
            [
                "train",
                "rank-complexity",
                "--data",
                str(tmp_path / "missing.npz"),
                "--out-dir",
                str(tmp_path / "r2"),
            ]
        )
        == 2
    )
