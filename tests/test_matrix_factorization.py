"""Deep matrix factorization: the end-to-end product and its singular values against numpy."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from impreg.factorizations.matrix import DeepMatrixFactorization


@pytest.mark.parametrize(
    "shape,depth,hidden", [((5, 7), 3, None), ((6, 4), 1, None), ((3, 8), 4, 10), ((4, 4), 2, 2)]
)
def test_product_and_singular_values_match_numpy(shape, depth, hidden):
    model = DeepMatrixFactorization(
        shape,
        depth,
        init_std=0.5,
        hidden_width=hidden,
        generator=torch.Generator().manual_seed(0),
        dtype=torch.float64,
    )
    mats = [w.detach().numpy() for w in model.weights]
    assert len(mats) == depth
    expected = np.linalg.multi_dot(mats[::-1]) if depth > 1 else mats[0]  # W_N ... W_1
    full = model.full_matrix()
    assert full.shape == shape
    # torch and numpy run different BLAS/LAPACK kernels, which round differently from CPU to CPU: entries
    # and singular values that are zero up to rounding need an absolute tolerance on the matrix's scale.
    scale = np.abs(expected).max()
    np.testing.assert_allclose(full.detach().numpy(), expected, rtol=1e-12, atol=1e-13 * scale)
    reference = np.linalg.svd(expected, compute_uv=False)
    np.testing.assert_allclose(
        model.singular_values().numpy(), reference, rtol=1e-10, atol=1e-12 * reference[0]
    )
    if hidden is not None and hidden < min(shape):
        assert np.sum(model.singular_values().numpy() > 1e-10) == hidden


def test_shapes_init_and_entries():
    gen = torch.Generator().manual_seed(1)
    model = DeepMatrixFactorization((64, 64), 3, init_std=1e-3, generator=gen)
    assert [tuple(w.shape) for w in model.weights] == [(64, 64)] * 3
    std = torch.cat([w.detach().reshape(-1) for w in model.weights]).std().item()
    assert 0.9e-3 < std < 1.1e-3
    again = DeepMatrixFactorization(
        (64, 64), 3, init_std=1e-3, generator=torch.Generator().manual_seed(1)
    )
    assert all(torch.equal(a, b) for a, b in zip(model.weights, again.weights, strict=True))
    idx = torch.tensor([[0, 5], [63, 2], [10, 10]])
    torch.testing.assert_close(model.gather_entries(idx), model.full_matrix()[idx[:, 0], idx[:, 1]])
    with pytest.raises(ValueError):
        DeepMatrixFactorization((3, 3), 0, 0.1)
