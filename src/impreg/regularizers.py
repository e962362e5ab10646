"""The separation-rank regularizer of the paper (spec 2.4) and the patch boxes it acts on.

If ``f(x) = g(x_I) h(x_J)`` (separation rank 1 across patches I, J), the input gradient on I keeps
its direction when x_J changes. The penalty is the mean ``|cos|`` between the gradients on I before
and after x_J is swapped with the next sample's; minimizing it pushes f towards interactions
between I and J, against the locality that low hierarchical tensor rank implies.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from torch import nn


class Box(NamedTuple):
    """An integer pixel rectangle: top row, left column, height, width."""

    row: int
    col: int
    height: int
    width: int

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.row, self.row + self.height), slice(self.col, self.col + self.width)

    def gap(self, other: Box) -> int:
        """Pixels strictly between the two boxes along the axis that separates them most; < 0 if they overlap."""
        row_gap = max(other.row - (self.row + self.height), self.row - (other.row + other.height))
        col_gap = max(other.col - (self.col + self.width), self.col - (other.col + other.width))
        return max(row_gap, col_gap)


class PenaltyOutput(NamedTuple):
    penalty: torch.Tensor  # scalar, differentiable w.r.t. the model's parameters
    logits: torch.Tensor  # the model's output on the unmodified batch, for the task loss


def swap_patch(x: torch.Tensor, box: Box) -> torch.Tensor:
    """``x`` with patch ``box`` of sample b replaced by that of sample b + 1 (cyclically)."""
    rows, cols = box.slices
    out = x.clone()
    out[..., rows, cols] = torch.roll(x[..., rows, cols], shifts=-1, dims=0)
    return out


def _input_gradient(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits and d(sum of logits)/dx, kept in the graph so that the penalty can be back-propagated."""
    x = x.detach().requires_grad_(True)
    logits = model(x)
    (grad,) = torch.autograd.grad(logits.sum(), x, create_graph=True)
    return logits, grad


def abs_cosine(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-sample ``|cos|`` between flattened rows, in float64: input gradients can be so small that
    float32 norms underflow, and torch's cosine_similarity eps would then bias it towards 0."""
    a, b = a.flatten(1).double(), b.flatten(1).double()
    denom = (a.norm(dim=1) * b.norm(dim=1)).clamp_min(torch.finfo(torch.float64).tiny)
    return ((a * b).sum(dim=1) / denom).abs()


def separation_penalty(model: nn.Module, x: torch.Tensor, box_i: Box, box_j: Box) -> PenaltyOutput:
    """Mean over the batch of |cos(grad_I f(x), grad_I f(x'))|, x' = x with patch J from the next sample.

    Two forward passes in the model's current mode (in train mode BatchNorm statistics update twice,
    as in the original). Add ``lam * penalty`` to the loss computed on ``logits`` and call backward:
    that back-propagates through both input gradients (double backprop).
    """
    if len(x) < 2:
        raise ValueError("the penalty swaps patches between samples: it needs a batch of at least 2")
    logits, grad = _input_gradient(model, x)
    _, grad_swapped = _input_gradient(model, swap_patch(x.detach(), box_j))
    rows, cols = box_i.slices
    cos = abs_cosine(grad[..., rows, cols], grad_swapped[..., rows, cols])
    return PenaltyOutput(penalty=cos.mean().to(torch.float32), logits=logits)


def sample_patch_pair(
    height: int,
    width: int,
    patch_size: int,
    rng: np.random.Generator,
    min_distance: int = 0,
    max_distance: int | None = None,
    tries: int = 100,
) -> tuple[Box, Box]:
    """A uniformly placed square I and a uniform non-overlapping square J with ``Box.gap`` in
    [min_distance, max_distance] (Pathfinder's boxes; integers, unlike the original's float slices)."""
    p = int(patch_size)
    if not 1 <= p <= min(height, width):
        raise ValueError(f"patch_size {patch_size} must be in 1..{min(height, width)}")
    if min_distance < 0 or (max_distance is not None and max_distance < min_distance):
        raise ValueError(f"need 0 <= min_distance <= max_distance, got {min_distance}, {max_distance}")
    rows = np.arange(height - p + 1)[:, None]
    cols = np.arange(width - p + 1)[None, :]
    for _ in range(tries):
        r, c = int(rng.integers(height - p + 1)), int(rng.integers(width - p + 1))
        gap = np.maximum(np.maximum(rows - (r + p), r - (rows + p)), np.maximum(cols - (c + p), c - (cols + p)))
        ok = gap >= min_distance
        if max_distance is not None:
            ok &= gap <= max_distance
        candidates = np.flatnonzero(ok)
        if len(candidates):
            jr, jc = divmod(int(rng.choice(candidates)), width - p + 1)
            return Box(r, c, p, p), Box(jr, jc, p, p)
    raise ValueError(f"no {p}x{p} patch pair at distance {min_distance}..{max_distance} fits a "
                     f"{height}x{width} image")


def choose_patch_order(boxes: tuple[Box, Box], rng: np.random.Generator) -> tuple[Box, Box]:
    """Is Same Class: I is one of the two image locations, uniformly, and J the other."""
    return boxes if rng.random() < 0.5 else (boxes[1], boxes[0])
