"""Deep matrix factorization (a deep linear network): W = W_N ... W_1."""

from __future__ import annotations

import torch
from torch import nn


class DeepMatrixFactorization(nn.Module):
    """A depth-``depth`` product of weight matrices with end-to-end shape ``shape`` = (rows, cols).

    W_1 is (hidden, cols), W_2 .. W_{N-1} are (hidden, hidden) and W_N is (rows, hidden), so the
    product W_N ... W_1 is (rows, cols); depth 1 is a single (rows, cols) matrix. ``hidden_width``
    defaults to min(rows, cols), which leaves the product's rank unconstrained. Entries are
    i.i.d. N(0, init_std^2), drawn from ``generator`` in the order W_1, ..., W_N.
    """

    def __init__(
        self,
        shape: tuple[int, int],
        depth: int,
        init_std: float,
        hidden_width: int | None = None,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        rows, cols = (int(s) for s in shape)
        if depth < 1 or rows < 1 or cols < 1:
            raise ValueError(
                f"need depth >= 1 and a non-empty shape, got depth={depth} shape={shape}"
            )
        self.shape = (rows, cols)
        self.depth = int(depth)
        self.hidden_width = int(hidden_width) if hidden_width is not None else min(rows, cols)
        dims = [cols] + [self.hidden_width] * (self.depth - 1) + [rows]
        self.weights = nn.ParameterList(
            nn.Parameter(
                torch.randn(dims[i + 1], dims[i], generator=generator, dtype=dtype) * init_std
            )
            for i in range(self.depth)
        )

    def full_matrix(self) -> torch.Tensor:
        """The end-to-end product W_N ... W_1, shape (rows, cols)."""
        out = self.weights[0]
        for w in self.weights[1:]:
            out = w @ out
        return out

    def gather_entries(self, indices: torch.Tensor) -> torch.Tensor:
        """Entries of the product at ``indices`` (n, 2) of (row, col) pairs."""
        return self.full_matrix()[indices[:, 0], indices[:, 1]]

    @torch.no_grad()
    def singular_values(self) -> torch.Tensor:
        """Singular values of the end-to-end matrix, descending."""
        return torch.linalg.svdvals(self.full_matrix())
