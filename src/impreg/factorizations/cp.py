"""CP (tensor rank) factorization: W = sum_r w_r^1 (x) ... (x) w_r^N."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


def khatri_rao(mats: Sequence[torch.Tensor]) -> torch.Tensor:
    """Column-wise Kronecker product of (d_n, R) matrices -> (prod d_n, R), first mode slowest."""
    out = mats[0]
    for m in mats[1:]:
        out = (out[:, None, :] * m[None, :, :]).reshape(-1, m.shape[1])
    return out


def khatri_rao_backward(grad: torch.Tensor, mats: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """Gradients w.r.t. each of ``mats`` given the gradient w.r.t. their Khatri-Rao product.

    For mode k: multiply the (d_0, ..., d_{K-1}, R) gradient by the Khatri-Rao product of the
    other modes (broadcast over mode k) and sum those modes out. On CPU this broadcast
    multiply-sum is several times faster than the equivalent einsum at these shapes.
    """
    if len(mats) == 1:
        return [grad]
    dims = [m.shape[0] for m in mats]
    g = grad.reshape(*dims, grad.shape[1])
    grads = []
    for k in range(len(mats)):
        others = khatri_rao([m for j, m in enumerate(mats) if j != k])
        others = others.reshape(*(1 if j == k else d for j, d in enumerate(dims)), grad.shape[1])
        grads.append((g * others).sum(dim=[j for j in range(len(mats)) if j != k]))
    return grads


class CPFactorization(nn.Module):
    """A CP factorization with ``num_components`` rank-one terms over modes of sizes ``dims``.

    Factors are stored per mode as (d_n, R) matrices, entries i.i.d. N(0, init_std^2).
    The full tensor is built as one matrix product of two Khatri-Rao products (modes split
    in half), which for the small mode sizes here is far cheaper than gathering factor rows
    for every observed entry.
    """

    def __init__(
        self,
        dims: Sequence[int],
        num_components: int,
        init_std: float,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        self.dims = tuple(int(d) for d in dims)
        self.num_components = int(num_components)
        self.factors = nn.ParameterList(
            nn.Parameter(
                torch.randn(d, self.num_components, generator=generator, dtype=dtype) * init_std
            )
            for d in self.dims
        )

    @property
    def order(self) -> int:
        return len(self.dims)

    def halves(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Khatri-Rao products of the first and the second half of the modes: the full tensor,
        matricized with the first half as rows, is ``left @ right.T``."""
        if self.order < 2:
            raise ValueError("halves() needs an order of at least 2")
        # slicing a ParameterList builds a module: slow
        factors, half = (
            list(self.factors),
            self.order // 2,
        )
        return khatri_rao(factors[:half]), khatri_rao(factors[half:])

    def full_tensor(self) -> torch.Tensor:
        """The represented tensor, shape ``dims``."""
        if self.order == 1:
            return self.factors[0].sum(dim=1)
        left, right = self.halves()
        return (left @ right.T).reshape(self.dims)

    @torch.no_grad()
    def backward_from_tensor_grad(
        self, grad_tensor: torch.Tensor, halves: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> None:
        """Accumulate into the factors' ``.grad`` the gradient of a loss whose gradient with
        respect to the full tensor is ``grad_tensor``; ``halves`` may pass the forward's ``halves()``.

        This is the backward of ``full_tensor`` written out: two matrix products and the
        Khatri-Rao backward, without autograd's bookkeeping (about twice as fast here).
        """
        left, right = halves if halves is not None else self.halves()
        factors, half = list(self.factors), self.order // 2
        g = grad_tensor.reshape(left.shape[0], right.shape[0])
        grads = khatri_rao_backward(g @ right, factors[:half]) + khatri_rao_backward(
            g.T @ left, factors[half:]
        )
        for p, gp in zip(self.factors, grads):
            p.grad = gp if p.grad is None else p.grad + gp

    def gather_entries(self, indices: torch.Tensor) -> torch.Tensor:
        """Entries at ``indices`` (n, N) computed per observation from factor rows (no full tensor)."""
        prod = self.factors[0][indices[:, 0]]
        for n in range(1, self.order):
            prod = prod * self.factors[n][indices[:, n]]
        return prod.sum(dim=1)

    @torch.no_grad()
    def top_components(self, k: int) -> dict[str, list]:
        """The ``k`` largest components (by norm, largest first) as plain lists: their ``index``, their
        ``norm`` and their unit factor columns (``factors``: per mode a (d_n, k) nested list)."""
        top = torch.topk(self.component_norms(), min(k, self.num_components))
        columns = [f[:, top.indices] for f in self.factors]
        return {
            "index": top.indices.tolist(),
            "norm": top.values.tolist(),
            "factors": [(c / c.norm(dim=0)).tolist() for c in columns],
        }

    @torch.no_grad()
    def component_norms(self) -> torch.Tensor:
        """Frobenius norm of each rank-one term: the product of its factor column norms, (R,)."""
        norms = torch.ones(
            self.num_components, dtype=self.factors[0].dtype, device=self.factors[0].device
        )
        for f in self.factors:
            norms = norms * f.norm(dim=0)
        return norms
