"""Tensor rank as a measure of complexity (P1, Figure 4): CP models of rank 1..15 fitted to an
image dataset posed as tensor completion, and to its two random controls.

One job fits every (rank, seed) model of one dataset and control at once (``PixelCP``
packing): seed s is one data group, with its own batch order, holding one model of every rank.
The protocol is the original code's:

- model: CP factors (pixels, 2, R) initialized N(init_mean, init_std^2), here N(1, 0.001^2);
- Adam (lr 5e-4, default betas), mean squared loss, batches of 5000 reshuffled every epoch
  (the last batch of an epoch is smaller when the batch size does not divide the train set);
- train error: the running, sample-weighted average of the minibatch MSEs *during* an epoch's
  updates (the original's "current value" of its loss metric), not a separate clean pass;
- test error: per-sample squared error clamped at 4, averaged over the test set after the epoch;
- both reported divided by 4 (labels are {0, 2}, so this reads as 0/1 labels).

Seeds: model (rank r, seed s) is initialized from seed ``init_seed(s, r)`` = 1000 s + r, and
epoch e of seed s visits the train set in the order ``np.random.default_rng([s, e]).permutation``,
so a run is reproducible, a model's numbers do not depend on which other models share its pack,
and resuming needs no random-generator state.

Long runs write ``checkpoint.pt`` (atomically, one file overwritten) every ``checkpoint_every``
epochs and resume from it when run again with the same settings and data; on SIGTERM a run
finishes its current epoch, writes the checkpoint and exits with status 143. The resumed run
ends with the same numbers as an uninterrupted one (on CPU, bit for bit). A non-finite train
error (checked at every evaluation) stops the run with status ``diverged``.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from impreg.data.tensorize import BinaryImageData
from impreg.experiments.rank_complexity import RankComplexityConfig  # noqa: F401 (the plug-in's config)
from impreg.factorizations.pixel_cp import (
    ERROR_SCALE,
    ModelSpec,
    PixelCP,
    clamped_sq_error,
    mse_per_model,
)
from impreg.train.common import (
    DTYPES,
    device_description,
    resolve_device,
)
from impreg.train.harness import Loop, LoopState, UnitContext, run_loop
from impreg.train.reliability import fingerprint

CHECKPOINT_FORMAT = (
    2  # 2: the model's state dict and packed rows (harness.save_state), not the raw factors
)


def init_seed(seed: int, rank: int) -> int:
    """The init seed of the rank-``rank`` model of seed ``seed``: distinct for every (seed, rank < 1000)."""
    return 1000 * int(seed) + int(rank)


def batch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    """The order in which seed ``seed`` visits the n train samples in epoch ``epoch`` (0-based)."""
    return np.random.default_rng([int(seed), int(epoch)]).permutation(n)


# --- training --------------------------------------------------------------------------------


def model_specs(cfg: RankComplexityConfig) -> list[ModelSpec]:
    """The pack: group g = seeds[g] holds one model per rank."""
    return [ModelSpec(r, init_seed(s, r), g) for g, s in enumerate(cfg.seeds) for r in cfg.ranks]


def data_fingerprint(data: BinaryImageData) -> str:
    """Digest of the four arrays and the metadata: what a checkpoint was trained on."""
    h = hashlib.sha1()
    for arr in (data.train_bits, data.train_targets, data.test_bits, data.test_targets):
        h.update(np.ascontiguousarray(arr).tobytes())
    h.update(json.dumps(data.meta, sort_keys=True).encode())
    return h.hexdigest()


def run(
    cfg: RankComplexityConfig,
    data: BinaryImageData,
    out_dir: str | Path,
    resume: bool = True,
    on_unit: Callable[[int], None] | None = None,
    stop_after: int | None = None,
    log: Callable[[str], None] = print,
) -> dict:
    """Fit every (rank, seed) model; write metrics.csv, summary.json (and checkpoint.pt) into ``out_dir``.

    With ``resume``, a ``checkpoint.pt`` of the same settings and data is continued; ``on_unit`` and
    ``stop_after`` are the harness's (``harness.run_loop``: tests interrupt a run with them).
    Returns the summary (status ``interrupted`` when stopped early). On SIGTERM the run finishes
    its current epoch, writes a checkpoint (unless ``checkpoint_every`` is 0) and raises
    ``Terminated`` (exit status 143).
    """
    device = resolve_device(cfg.device)
    dtype = DTYPES[cfg.dtype]
    specs = model_specs(cfg)
    model = PixelCP(
        data.num_pixels,
        specs,
        init_mean=cfg.init_mean,
        init_std=cfg.init_std,
        dtype=dtype,
        device=device,
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)

    n, n_test = len(data.train_targets), len(data.test_targets)
    # uint8 (N, P); batches are cast on the fly
    train_x = torch.as_tensor(data.train_bits, device=device)
    train_y = torch.as_tensor(data.train_targets, device=device, dtype=dtype)
    test_x = torch.as_tensor(data.test_bits, device=device)
    test_y = torch.as_tensor(data.test_targets, device=device, dtype=dtype)
    steps_per_epoch = math.ceil(n / cfg.batch_size)
    ranks = [s.rank for s in specs]
    seeds = [cfg.seeds[s.group] for s in specs]
    stand_in = bool(data.meta.get("stand_in", False))
    tag = f"{data.meta.get('dataset', '?')}/{data.meta.get('control', '?')}" + (
        " [STAND-IN DATA]" if stand_in else ""
    )
    log(
        f"rank_complexity {tag}: {len(specs)} models (ranks {list(cfg.ranks)} x seeds {list(cfg.seeds)}), "
        f"{n} train / {n_test} test samples, {data.num_pixels} pixels, {steps_per_epoch} steps per epoch, "
        f"{cfg.epochs} epochs on {device_description(device)}"
    )

    def advance(unit: UnitContext) -> str | None:
        """One epoch; at evaluations the logged rows, and divergence."""
        state = unit.state
        sq_sum = _train_epoch(
            cfg, model, optimizer, state, train_x, train_y, dtype, steps_per_epoch
        )
        # read back (a GPU sync) only at evaluations, so the next epoch's batch order is drawn while
        # the device still works through this epoch's steps; divergence is detected there too
        if state.position % cfg.eval_every == 0 or state.position == cfg.epochs:
            last_train = (sq_sum / n / ERROR_SCALE).cpu()
            test = evaluate_test(
                model, test_x, test_y, cfg.max_test_sample_loss, cfg.eval_batch_size
            )
            for m in range(len(specs)):
                state.rows.append(
                    {
                        "epoch": state.position,
                        "step": state.counters["step"],
                        "rank": ranks[m],
                        "seed": seeds[m],
                        "train_error": float(last_train[m]),
                        "test_error": float(test[m]),
                    }
                )
            unit.progress.set_postfix(
                train=f"{float(last_train.mean()):.4f}",
                test=f"{float(test.mean()):.4f}",
                refresh=False,
            )
            if not bool(torch.isfinite(last_train).all()):
                return "diverged"
        return None

    def summary(state: LoopState, status: str) -> dict:  # noqa: ARG001 - the harness records the status
        final_epoch = state.rows[-1]["epoch"]
        final = [
            {k: r[k] for k in ("rank", "seed", "train_error", "test_error")}
            for r in state.rows
            if r["epoch"] == final_epoch
        ]
        return dict(
            dataset=data.meta.get("dataset"),
            control=data.meta.get("control"),
            stand_in=stand_in,
            steps=state.counters["step"],
            steps_per_epoch=steps_per_epoch,
            seed=list(cfg.seeds),
            num_models=len(specs),
            num_train=n,
            num_test=n_test,
            num_pixels=data.num_pixels,
            variance_line=float(data.meta.get("variance_line", float("nan"))),
            test_variance_line=baseline_test_error(data),
            error_scale=ERROR_SCALE,
            final=final,
            data=data.meta,
        )

    loop = Loop(
        experiment="rank_complexity",
        unit="epoch",
        total=cfg.epochs,
        checkpoint_format=CHECKPOINT_FORMAT,
        fingerprint=fingerprint(cfg, data_fingerprint(data)),
        saved={"model": model, "optimizer": optimizer},
        advance=advance,
        summary=summary,
        device=device,
        counters={"step": 0},
        stop_rule=lambda state: "completed" if state.position >= cfg.epochs else None,
        checkpoint_every=cfg.checkpoint_every,
        desc=f"rank_complexity {tag}",
        mininterval=10,
    )
    return run_loop(
        loop, cfg, out_dir, resume=resume, log=log, on_unit=on_unit, stop_after=stop_after
    )


def _train_epoch(
    cfg: RankComplexityConfig,
    model: PixelCP,
    optimizer: torch.optim.Optimizer,
    state: LoopState,
    train_x: torch.Tensor,
    train_y: torch.Tensor,
    dtype: torch.dtype,
    steps_per_epoch: int,
) -> torch.Tensor:
    """One epoch of every packed model (seed s in its own order); returns each model's summed
    squared train error over the epoch's minibatches (on the device, not read back)."""
    n = len(train_y)
    orders = torch.as_tensor(
        np.stack([batch_order(s, state.position, n) for s in cfg.seeds]), device=train_x.device
    )
    sq_sum = torch.zeros(model.num_models, dtype=torch.float64, device=train_x.device)
    for b in range(steps_per_epoch):
        idx = orders[:, b * cfg.batch_size : (b + 1) * cfg.batch_size]  # (G, b)
        x, y = train_x[idx].to(dtype), train_y[idx]  # (G, b, P), (G, b)
        # MSE of each model on its batch
        per_model = mse_per_model(model(x), model.expand_targets(y))
        optimizer.zero_grad(set_to_none=True)
        per_model.sum().backward()  # each model's gradient is that of its own MSE
        optimizer.step()
        sq_sum += per_model.detach().double() * idx.shape[1]
        state.counters["step"] += 1
    state.position += 1
    return sq_sum


def baseline_test_error(data: BinaryImageData) -> float:
    """Test error of the best constant predictor fitted to the train targets (their mean), divided by 4.

    The baseline of the test errors: the variance line is its train counterpart, and the two
    differ when the splits' positive fractions do (digits: 10.5% of train, 8.7% of test).
    """
    train_mean = float(np.mean(data.train_targets, dtype=np.float64))
    return float(
        np.mean((np.asarray(data.test_targets, dtype=np.float64) - train_mean) ** 2) / ERROR_SCALE
    )


@torch.no_grad()
def evaluate_test(
    model: PixelCP, x: torch.Tensor, y: torch.Tensor, max_loss: float, batch_size: int
) -> torch.Tensor:
    """Mean per-sample squared error, each clamped at ``max_loss``, divided by 4: (models,) on CPU."""
    total = torch.zeros(model.num_models, dtype=torch.float64, device=x.device)
    for xb, yb in zip(torch.split(x, batch_size), torch.split(y, batch_size)):
        pred = model(xb.to(model.factors.dtype))
        total += clamped_sq_error(pred, model.expand_targets(yb), max_loss).double().sum(dim=0)
    return (total / len(y) / ERROR_SCALE).cpu()
