"""Matricizations of a tensor, their spectra and ranks: the measures of P2 (and of the hierarchical
factorization's runs), for any numpy array or torch tensor."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TypeAlias

import numpy as np
import torch

from impreg.factorizations.hierarchical import ModeTree, tree_node_modes

ArrayLike: TypeAlias = "np.ndarray | torch.Tensor"


def _as_numpy(tensor: ArrayLike) -> np.ndarray:
    if isinstance(tensor, torch.Tensor):
        return tensor.detach().cpu().numpy()
    return np.asarray(tensor)


def matricization(tensor: ArrayLike, modes: Sequence[int]) -> ArrayLike:
    """Arrange ``tensor`` as a matrix: rows indexed by ``modes`` (in that order), columns by the others (ascending).

    Returns the input's type (numpy array or torch tensor).
    """
    modes = [int(m) for m in modes]
    rest = [m for m in range(tensor.ndim) if m not in modes]
    if len(set(modes)) != len(modes) or not all(0 <= m < tensor.ndim for m in modes):
        raise ValueError(f"invalid modes {modes} for an order-{tensor.ndim} tensor")
    rows = math.prod(tensor.shape[m] for m in modes)
    if isinstance(tensor, torch.Tensor):
        return tensor.permute(modes + rest).reshape(rows, -1)
    return np.transpose(tensor, modes + rest).reshape(rows, -1)


def matricization_singular_values(tensor: ArrayLike, modes: Sequence[int]) -> np.ndarray:
    """Singular values (descending, float64 numpy) of the matricization w.r.t. ``modes``."""
    return np.linalg.svd(
        matricization(_as_numpy(tensor).astype(np.float64), modes), compute_uv=False
    )


def effective_rank(singular_values: ArrayLike) -> float:
    """exp of the Shannon entropy of the singular values normalized to sum 1 (Roy & Vetterli); 0 for zero."""
    s = np.abs(_as_numpy(singular_values).astype(np.float64))
    total = s.sum()
    if total == 0:
        return 0.0
    p = s[s > 0] / total
    return float(np.exp(-(p * np.log(p)).sum()))


def thresholded_rank(singular_values: ArrayLike, rel_tol: float) -> int:
    """How many singular values exceed ``rel_tol`` times the largest (0 for a zero matrix)."""
    s = np.abs(_as_numpy(singular_values).astype(np.float64))
    if s.size == 0 or s.max() == 0:
        return 0
    return int((s > rel_tol * s.max()).sum())


def default_rel_tol(tensor: ArrayLike, modes: Sequence[int]) -> float:
    """numpy.linalg.matrix_rank's rule: max(rows, cols) times the machine epsilon of the tensor's dtype."""
    rows = math.prod(tensor.shape[m] for m in modes)
    cols = math.prod(tensor.shape) // rows
    dtype = _as_numpy(tensor.reshape(-1)[:1]).dtype
    return max(rows, cols) * float(
        np.finfo(dtype if np.issubdtype(dtype, np.floating) else np.float64).eps
    )


def hierarchical_ranks(
    tensor: ArrayLike, tree: ModeTree, rel_tol: float | None = None
) -> dict[tuple[int, ...], int]:
    """Thresholded rank of the matricization w.r.t. every non-root tree node (leaves included).

    A singular value counts when it exceeds ``rel_tol`` times the largest; ``rel_tol`` defaults
    to :func:`default_rel_tol` (numpy's matrix_rank rule) per matricization.
    """
    out = {}
    for modes in tree_node_modes(tree):
        tol = default_rel_tol(tensor, modes) if rel_tol is None else rel_tol
        out[modes] = thresholded_rank(matricization_singular_values(tensor, modes), tol)
    return out


def hierarchical_effective_ranks(tensor: ArrayLike, tree: ModeTree) -> dict[tuple[int, ...], float]:
    """Effective rank of the matricization w.r.t. every non-root tree node (leaves included)."""
    return {
        modes: effective_rank(matricization_singular_values(tensor, modes))
        for modes in tree_node_modes(tree)
    }
