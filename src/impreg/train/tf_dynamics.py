"""Gradient descent dynamics of a CP factorization on tensor completion (P1, Figure 3) and,
for the appendix variants, on tensor sensing (Gaussian measurement tensors).

Full batch: each iteration builds the whole tensor, picks the observed entries (or takes the
inner products with the measurement tensors) and takes one normalized-gradient step. Every
``log_every`` iterations it records the train loss, the reconstruction error and the largest
component norms (as order statistics).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from impreg.data.synthetic import CompletionData, SensingData
from impreg.factorizations.cp import CPFactorization
from impreg.optim import NormalizedGradRMSprop
from impreg.train.common import (
    DTYPES,
    device_description,
    resolve_device,
    write_metrics_csv,
    write_summary,
)


@dataclass
class TFDynamicsConfig:
    """Settings of one tensor-factorization dynamics run."""

    init_std: float = 0.005  # std of the N(0, std^2) factor entries
    num_components: int = 0  # R; 0 = the maximal possible rank (product of all dims but the largest)
    loss: str = "l2"  # l2 (mean squared error) or huber
    huber_delta: float = 1.0  # Huber threshold (torch's smooth-L1 beta) when loss = huber
    lr: float = 1e-2
    alpha: float = 0.99
    eps: float = 1e-6
    stop_loss: float = 1e-8  # stop once the train loss stays below this ...
    stop_patience: int = 1275  # ... for more than this many iterations
    max_iterations: int = 100_000
    log_every: int = 25
    top_k: int = 10
    seed: int = 0  # seeds the initialization
    device: str = "auto"
    dtype: str = "float32"


def max_cp_rank(dims: tuple[int, ...]) -> int:
    """The product of all mode sizes but the largest: enough components for any tensor."""
    return math.prod(sorted(dims)[:-1])


def completion_loss_and_grad(
    full: torch.Tensor, mask: torch.Tensor, observed: torch.Tensor, count: int, loss: str, huber_delta: float
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
        value = torch.where(small, 0.5 * resid.pow(2) / huber_delta, resid.abs() - 0.5 * huber_delta)
        grad = torch.where(small, resid / huber_delta, resid.sign())
        return torch.where(mask, value, 0.0).sum() / count, torch.where(mask, grad, 0.0) / count
    raise ValueError(f"unknown loss '{loss}' (expected l2 or huber)")


def sensing_loss_and_grad(
    full: torch.Tensor, measurements: torch.Tensor, values: torch.Tensor, loss: str, huber_delta: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Tensor sensing: mean loss of the predictions <X_i, W> against ``values`` and its gradient
    with respect to the full tensor W. ``measurements`` holds the X_i flattened, (n, numel)."""
    count = values.numel()
    resid = measurements @ full.reshape(-1) - values
    if loss == "l2":
        value, dresid = resid.pow(2).sum() / count, resid * (2.0 / count)
    elif loss == "huber":  # torch's smooth L1 with beta = huber_delta
        small = resid.abs() < huber_delta
        value = torch.where(small, 0.5 * resid.pow(2) / huber_delta, resid.abs() - 0.5 * huber_delta).sum() / count
        dresid = torch.where(small, resid / huber_delta, resid.sign()) / count
    else:
        raise ValueError(f"unknown loss '{loss}' (expected l2 or huber)")
    return value, (dresid @ measurements).reshape(full.shape)


def run(cfg: TFDynamicsConfig, data: CompletionData | SensingData, out_dir: str | Path) -> dict:
    """Train to the stopping rule; write metrics.csv and summary.json into ``out_dir``."""
    out_dir = Path(out_dir)
    device = resolve_device(cfg.device)
    dtype = DTYPES[cfg.dtype]
    dims = tuple(data.target.shape)
    num_components = cfg.num_components or max_cp_rank(dims)

    generator = torch.Generator().manual_seed(cfg.seed)
    model = CPFactorization(dims, num_components, cfg.init_std, generator=generator, dtype=dtype).to(device)
    optimizer = NormalizedGradRMSprop(model.parameters(), lr=cfg.lr, alpha=cfg.alpha, eps=cfg.eps)
    if cfg.loss not in ("l2", "huber"):
        raise ValueError(f"unknown loss '{cfg.loss}' (expected l2 or huber)")

    target = torch.as_tensor(data.target, dtype=dtype, device=device)
    target_norm = target.norm()
    sensing = isinstance(data, SensingData)  # Gaussian measurement tensors instead of observed entries
    if sensing:
        measurements = torch.as_tensor(data.measurements.reshape(len(data.values), -1), dtype=dtype, device=device)
        values = torch.as_tensor(data.values, dtype=dtype, device=device)
    else:
        obs = torch.as_tensor(data.flat_indices, device=device)
        mask = torch.zeros(target.numel(), dtype=torch.bool, device=device)
        mask[obs] = True
        mask = mask.reshape(dims)
        observed = torch.where(mask, target, 0.0)

    rows: list[dict] = []
    below = 0  # consecutive iterations with loss < stop_loss
    status = "max_iterations"
    start = time.perf_counter()
    progress = tqdm(total=cfg.max_iterations, desc=f"tf_dynamics init {cfg.init_std:g}", mininterval=5,
                    unit="it", dynamic_ncols=False)
    iteration = 0
    while True:
        with torch.no_grad():
            halves = model.halves()
            full = (halves[0] @ halves[1].T).reshape(dims)
        if sensing:
            loss, grad_full = sensing_loss_and_grad(full, measurements, values, cfg.loss, cfg.huber_delta)
        else:
            loss, grad_full = completion_loss_and_grad(full, mask, observed, len(obs), cfg.loss, cfg.huber_delta)
        loss_value = loss.item()
        below = below + 1 if loss_value < cfg.stop_loss else 0
        diverged = not math.isfinite(loss_value)
        done = diverged or below > cfg.stop_patience or iteration >= cfg.max_iterations
        if iteration % cfg.log_every == 0 or done:
            rows.append(_log_row(iteration, loss_value, full, target, target_norm, model, cfg.top_k))
            progress.set_postfix(loss=f"{loss_value:.3e}", refresh=False)
        if done:
            status = "diverged" if diverged else ("converged" if below > cfg.stop_patience else "max_iterations")
            break
        optimizer.zero_grad(set_to_none=True)
        model.backward_from_tensor_grad(grad_full, halves)
        optimizer.step()
        iteration += 1
        progress.update(1)
    progress.close()
    wall = time.perf_counter() - start

    write_metrics_csv(out_dir / "metrics.csv", rows)
    final = rows[-1]
    summary = dict(
        experiment="tf_dynamics", status=status, iterations=iteration, wall_seconds=round(wall, 3),
        iterations_per_second=round(iteration / wall, 1) if wall > 0 else None,
        device=device_description(device), seed=cfg.seed, num_components=num_components, dims=list(dims),
        final_train_loss=final["train_loss"], final_reconstruction_error=final["reconstruction_error"],
        final_top_component_norms=[final[f"top_component_{k}"] for k in range(min(cfg.top_k, num_components))],
        data=data.meta,
    )
    write_summary(out_dir / "summary.json", cfg, **summary)
    return summary


def _log_row(iteration, loss_value, full, target, target_norm, model, top_k) -> dict:
    norms = model.component_norms()
    top = torch.topk(norms, min(top_k, norms.numel())).values.tolist()
    row = {"iteration": iteration, "train_loss": loss_value,
           "reconstruction_error": float((full - target).norm() / target_norm)}
    row.update({f"top_component_{k}": v for k, v in enumerate(top)})
    return row
