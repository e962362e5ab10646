"""The CNN locality training loop (P2 Fig. C) at toy sizes: settings, outputs, stopping, a NaN
loss, and SIGTERM inside an epoch (the harness's promises over every experiment - determinism,
resuming, SIGTERM and SIGKILL of the CLI - are in test_train_reliability.py)."""

from __future__ import annotations

import contextlib
import copy
import csv
import json
import math
import signal
from pathlib import Path

import numpy as np
import pytest
import torch

from impreg.cli import main
from impreg.data.locality_sources import make_is_same_class_images
from impreg.data.pathfinder import PathfinderConfig, PathfinderData, generate_pathfinder
from impreg.regularizers import abs_cosine, choose_patch_order, sample_patch_pair, swap_patch
from impreg.train import harness, locality
from impreg.train.locality import (
    TIMING_COLUMNS,
    LocalityConfig,
    batch_bounds,
    next_streak,
    run,
    stop_reason,
)
from impreg.train.reliability import CHECKPOINT

COLUMNS = [
    "epoch",
    "train_loss",
    "train_accuracy",
    "train_penalty",
    "test_loss",
    "test_accuracy",
    "probe_penalty",
    "epoch_seconds",
    "train_images_per_second",
]
SUMMARY_KEYS = {
    "status",
    "epochs",
    "final_test_accuracy",
    "final_train_accuracy",
    "num_parameters",
    "device",
    "deterministic",
    "deterministic_reason",
    "channels_last_used",
    "wall_seconds",
    "resumed_from",
    "peak_memory",
    "num_train",
    "num_test",
    "stand_in",
    "data",
    "settings",
    "versions",
    "final_probe_penalty",
    "probe_size",
}


def quiet(_: str) -> None:
    pass


def no_nan(constant: str):
    raise AssertionError(f"summary.json holds {constant}, which is not JSON")


@pytest.fixture(scope="module")
def pf_file(tmp_path_factory) -> Path:
    """16 Pathfinder images of 32 px (8 train / 8 test)."""
    cfg = PathfinderConfig(path_length=3, window=64, output_size=32, geometry_scale=0.5)
    path = tmp_path_factory.mktemp("pf") / "pf.npz"
    generate_pathfinder(cfg, 16, seed=1).save(path)
    return path


@pytest.fixture(scope="module")
def pf_data(pf_file) -> PathfinderData:
    return PathfinderData.load(pf_file)


@pytest.fixture(scope="module")
def digits():
    return make_is_same_class_images("digits")


def pf_cfg(**kw) -> LocalityConfig:
    base = dict(
        task="pathfinder",
        x=3,
        width=2,
        lam=0.0,
        seed=0,
        batch_size=4,
        max_epochs=2,
        patience=50,
        device="cpu",
    )
    return LocalityConfig(**(base | kw))


def isc_cfg(**kw) -> LocalityConfig:
    base = dict(
        task="is_same_class",
        x=8,
        width=2,
        lam=1.0,
        seed=0,
        batch_size=8,
        max_epochs=2,
        patience=50,
        num_train=24,
        num_test=16,
        canvas_width=24,
        canvas_height=24,
        device="cpu",
    )
    return LocalityConfig(**(base | kw))


def read_rows(path: Path, drop_timing: bool = True) -> list[dict]:
    with open(path) as fh:
        rows = list(csv.DictReader(fh))
    if drop_timing:
        for row in rows:
            for key in TIMING_COLUMNS:
                row.pop(key)
    return rows


# --- settings --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "field,value",
    [
        ("task", "cifar"),
        ("arch", "resnet50"),
        ("lam", -1.0),
        ("batch_size", 1),
        ("amp", "fp16"),
        ("x", 2.5),
        ("test_fraction", 1.0),
        ("momentum", 1.0),
        ("lr", float("nan")),
        ("width", 0),
        ("channels_last", "yes"),
        ("weight_decay", -0.1),
    ],
)
def test_bad_settings_name_the_field(field, value):
    with pytest.raises(ValueError, match=rf"LocalityConfig\.{field} must be"):
        pf_cfg(**{field: value})


def test_settings_that_only_the_data_can_check(pf_data, digits, tmp_path):
    with pytest.raises(ValueError, match="x = 5 .*path length 3"):
        run(pf_cfg(x=5), pf_data, tmp_path / "a", log=quiet)
    with pytest.raises(
        ValueError, match=r"LocalityConfig\.x = 9.*canvas_height x canvas_width is 24 x 24"
    ):
        run(isc_cfg(x=9), digits, tmp_path / "b", log=quiet)
    with pytest.raises(ValueError, match=r"LocalityConfig\.amp = 'bf16' needs a CUDA device"):
        run(pf_cfg(amp="bf16"), pf_data, tmp_path / "c", log=quiet)
    with pytest.raises(ValueError, match="reg_distance = 40"):
        run(pf_cfg(lam=1.0, reg_distance=40), pf_data, tmp_path / "d", log=quiet)
    with pytest.raises(ValueError, match="needs IsSameClassImages"):
        run(isc_cfg(), pf_data, tmp_path / "e", log=quiet)


def test_cli_reports_a_bad_setting_and_a_bad_file(pf_file, tmp_path, capsys):
    base = [
        "train",
        "locality",
        "--data",
        str(pf_file),
        "--out-dir",
        str(tmp_path / "r"),
        "--task",
        "pathfinder",
        "--x",
        "3",
        "--seed",
        "0",
        "--device",
        "cpu",
    ]
    assert main([*base, "--lam", "-1"]) == 2
    assert "argument --lam: -1.0 is not allowed: it must be >= 0" in capsys.readouterr().err
    broken = tmp_path / "broken.npz"
    broken.write_bytes(pf_file.read_bytes()[:300])
    assert main([*base[:2], "--data", str(broken), *base[4:], "--lam", "0"]) == 2
    err = capsys.readouterr().err
    assert str(broken) in err and "delete it" in err and "rebuild it" in err


# --- pure pieces -----------------------------------------------------------------------------------


def test_stop_rule_counts_consecutive_perfect_epochs():
    cfg = pf_cfg(patience=2, max_epochs=100)
    streak = 0
    for correct in (8, 7, 8, 8):
        streak = next_streak(streak, correct, 8)
    # 2 perfect epochs: not *more* than 2
    assert streak == 2 and stop_reason(4, streak, cfg) is None
    streak = next_streak(streak, 8, 8)
    assert stop_reason(5, streak, cfg) == "perfect_train_stop"
    assert next_streak(streak, 7, 8) == 0
    assert stop_reason(100, 0, cfg) == "max_epochs" and stop_reason(99, 0, cfg) is None
    assert stop_reason(1, 1, pf_cfg(patience=0)) == "perfect_train_stop"


def test_a_trailing_batch_of_one_joins_the_previous():
    assert batch_bounds(9, 4) == [(0, 4), (4, 9)]
    assert batch_bounds(10, 4) == [(0, 4), (4, 8), (8, 10)]
    assert batch_bounds(3, 4) == [(0, 3)]


# --- runs ------------------------------------------------------------------------------------------


def test_plain_and_regularized_runs_write_the_documented_outputs(pf_data, tmp_path):
    plain = run(pf_cfg(), pf_data, tmp_path / "plain", log=quiet)
    reg = run(pf_cfg(lam=1.0), pf_data, tmp_path / "reg", log=quiet)
    for name, lam in (("plain", 0.0), ("reg", 1.0)):
        out = tmp_path / name
        assert not (out / CHECKPOINT).exists()
        rows = read_rows(out / "metrics.csv", drop_timing=False)
        assert list(rows[0]) == COLUMNS and [int(r["epoch"]) for r in rows] == [1, 2]
        on_disk = json.loads((out / "summary.json").read_text(), parse_constant=no_nan)
        assert SUMMARY_KEYS <= set(on_disk)
        assert on_disk["status"] == "max_epochs" and on_disk["epochs"] == 2
        assert on_disk["final_test_accuracy"] == float(rows[-1]["test_accuracy"])
        assert on_disk["deterministic"] is True and on_disk["device"].startswith("cpu")
        assert "CPU" in on_disk["deterministic_reason"]
        # channels_last (the default) is a CUDA layout: on CPU the run keeps the plain one
        assert (
            on_disk["settings"]["channels_last"] is True and on_disk["channels_last_used"] is False
        )
        assert (on_disk["num_train"], on_disk["num_test"]) == (8, 8) and on_disk["input_shape"] == [
            1,
            32,
            32,
        ]
        assert on_disk["data"]["path_length"] == 3 and on_disk["stand_in"] is False
        # each setting once: under settings, not again beside the results
        assert on_disk["settings"]["lam"] == lam and not {"task", "x", "lam", "seed", "amp"} & set(
            on_disk
        )
    assert all(r["train_penalty"] == "nan" for r in read_rows(tmp_path / "plain" / "metrics.csv"))
    penalties = [float(r["train_penalty"]) for r in read_rows(tmp_path / "reg" / "metrics.csv")]
    assert all(0 <= p <= 1 for p in penalties)
    # the probe measures the penalty of every run, the plain one included, on the 8 test images
    for name, summary in (("plain", plain), ("reg", reg)):
        probes = [float(r["probe_penalty"]) for r in read_rows(tmp_path / name / "metrics.csv")]
        assert all(0 <= p <= 1 for p in probes) and summary["probe_size"] == 8
        assert summary["final_probe_penalty"] == probes[-1]
    # the penalty changes the training: same seed, same init, different numbers
    assert read_rows(tmp_path / "plain" / "metrics.csv") != read_rows(
        tmp_path / "reg" / "metrics.csv"
    )


def test_is_same_class_run(digits, tmp_path):
    out = tmp_path / "isc"
    summary = run(isc_cfg(keep_checkpoint=True), digits, out, log=quiet)
    assert summary["input_shape"] == [1, 24, 24] and summary["data"]["source"] == "digits"
    assert (summary["num_train"], summary["num_test"]) == (24, 16)
    assert summary["data"]["image_boxes"] == [[8, 0, 8, 8], [8, 16, 8, 8]]
    assert (out / CHECKPOINT).exists()  # keep_checkpoint
    assert math.isfinite(float(read_rows(out / "metrics.csv")[-1]["train_penalty"]))


def test_perfect_train_accuracy_stops_the_run(tmp_path):
    """A trivially separable set (bright vs dark images) is fitted within a few epochs."""
    n = 48
    labels = (np.arange(n) % 2).astype(np.uint8)
    noise = np.random.default_rng(0).integers(0, 20, (n, 16, 16))
    images = (np.where(labels[:, None, None] == 1, 200, 30) + noise).astype(np.uint8)
    data = PathfinderData(
        images=images,
        labels=labels,
        markers=np.zeros((n, 2, 2), np.float32),
        meta={"path_length": 3},
    )
    summary = run(
        pf_cfg(batch_size=8, max_epochs=10, patience=1, lr=0.05), data, tmp_path, log=quiet
    )
    assert summary["status"] == "perfect_train_stop" and summary["epochs"] < 10
    accuracy = [float(r["train_accuracy"]) for r in read_rows(tmp_path / "metrics.csv")]
    assert (
        accuracy[-2:] == [1.0, 1.0] and accuracy[-3] < 1.0 and summary["perfect_train_streak"] == 2
    )


def test_a_nan_loss_ends_the_run_as_diverged(pf_data, tmp_path, monkeypatch):
    real = locality.task_loss
    monkeypatch.setattr(
        locality,
        "task_loss",
        lambda logits, y, reduction="mean": real(logits, y, reduction) * math.nan,
    )
    summary = run(pf_cfg(lam=1.0, max_epochs=5), pf_data, tmp_path, log=quiet)
    assert summary["status"] == "diverged" and summary["epochs"] == 1
    assert math.isnan(float(read_rows(tmp_path / "metrics.csv")[0]["train_loss"]))
    on_disk = json.loads((tmp_path / "summary.json").read_text(), parse_constant=no_nan)
    assert on_disk["final_train_loss"] is None and on_disk["status"] == "diverged"
    assert not (tmp_path / CHECKPOINT).exists()


def _sigterm_at_call(monkeypatch, name: str, call: int) -> None:
    """Send SIGTERM to this process at the ``call``-th call of ``<module>.<name>`` (before it runs):
    a train step of locality's or a checkpoint write of the harness's (``save_state``)."""
    module = harness if name == "save_state" else locality
    real, calls = getattr(module, name), [0]

    def wrapper(*args, **kwargs):
        calls[0] += 1
        if calls[0] == call:
            # only while the loop's handler is installed: SIGTERM would otherwise end the test session
            assert signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, signal.SIG_IGN, None)
            signal.raise_signal(signal.SIGTERM)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)


@pytest.mark.parametrize(
    "name,call,kept,message",
    [
        (
            "_train_step",
            3,
            1,
            "SIGTERM: stopped during epoch 2, which is abandoned",
        ),  # epoch 2's first batch
        (
            "save_state",
            2,
            2,
            "SIGTERM: stopped after epoch 2; checkpoint",
        ),  # epoch 2 done: its checkpoint is written
    ],
)
def test_sigterm_exits_143_keeping_a_whole_checkpoint_and_the_rerun_ends_as_uninterrupted(
    name, call, kept, message, pf_data, tmp_path, monkeypatch
):
    cfg = pf_cfg(lam=1.0, max_epochs=3)  # 8 train images in batches of 4: 2 steps per epoch
    whole = run(cfg, pf_data, tmp_path / "whole", log=quiet)
    before, cut, lines = signal.getsignal(signal.SIGTERM), tmp_path / "cut", []
    with monkeypatch.context() as patch:
        _sigterm_at_call(patch, name, call)
        with pytest.raises(SystemExit) as info:
            run(cfg, pf_data, cut, log=lines.append)
    assert info.value.code == 143 and message in str(info.value) and message in lines[-1]
    assert signal.getsignal(signal.SIGTERM) is before  # the loop's handler is gone again
    assert torch.load(cut / CHECKPOINT, weights_only=False)["epoch"] == kept
    assert not (cut / "summary.json").exists() and not list(cut.glob(".*.tmp"))
    resumed = run(cfg, pf_data, cut, log=quiet)
    assert (
        resumed["resumed_from"] == kept
        and resumed["final_test_accuracy"] == whole["final_test_accuracy"]
    )
    assert read_rows(cut / "metrics.csv") == read_rows(tmp_path / "whole" / "metrics.csv")


def test_a_sigterm_after_the_last_epoch_lets_the_run_finish(pf_data, tmp_path, monkeypatch):
    _sigterm_at_call(monkeypatch, "save_state", 2)
    summary = run(pf_cfg(max_epochs=2), pf_data, tmp_path, log=quiet)
    assert summary["status"] == "max_epochs" and (tmp_path / "summary.json").exists()


# --- the regularized step gives the numbers of the reference formulation ---------------------------------


def reference_penalty(model, x, box_i, box_j):
    """The plain formulation: one autograd.grad per pass, at the input, with torch's own BatchNorm."""

    def input_gradient(inputs):
        inputs = inputs.detach().requires_grad_(True)
        logits = model(inputs)
        return logits, torch.autograd.grad(logits.sum(), inputs, create_graph=True)[0]

    logits, grad = input_gradient(x)
    _, grad_swapped = input_gradient(swap_patch(x, box_j))
    return abs_cosine(
        grad[(..., *box_i.slices)], grad_swapped[(..., *box_i.slices)]
    ).mean().float(), logits


def reference_step(model, optimizer, lam, x, y, boxes):
    optimizer.zero_grad(set_to_none=True)
    penalty, logits = reference_penalty(model, x, *boxes)
    bce = locality.task_loss(logits, y)
    (bce + lam * penalty).backward()
    optimizer.step()
    return bce.detach(), penalty.detach(), logits.detach()


@pytest.mark.parametrize(
    "task,dtype",
    [
        ("pathfinder", torch.float32),
        ("pathfinder", torch.float64),
        ("is_same_class", torch.float32),
    ],
)
def test_regularized_step_matches_the_reference_formulation(task, dtype):
    """SGD steps from the same weights: loss, penalty, logits, gradients, weights and BatchNorm
    running statistics agree with the reference to rounding. In float64 over two steps (momentum
    included) to 1e-10; in float32 over one, to 1e-4 of each tensor's scale, since the reference's
    own float32 gradients are ~6e-5 of scale off its float64 ones there (and after a second step of
    lr 0.1 the two precisions part further)."""
    from impreg.data.is_same_class import pair_boxes
    from impreg.models.resnet import build_resnet

    channels, size = (1, 32) if task == "pathfinder" else (3, 48)
    torch.manual_seed(0)
    ref_model = build_resnet("resnet18", in_channels=channels, width=4).to(dtype).train()
    new_model = copy.deepcopy(ref_model)
    opts = [torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9) for m in (ref_model, new_model)]
    step = locality._Step(
        new_model,
        opts[1],
        3.0,
        contextlib.nullcontext,
        torch.contiguous_format,
        input_conv=new_model.conv1,
    )
    rng = np.random.default_rng(0)
    rtol, atol, steps = (1e-4, 1e-4, 1) if dtype == torch.float32 else (1e-10, 1e-12, 2)

    def close(got, want, what):
        scale = want.abs().max().item() or 1.0  # atol in the tensor's units: weights, gradients and
        # running statistics differ by orders of magnitude
        torch.testing.assert_close(
            got, want, rtol=rtol, atol=atol * scale, msg=lambda m: f"{what}: {m}"
        )

    for _ in range(steps):
        x = torch.randn(8, channels, size, size, dtype=dtype)
        y = torch.tensor([0.0, 1.0] * 4)
        boxes = (
            sample_patch_pair(size, size, 2, rng)
            if task == "pathfinder"
            else choose_patch_order(pair_boxes(8, 16, size), rng)
        )
        ref = reference_step(ref_model, opts[0], 3.0, x, y, boxes)
        new = locality._train_step(step, x, y, boxes)
        for what, a, b in zip(("bce", "penalty", "logits"), ref, new):
            close(b, a, what)
        for (name, a), b in zip(ref_model.named_parameters(), new_model.parameters()):
            close(b.grad, a.grad, f"{name}.grad")
            close(b, a, name)
        for (name, a), b in zip(ref_model.named_buffers(), new_model.buffers()):
            if name.endswith(
                "num_batches_tracked"
            ):  # two BatchNorm calls per layer and step, as before
                assert torch.equal(b, a), name
            else:
                close(b, a, name)


def test_the_probe_changes_nothing_else(pf_data, tmp_path):
    """The probe runs in eval mode, draws no training randomness and updates no statistic: a run
    with it trains bit for bit as one without it."""
    with_probe = run(pf_cfg(lam=1.0), pf_data, tmp_path / "probe", log=quiet)
    without = run(pf_cfg(lam=1.0, probe_size=0), pf_data, tmp_path / "none", log=quiet)
    rows = {name: read_rows(tmp_path / name / "metrics.csv") for name in ("probe", "none")}
    assert all(r.pop("probe_penalty") == "nan" for r in rows["none"])
    assert all(math.isfinite(float(r.pop("probe_penalty"))) for r in rows["probe"])
    assert rows["probe"] == rows["none"]
    assert without["final_probe_penalty"] is None and with_probe["final_probe_penalty"] is not None


def test_weight_decay_reaches_the_step(pf_data, tmp_path):
    """Weight decay changes the training (the plain run's numbers are the default's), and it is a
    setting of the run's fingerprint."""
    plain = run(pf_cfg(max_epochs=1), pf_data, tmp_path / "plain", log=quiet)
    decayed = run(pf_cfg(max_epochs=1, weight_decay=0.5), pf_data, tmp_path / "decayed", log=quiet)
    assert decayed["final_train_loss"] != plain["final_train_loss"]
    assert decayed["fingerprint"] != plain["fingerprint"]


def test_the_probe_depends_on_the_model_alone():
    """Same weights, same probe value, whatever the run's seed or lambda; other weights, another.
    Noise images: on a blank patch J the swap changes nothing and |cos| is exactly 1 for any model."""
    from impreg.train.locality import _build_model, _Step, make_task, probe_penalty

    n = 32
    images = np.random.default_rng(0).integers(0, 256, (n, 16, 16)).astype(np.uint8)
    data = PathfinderData(
        images=images,
        labels=(np.arange(n) % 2).astype(np.uint8),
        markers=np.zeros((n, 2, 2), np.float32),
        meta={"path_length": 3},
    )

    def probe(seed: int, lam: float, init_seed: int) -> float:
        cfg = pf_cfg(seed=seed, lam=lam, width=4)
        task = make_task(cfg, data, torch.device("cpu"))
        model = _build_model(
            pf_cfg(seed=init_seed, width=4), 1, torch.device("cpu"), torch.contiguous_format
        )
        step = _Step(
            model,
            torch.optim.SGD(model.parameters(), lr=0.1),
            lam,
            contextlib.nullcontext,
            torch.contiguous_format,
            input_conv=model.conv1,
        )
        return probe_penalty(step, task, cfg.probe_size)

    value = probe(0, 0.0, init_seed=3)
    assert 0 <= value < 1 and value == probe(5, 1.0, init_seed=3)
    assert abs(value - probe(0, 0.0, init_seed=4)) > 1e-6


def test_penalty_on_part_of_the_batch(pf_data, tmp_path):
    """``penalty_batch`` below the batch changes the training; at or above it, it is the full penalty."""
    rows = {}
    for name, penalty_batch in (("full", 0), ("whole", 4), ("part", 2)):  # batches of 4
        run(pf_cfg(lam=1.0, penalty_batch=penalty_batch), pf_data, tmp_path / name, log=quiet)
        rows[name] = read_rows(tmp_path / name / "metrics.csv")
    assert rows["whole"] == rows["full"] and rows["part"] != rows["full"]
    assert all(
        0 <= float(r["train_penalty"]) <= 1 for r in read_rows(tmp_path / "part" / "metrics.csv")
    )
    with pytest.raises(ValueError, match="penalty_batch"):
        pf_cfg(penalty_batch=1)
