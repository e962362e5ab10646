"""Gradient descent dynamics of a CP factorization on tensor completion (P1, Figure 3) and,
for the appendix variants, on tensor sensing (Gaussian measurement tensors).

Full batch: each iteration builds the whole tensor, picks the observed entries (or takes the
inner products with the measurement tensors) and takes one normalized-gradient step. Every
``log_every`` iterations it records the train loss, the reconstruction error and the largest
component norms (as order statistics). A non-finite loss stops the run with status
``diverged`` (its last row holds the non-finite values), never an exception.

Checkpoints. A Figure 3 completion run at paper scale takes 10-50 s and at most about 3.5 min
(the 100000-iteration cap at ~490 iterations per second on one core, float64), which alone
would not need resuming. The appendix's tensor-sensing runs use the same loop and are ~50x
slower per iteration (2000 dense 10^4 measurement tensors: ~9 ms per iteration on one core, so
~3 min for a typical run and ~15 min at the cap), so the loop checkpoints: every
``checkpoint_every`` iterations (default 5000: ~10 s of a completion run, ~45 s of a sensing
run) it overwrites ``checkpoint.pt`` in the run folder atomically (model, optimizer, stop-rule
counter and the rows so far; a few hundred KB), and a rerun with the same settings and data
resumes from it. On SIGTERM it finishes the current iteration, writes the checkpoint and exits
with status 143. The resumed run ends with exactly the numbers of an uninterrupted one on CPU.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from impreg.data.synthetic import CompletionData, SensingData
from impreg.experiments.tf_dynamics import LOSSES, TFDynamicsConfig  # noqa: F401 (the plug-in's config)
from impreg.factorizations.cp import CPFactorization
from impreg.optim import NormalizedGradRMSprop
from impreg.tensor_ranks import matricization_singular_values
from impreg.train.common import (
    DTYPES,
    resolve_device,
)
from impreg.train.harness import Loop, LoopState, UnitContext, run_loop
from impreg.train.reliability import data_digest, fingerprint

# 2: one initial draw per (seed, init) (format 1 rescaled one draw per seed); 3: rows log the
# components' indices, and a float32 run starts from the float64 draw
CHECKPOINT_FORMAT = 3


def init_seed(seed: int, init_std: float) -> int:
    """The generator seed of the initial factors: one independent N(0, 1) draw per (seed, init).

    The paper's runs at different inits are independent. Rescaling one draw per seed would make the
    small inits of a seed start from the same direction and reach the same tensor, so that an order
    between their final errors would be decided by rounding.
    """
    bits = struct.unpack("<q", struct.pack("<d", float(init_std)))[0]  # exact, whatever the float
    return int(
        np.random.SeedSequence([seed, bits & (2**63 - 1)]).generate_state(1, np.uint64)[0] >> 1
    )


def initial_model(
    dims: tuple[int, ...], num_components: int, init_std: float, seed: int
) -> CPFactorization:
    """The factorization a run starts from, drawn in float64 whatever the run's dtype: a float32 run
    starts from the float64 run's factors, rounded, so that the two differ in their arithmetic only."""
    generator = torch.Generator().manual_seed(init_seed(seed, init_std))
    return CPFactorization(dims, num_components, init_std, generator=generator, dtype=torch.float64)


def max_cp_rank(dims: tuple[int, ...]) -> int:
    """The product of all mode sizes but the largest: enough components for any tensor."""
    return math.prod(sorted(dims)[:-1])


def completion_loss_and_grad(
    full: torch.Tensor,
    mask: torch.Tensor,
    observed: torch.Tensor,
    count: int,
    loss: str,
    huber_delta: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean loss over the observed entries and its gradient with respect to the full tensor.

    ``mask`` marks the observed entries and ``observed`` holds their values (zero elsewhere).
    Written out instead of autograd so that the factors' backward is two matrix products.
    """
    resid = torch.where(mask, full - observed, 0.0)
    if loss == "l2":
        return resid.pow(2).sum() / count, resid * (2.0 / count)
    if loss == "huber":  # torch's smooth L1 with beta = huber_delta
        small = resid.abs() < huber_delta
        value = torch.where(
            small, 0.5 * resid.pow(2) / huber_delta, resid.abs() - 0.5 * huber_delta
        )
        grad = torch.where(small, resid / huber_delta, resid.sign())
        return torch.where(mask, value, 0.0).sum() / count, torch.where(mask, grad, 0.0) / count
    raise ValueError(f"unknown loss '{loss}' (expected l2 or huber)")


def sensing_loss_and_grad(
    full: torch.Tensor,
    measurements: torch.Tensor,
    values: torch.Tensor,
    loss: str,
    huber_delta: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Tensor sensing: mean loss of the predictions <X_i, W> against ``values`` and its gradient
    with respect to the full tensor W. ``measurements`` holds the X_i flattened, (n, numel)."""
    count = values.numel()
    resid = measurements @ full.reshape(-1) - values
    if loss == "l2":
        value, dresid = resid.pow(2).sum() / count, resid * (2.0 / count)
    elif loss == "huber":  # torch's smooth L1 with beta = huber_delta
        small = resid.abs() < huber_delta
        value = (
            torch.where(
                small, 0.5 * resid.pow(2) / huber_delta, resid.abs() - 0.5 * huber_delta
            ).sum()
            / count
        )
        dresid = torch.where(small, resid / huber_delta, resid.sign()) / count
    else:
        raise ValueError(f"unknown loss '{loss}' (expected l2 or huber)")
    return value, (dresid @ measurements).reshape(full.shape)


def data_fingerprint(data: CompletionData | SensingData) -> str:
    """Digest of the arrays a run trains on: a checkpoint of other data is never resumed."""
    if isinstance(data, SensingData):
        return data_digest(data.target, data.measurements, data.values, meta=data.meta)
    return data_digest(data.target, data.indices, data.values, meta=data.meta)


def run(
    cfg: TFDynamicsConfig,
    data: CompletionData | SensingData,
    out_dir: str | Path,
    resume: bool = True,
    on_unit: Callable[[int], None] | None = None,
    stop_after: int | None = None,
    log: Callable[[str], None] = print,
) -> dict:
    """Train to the stopping rule; write metrics.csv and summary.json (and checkpoint.pt) into ``out_dir``.

    With ``resume``, a ``checkpoint.pt`` of the same settings and data is continued; ``on_unit`` and
    ``stop_after`` are the harness's (``harness.run_loop``: tests interrupt a run with them).
    On SIGTERM the run checkpoints and raises ``Terminated`` (exit status 143).
    """
    device = resolve_device(cfg.device)
    dtype = DTYPES[cfg.dtype]
    dims = tuple(data.target.shape)
    num_components = cfg.num_components or max_cp_rank(dims)

    model = initial_model(dims, num_components, cfg.init_std, cfg.seed).to(
        device=device, dtype=dtype
    )
    optimizer = NormalizedGradRMSprop(model.parameters(), lr=cfg.lr, alpha=cfg.alpha, eps=cfg.eps)
    target = torch.as_tensor(data.target, dtype=dtype, device=device)
    target_norm = target.norm()
    loss_and_grad = _loss_function(cfg, data, target, device, dtype)

    def advance(unit: UnitContext) -> str | None:
        """One iteration: the full tensor's loss, the stop rule, the logged row and the step."""
        state = unit.state
        with torch.no_grad():
            halves = model.halves()
            full = (halves[0] @ halves[1].T).reshape(dims)
        loss, grad_full = loss_and_grad(full)
        loss_value = loss.item()
        below = state.counters["below"] = (
            state.counters["below"] + 1 if loss_value < cfg.stop_loss else 0
        )
        diverged = not math.isfinite(loss_value)
        done = diverged or below > cfg.stop_patience or state.position >= cfg.max_iterations
        if state.position % cfg.log_every == 0 or done:
            state.rows.append(
                _log_row(state.position, loss_value, full, target, target_norm, model, cfg.top_k)
            )
            unit.progress.set_postfix(loss=f"{loss_value:.3e}", refresh=False)
        if done:
            return (
                "diverged"
                if diverged
                else ("converged" if below > cfg.stop_patience else "max_iterations")
            )
        optimizer.zero_grad(set_to_none=True)
        model.backward_from_tensor_grad(grad_full, halves)
        optimizer.step()
        state.position += 1
        return None

    def summary(state: LoopState, status: str) -> dict:
        final = state.rows[-1]
        return dict(
            diverged_at_iteration=state.position if status == "diverged" else None,
            num_components=num_components,
            dims=list(dims),
            final_train_loss=final["train_loss"],
            final_reconstruction_error=final["reconstruction_error"],
            final_top_component_norms=[
                final[f"top_component_{k}"] for k in range(min(cfg.top_k, num_components))
            ],
            final_components=model.top_components(cfg.top_k),
            target_singular_values=matricization_singular_values(data.target, [0]).tolist(),
            data=data.meta,
        )

    loop = Loop(
        experiment="tf_dynamics",
        unit="iteration",
        total=cfg.max_iterations,
        checkpoint_format=CHECKPOINT_FORMAT,
        fingerprint=fingerprint(cfg, data_fingerprint(data)),
        saved={"model": model, "optimizer": optimizer},
        advance=advance,
        summary=summary,
        device=device,
        counters={"below": 0},
        checkpoint_every=cfg.checkpoint_every,
        desc=f"tf_dynamics init {cfg.init_std:g}",
    )
    return run_loop(
        loop, cfg, out_dir, resume=resume, log=log, on_unit=on_unit, stop_after=stop_after
    )


def _loss_function(
    cfg: TFDynamicsConfig,
    data: CompletionData | SensingData,
    target: torch.Tensor,
    device: torch.device,
    dtype: torch.dtype,
) -> Callable:
    """The full tensor's loss and its gradient: against the observed entries (completion) or the
    Gaussian measurement tensors (sensing)."""
    if isinstance(data, SensingData):
        measurements = torch.as_tensor(
            data.measurements.reshape(len(data.values), -1), dtype=dtype, device=device
        )
        values = torch.as_tensor(data.values, dtype=dtype, device=device)
        return lambda full: sensing_loss_and_grad(
            full, measurements, values, cfg.loss, cfg.huber_delta
        )
    obs = torch.as_tensor(data.flat_indices, device=device)
    mask = torch.zeros(target.numel(), dtype=torch.bool, device=device)
    mask[obs] = True
    mask = mask.reshape(target.shape)
    observed = torch.where(mask, target, 0.0)
    return lambda full: completion_loss_and_grad(
        full, mask, observed, len(obs), cfg.loss, cfg.huber_delta
    )


def _log_row(iteration, loss_value, full, target, target_norm, model, top_k) -> dict:
    """The logged metrics; the largest norms as order statistics, with which component holds each
    (``top_index_<k>``), so that a component's curve can be followed while it is among them."""
    norms = model.component_norms()
    top = torch.topk(norms, min(top_k, norms.numel()))
    row = {
        "iteration": iteration,
        "train_loss": loss_value,
        "reconstruction_error": float((full - target).norm() / target_norm),
    }
    row.update({f"top_component_{k}": v for k, v in enumerate(top.values.tolist())})
    row.update({f"top_index_{k}": i for k, i in enumerate(top.indices.tolist())})
    return row
