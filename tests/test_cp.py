import numpy as np
import pytest
import torch

from impreg.factorizations.cp import CPFactorization, khatri_rao


def _einsum_full(factors):
    letters = "abcdefgh"[: len(factors)]
    spec = ",".join(f"{c}r" for c in letters) + "->" + letters
    return torch.einsum(spec, *factors)


def test_khatri_rao_columns_are_kronecker_products():
    a, b = torch.randn(3, 4), torch.randn(5, 4)
    kr = khatri_rao([a, b])
    for r in range(4):
        torch.testing.assert_close(kr[:, r], torch.kron(a[:, r], b[:, r]))


@pytest.mark.parametrize("dims", [(4,), (3, 5), (2, 3, 4), (3, 3, 3, 3), (2, 3, 2, 3, 2)])
def test_full_tensor_matches_einsum(dims):
    model = CPFactorization(
        dims, 7, init_std=1.0, generator=torch.Generator().manual_seed(0), dtype=torch.float64
    )
    torch.testing.assert_close(model.full_tensor(), _einsum_full(list(model.factors)))


def test_gathered_entries_match_full_tensor():
    model = CPFactorization(
        (3, 4, 5, 2),
        6,
        init_std=1.0,
        generator=torch.Generator().manual_seed(1),
        dtype=torch.float64,
    )
    idx = torch.stack([torch.randint(0, d, (50,)) for d in model.dims], dim=1)
    full = model.full_tensor()
    torch.testing.assert_close(model.gather_entries(idx), full[tuple(idx.T)])


def test_component_norms_by_hand():
    model = CPFactorization((2, 2), 2, init_std=1.0, dtype=torch.float64)
    with torch.no_grad():
        model.factors[0].copy_(torch.tensor([[3.0, 0.0], [4.0, 1.0]]))
        model.factors[1].copy_(torch.tensor([[1.0, 2.0], [0.0, 0.0]]))
    # component 0 = [3,4] (x) [1,0]: norm 5; component 1 = [0,1] (x) [2,0]: norm 2
    torch.testing.assert_close(
        model.component_norms(), torch.tensor([5.0, 2.0], dtype=torch.float64)
    )
    full = model.full_tensor()
    torch.testing.assert_close(
        full, torch.tensor([[3.0, 0.0], [4.0 + 2.0, 0.0]], dtype=torch.float64)
    )


def test_component_norm_is_frobenius_norm_of_rank_one_term():
    model = CPFactorization(
        (3, 4, 2), 5, init_std=1.0, generator=torch.Generator().manual_seed(2), dtype=torch.float64
    )
    f = [p.detach() for p in model.factors]
    for r in range(5):
        term = _einsum_full([x[:, r : r + 1] for x in f])
        assert np.isclose(term.norm().item(), model.component_norms()[r].item())


def test_initialization_is_seeded_and_scaled():
    a = CPFactorization((10, 10, 10), 1000, 0.01, generator=torch.Generator().manual_seed(3))
    b = CPFactorization((10, 10, 10), 1000, 0.01, generator=torch.Generator().manual_seed(3))
    assert all(torch.equal(x, y) for x, y in zip(a.factors, b.factors))
    assert abs(torch.cat([p.flatten() for p in a.factors]).std().item() - 0.01) < 5e-4


@pytest.mark.parametrize("dims", [(3, 4), (2, 3, 4), (3, 3, 3, 3), (2, 3, 2, 3, 2)])
def test_structured_backward_matches_autograd(dims):
    model = CPFactorization(
        dims, 5, init_std=1.0, generator=torch.Generator().manual_seed(4), dtype=torch.float64
    )
    weights = torch.randn(dims, dtype=torch.float64)
    (model.full_tensor() * weights).sum().pow(2).backward()
    expected = [p.grad.clone() for p in model.factors]
    model.zero_grad(set_to_none=True)
    full = model.full_tensor().detach()
    model.backward_from_tensor_grad(2 * (full * weights).sum() * weights)
    for p, e in zip(model.factors, expected):
        torch.testing.assert_close(p.grad, e)
