"""Incremental rank learning from small initialization (P2, Figs. A and B).

Gradient descent (the papers' normalized step) fits the observed entries of a low-rank target
with one of three models:

- ``mf``: a deep matrix factorization (depth 3 in the paper); the plotted curves are the
  singular values of the end-to-end matrix;
- ``tf``: a CP tensor factorization; the curves are its component norms;
- ``htf``: a hierarchical tensor factorization; the curves are the local component norms at
  the root of the mode tree.

Every ``log_every`` iterations (a "validation" in the paper's code) a row of ``metrics.csv``
records the train MSE, the reconstruction error ||W - W*|| / ||W*|| on the full target and the
``top_k`` largest plotted values as order statistics (``top_0`` is the largest). For ``htf`` the
row also holds, per internal node, the largest local component norms (``local_0-1_0`` ...), the
largest singular values of every tracked matricization (``sv_0-1_0`` ...: the tree's nodes and
``extra_matricizations``), their thresholded ranks (``rank_0-1``: singular values above
``rank_rel_tol`` times the largest) and effective ranks (``erank_0-1``: exp of the entropy of the
normalized singular values). Mode indices are 0-based: the paper's node {1,2} is ``0-1``.

Stopping follows the paper: stop once the train MSE has stayed below ``stop_loss`` for more
than ``stop_validations`` consecutive validations, or at the cap. A non-finite loss stops the run
with status ``diverged``; spectra of a non-finite tensor are logged as NaN (an SVD of one fails),
so a diverged run still writes its metrics.csv and summary.json.

Checkpoints: a hierarchical run at paper scale takes 1-2 h (200000-iteration cap, ~4 ms per
iteration on one core), so every ``checkpoint_every`` iterations the loop overwrites
``checkpoint.pt`` in the run folder atomically (model, optimizer, stop-rule counter, rows so far),
and a rerun with the same settings and data resumes from it. On SIGTERM it finishes the current
iteration, writes the checkpoint and exits with status 143. The resumed run ends with exactly the
numbers of an uninterrupted one on CPU.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from impreg.data.synthetic import CompletionData
from impreg.experiments.incremental_rank import MODELS, IncrementalRankConfig  # noqa: F401 (the plug-in's config)
from impreg.factorizations.cp import CPFactorization
from impreg.factorizations.hierarchical import (
    HierarchicalTensorFactorization,
    mode_tree,
    tree_node_modes,
)
from impreg.factorizations.matrix import DeepMatrixFactorization
from impreg.optim import NormalizedGradRMSprop
from impreg.tensor_ranks import effective_rank, matricization_singular_values, thresholded_rank
from impreg.train.common import (
    DTYPES,
    resolve_device,
)
from impreg.train.harness import Loop, LoopState, UnitContext, run_loop
from impreg.train.reliability import data_digest, fingerprint
from impreg.train.tf_dynamics import max_cp_rank

CHECKPOINT_FORMAT = 1
# kernels of this loop's backward pass that accumulate with atomic adds on CUDA (summary.json's determinism)
ATOMIC_OPS = "the backward passes of the observed-entry gathers (index_put / index_add)"
TOP_QUANTITY = {
    "mf": "singular values of the end-to-end matrix",
    "tf": "component norms",
    "htf": "local component norms at the root",
}


def modes_key(modes) -> str:
    """Column spelling of a mode set: (0, 1) -> '0-1'."""
    return "-".join(str(int(m)) for m in modes)


def parse_matricizations(spec: str) -> list[tuple[int, ...]]:
    """'0-2;1-3' -> [(0, 2), (1, 3)]; empty -> []."""
    out = []
    for part in filter(None, (p.strip() for p in spec.split(";"))):
        try:
            out.append(tuple(sorted(int(m) for m in part.split("-"))))
        except ValueError as err:
            raise ValueError(
                f"bad matricization '{part}' in '{spec}' (expected modes like 0-2)"
            ) from err
    return out


def build_model(
    cfg: IncrementalRankConfig,
    dims: tuple[int, ...],
    generator: torch.Generator,
    dtype: torch.dtype,
) -> torch.nn.Module:
    if cfg.model == "mf":
        if len(dims) != 2:
            raise ValueError(f"model mf needs a matrix target, got shape {dims}")
        return DeepMatrixFactorization(
            dims,
            cfg.depth,
            cfg.init_std,
            hidden_width=cfg.mf_width or None,
            generator=generator,
            dtype=dtype,
        )
    if cfg.model == "tf":
        return CPFactorization(
            dims,
            cfg.num_components or max_cp_rank(dims),
            cfg.init_std,
            generator=generator,
            dtype=dtype,
        )
    if cfg.model == "htf":
        tree = mode_tree(len(dims), 2, cfg.pool_pattern)
        return HierarchicalTensorFactorization(
            dims, cfg.htf_width, cfg.init_std, tree=tree, generator=generator, dtype=dtype
        )
    raise ValueError(f"unknown model '{cfg.model}' (expected one of {MODELS})")


def singular_values(tensor: torch.Tensor | np.ndarray, modes: tuple[int, ...]) -> np.ndarray:
    """Singular values of a matricization, all NaN when the tensor is not finite: a diverged run's
    last row and summary then say NaN instead of the SVD failing (LAPACK cannot take NaN or inf)."""
    array = (
        tensor.detach().cpu().numpy() if isinstance(tensor, torch.Tensor) else np.asarray(tensor)
    )
    if np.isfinite(array).all():
        return matricization_singular_values(array, modes)
    rows = math.prod(array.shape[m] for m in modes)
    return np.full(min(rows, array.size // rows), np.nan)


class _Tracker:
    """Computes one metrics row from the model (at logged iterations only)."""

    def __init__(
        self, cfg: IncrementalRankConfig, model: torch.nn.Module, target: torch.Tensor
    ) -> None:
        self.cfg, self.model, self.target = cfg, model, target
        self.target_norm = target.norm()
        self.matricizations: list[tuple[int, ...]] = []
        if cfg.model == "htf":
            # every non-root node, leaves included: the hierarchical rank
            in_tree = tree_node_modes(model.tree)
            extra = [m for m in parse_matricizations(cfg.extra_matricizations) if m not in in_tree]
            for m in extra:
                if not m or max(m) >= model.order or len(m) >= model.order:
                    raise ValueError(
                        f"matricization {m} is invalid for an order-{model.order} tensor"
                    )
            self.matricizations = in_tree + extra

    def full(self) -> torch.Tensor:
        m = self.model
        return m.full_matrix() if self.cfg.model == "mf" else m.full_tensor()

    def top(self, values: torch.Tensor | np.ndarray, prefix: str) -> dict[str, float]:
        v = np.sort(
            np.asarray(
                values.detach().cpu().numpy() if isinstance(values, torch.Tensor) else values,
                dtype=np.float64,
            )
        )[::-1]
        k = min(self.cfg.top_k, v.size)
        return {f"{prefix}{j}": float(v[j]) for j in range(k)}

    @torch.no_grad()
    def row(self, iteration: int, loss_value: float) -> dict:
        full = self.full()
        row = {
            "iteration": iteration,
            "train_loss": loss_value,
            "reconstruction_error": float((full - self.target).norm() / self.target_norm),
        }
        if self.cfg.model == "mf":
            row.update(self.top(singular_values(full, (0,)), "top_"))
        elif self.cfg.model == "tf":
            row.update(self.top(self.model.component_norms(), "top_"))
        else:
            local = self.model.local_component_norms()
            root = self.model.nodes[-1].modes
            row.update(self.top(local[root], "top_"))
            for modes, norms in local.items():
                row.update(self.top(norms, f"local_{modes_key(modes)}_"))
            for modes in self.matricizations:
                sv = singular_values(full, modes)
                key = modes_key(modes)
                row.update(self.top(sv, f"sv_{key}_"))
                row[f"rank_{key}"] = thresholded_rank(sv, self.cfg.rank_rel_tol)
                row[f"erank_{key}"] = effective_rank(sv)
        return row


def data_fingerprint(data: CompletionData) -> str:
    """Digest of the arrays a run trains on: a checkpoint of other data is never resumed."""
    return data_digest(data.target, data.indices, data.values, meta=data.meta)


def run(
    cfg: IncrementalRankConfig,
    data: CompletionData,
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
    if cfg.model not in MODELS:
        raise ValueError(f"unknown model '{cfg.model}' (expected one of {MODELS})")
    device = resolve_device(cfg.device)
    dtype = DTYPES[cfg.dtype]
    dims = tuple(int(d) for d in data.target.shape)
    generator = torch.Generator().manual_seed(cfg.seed)
    model = build_model(cfg, dims, generator, dtype).to(device)
    optimizer = NormalizedGradRMSprop(model.parameters(), lr=cfg.lr, alpha=cfg.alpha, eps=cfg.eps)
    target = torch.as_tensor(data.target, dtype=dtype, device=device)
    values = torch.as_tensor(data.values, dtype=dtype, device=device)
    predict = _observed_entries(cfg, model, data, device)
    tracker = _Tracker(cfg, model, target)

    def advance(unit: UnitContext) -> str | None:
        """One iteration: the train MSE, the stop rule (at validations), the logged row and the step."""
        state = unit.state
        optimizer.zero_grad(set_to_none=True)
        loss = (predict() - values).pow(2).mean()
        loss_value = loss.item()
        diverged = not math.isfinite(loss_value)
        validation = state.position % cfg.log_every == 0
        if validation:
            state.counters["below"] = (
                state.counters["below"] + 1 if loss_value < cfg.stop_loss else 0
            )
        converged = state.counters["below"] > cfg.stop_validations
        done = diverged or converged or state.position >= cfg.max_iterations
        if validation or done:
            state.rows.append(tracker.row(state.position, loss_value))
            unit.progress.set_postfix(loss=f"{loss_value:.3e}", refresh=False)
        if done:
            return "diverged" if diverged else ("converged" if converged else "max_iterations")
        loss.backward()
        optimizer.step()
        state.position += 1
        return None

    def summary(state: LoopState, status: str) -> dict:
        final = state.rows[-1]
        out = dict(
            top_quantity=TOP_QUANTITY[cfg.model],
            diverged_at_iteration=state.position if status == "diverged" else None,
            dims=list(dims),
            num_parameters=sum(p.numel() for p in model.parameters()),
            final_train_loss=final["train_loss"],
            final_reconstruction_error=final["reconstruction_error"],
            final_top=[final[f"top_{k}"] for k in range(cfg.top_k) if f"top_{k}" in final],
            data=data.meta,
        )
        return out | _target_and_final_spectra(cfg, model, data.target, tracker)

    loop = Loop(
        experiment="incremental_rank",
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
        atomic_ops=ATOMIC_OPS,
        desc=f"incremental_rank {cfg.model} init {cfg.init_std:g}",
    )
    return run_loop(
        loop, cfg, out_dir, resume=resume, log=log, on_unit=on_unit, stop_after=stop_after
    )


def _observed_entries(
    cfg: IncrementalRankConfig, model: torch.nn.Module, data: CompletionData, device: torch.device
) -> Callable[[], torch.Tensor]:
    """The model's values at the observed entries, the cheapest way for each model."""
    if cfg.model == "htf":
        plan = model.entry_plan(torch.as_tensor(data.indices, device=device).long())
        return lambda: model.gather_entries(plan)
    flat = torch.as_tensor(data.flat_indices, device=device).long()
    if cfg.model == "mf":
        return lambda: model.full_matrix().reshape(-1)[flat]
    return lambda: model.full_tensor().reshape(-1)[flat]


def _split_modes(cfg: IncrementalRankConfig, model: torch.nn.Module) -> tuple[int, ...]:
    """The matricization whose rank the plotted curves count: the matrix itself (mf), mode 0 (tf:
    a CP-rank-r tensor has rank r there), the root's first child (htf: the root's components)."""
    if cfg.model == "htf":
        root = model.nodes[-1]
        return model.nodes[root.children[0]].modes
    return (0,)


@torch.no_grad()
def _target_and_final_spectra(
    cfg: IncrementalRankConfig, model: torch.nn.Module, target: np.ndarray, tracker: _Tracker
) -> dict:
    """Singular values of the target (and, for htf, of the learned tensor) for the notebooks' claims."""
    split = _split_modes(cfg, model)
    sv = matricization_singular_values(target, split)
    out = {
        "target_split_modes": modes_key(split),
        "target_singular_values": sv[: max(cfg.top_k, 1)].tolist(),
    }
    if cfg.model == "htf":
        full = tracker.full().detach().cpu().numpy()
        out["tree"] = repr(model.tree)
        out["matricizations"] = [modes_key(m) for m in tracker.matricizations]
        out["rank_rel_tol"] = cfg.rank_rel_tol
        out["target_matricization_singular_values"] = {
            modes_key(m): matricization_singular_values(target, m).tolist()
            for m in tracker.matricizations
        }
        out["final_matricization_singular_values"] = {
            modes_key(m): singular_values(full, m).tolist() for m in tracker.matricizations
        }
        out["target_ranks"] = {
            k: thresholded_rank(np.array(v), cfg.rank_rel_tol)
            for k, v in out["target_matricization_singular_values"].items()
        }
        out["final_ranks"] = {
            k: thresholded_rank(np.array(v), cfg.rank_rel_tol)
            for k, v in out["final_matricization_singular_values"].items()
        }
    return out
