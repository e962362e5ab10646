"""Log-domain pixel CP product vs the original direct product; packed models vs separate ones."""

from __future__ import annotations

import pytest
import torch

from impreg.factorizations.pixel_cp import (
    ERROR_SCALE,
    ModelSpec,
    PixelCP,
    clamped_sq_error,
    clamped_test_error,
    direct_predict,
    init_factors,
    mse_per_model,
    scaled_error,
    train_loss,
)


def _hard_model(P: int = 9, R: int = 4, seed: int = 0) -> PixelCP:
    """float64 factors of mixed sign and scale, with near-zero entries."""
    model = PixelCP.single(P, R, seed, dtype=torch.float64)
    gen = torch.Generator().manual_seed(seed + 100)
    with torch.no_grad():
        f = model.factors[0]
        f.copy_(torch.randn(f.shape, generator=gen, dtype=torch.float64) * 1.5)
        f[0, 1, 0] = 1e-30
        f[1, 0, 1] = -1e-200
        f[2, 1, 2] = 3e-8
        f[3, :, 3] = -f[3, :, 3].abs()  # component 3 always has at least one negative factor
    return model


def _all_images(P: int) -> torch.Tensor:
    """Every binary image of P pixels (2^P rows)."""
    codes = torch.arange(2**P)
    return ((codes[:, None] >> torch.arange(P)) & 1).to(torch.uint8)


def test_log_domain_equals_direct_product_with_signs_and_near_zeros():
    model = _hard_model()
    x = _all_images(9)
    got = model(x)[:, 0]
    want = direct_predict(model.model_factors(0), x)
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-300)
    assert (want < 0).any() and (want > 0).any()
    per_comp = model.component_values(x)[:, 0, :]
    direct_comp = torch.einsum(
        "sab,abt->sat", torch.nn.functional.one_hot(x.long(), 2).double(), model.model_factors(0)
    ).prod(dim=1)
    torch.testing.assert_close(per_comp, direct_comp, rtol=1e-12, atol=1e-300)
    assert torch.equal(torch.sign(per_comp), torch.sign(direct_comp))


def test_exact_zero_factor_gives_a_vanishing_term():
    model = _hard_model()
    with torch.no_grad():
        model.factors[0, 4, 1, 2] = 0.0
    x = _all_images(9)
    vals = model.component_values(x)[:, 0, 2]
    hit = x[:, 4] == 1
    assert vals[hit].abs().max() < 1e-290 and vals[~hit].abs().min() > 0


def test_gradients_match_autograd_through_direct_product():
    model = _hard_model()
    x = _all_images(9)[torch.randperm(512, generator=torch.Generator().manual_seed(1))[:200]]
    y = torch.randn(200, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    ((model(x)[:, 0] - y) ** 2).mean().backward()
    ref = model.factors.detach()[0].clone().requires_grad_(True)
    ((direct_predict(ref, x) - y) ** 2).mean().backward()
    torch.testing.assert_close(model.factors.grad[0], ref.grad, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("grouped", [False, True])
def test_custom_backward_passes_gradcheck(grouped):
    from impreg.factorizations.pixel_cp import _PixelSums

    gen = torch.Generator().manual_seed(4)
    log_abs = torch.randn(2, 6, 2, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    neg = (torch.rand(2, 6, 2, 3, generator=gen) < 0.3).double()
    x = torch.randint(0, 2, (2, 5, 6) if grouped else (5, 6), generator=gen).double()
    assert torch.autograd.gradcheck(lambda t: _PixelSums.apply(x, t, neg)[0], (log_abs,))


def test_full_size_float32_matches_float64_direct():
    torch.manual_seed(0)
    model = PixelCP.single(784, 15, seed=3)
    x = torch.randint(0, 2, (64, 784), dtype=torch.uint8)
    want = direct_predict(model.model_factors(0).double(), x)
    torch.testing.assert_close(model(x)[:, 0].double(), want, rtol=2e-5, atol=0)
    # N(1, 1e-3) init: output ~ R
    assert torch.allclose(want, torch.full_like(want, 15.0), rtol=0.2)


def test_init_is_seeded_and_matches_spec():
    f = init_factors(784, 15, seed=7)
    assert f.shape == (784, 2, 15)
    assert abs(f.mean().item() - 1) < 1e-4 and abs(f.std().item() - 1e-3) < 1e-4
    torch.testing.assert_close(
        PixelCP.single(784, 15, 7).model_factors(0).detach(), f, rtol=0, atol=0
    )


SPECS = [
    ModelSpec(1, 0, 0),
    ModelSpec(3, 1, 0),
    ModelSpec(2, 2, 1),
    ModelSpec(3, 0, 1),
    ModelSpec(1, 5, 1),
]


def _fit(model: PixelCP, xs: torch.Tensor, ys: torch.Tensor, steps: int = 5) -> None:
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    for t in range(steps):
        opt.zero_grad()
        loss = train_loss(model(xs[t]), model.expand_targets(ys[t]))
        loss.backward()
        opt.step()


def test_packed_models_equal_separate_models_through_adam():
    P, B, steps = 30, 40, 5
    gen = torch.Generator().manual_seed(0)
    xs = torch.randint(0, 2, (steps, 2, B, P), generator=gen)  # per step, per group batches
    ys = 2.0 * torch.randint(0, 2, (steps, 2, B), generator=gen)
    packed = PixelCP(P, SPECS, init_std=0.3, dtype=torch.float64)
    # group 0 padded from 4 to 6 slots
    assert packed.factors.shape == (2, P, 2, 6) and packed.num_models == 5
    with torch.no_grad():
        before = packed(xs[0])
    _fit(packed, xs, ys, steps)
    for m, spec in enumerate(SPECS):
        alone = PixelCP.single(P, spec.rank, spec.seed, init_std=0.3, dtype=torch.float64)
        with torch.no_grad():
            torch.testing.assert_close(
                alone(xs[0, spec.group])[:, 0], before[:, m], rtol=1e-12, atol=1e-12
            )
        _fit(alone, xs[:, spec.group], ys[:, spec.group], steps)
        torch.testing.assert_close(
            packed.model_factors(m), alone.model_factors(0), rtol=1e-10, atol=1e-12
        )
    # padding slots never move
    assert torch.equal(
        packed.factors.detach()[0, :, :, 4:], torch.ones(P, 2, 2, dtype=torch.float64)
    )


def test_shared_batch_across_groups_and_chunked_predict():
    P = 12
    packed = PixelCP(P, SPECS, init_std=0.3, dtype=torch.float64)
    x = torch.randint(0, 2, (25, P), generator=torch.Generator().manual_seed(3))
    shared = packed(x)
    per_group = packed(torch.stack([x, x]))
    torch.testing.assert_close(shared, per_group, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(packed.predict(x, batch_size=7), shared.detach())
    torch.testing.assert_close(packed.predict(torch.stack([x, x]), batch_size=7), shared.detach())
    for m in range(len(SPECS)):
        torch.testing.assert_close(shared[:, m], direct_predict(packed.model_factors(m), x))


def test_expand_targets_and_losses():
    packed = PixelCP(5, SPECS)
    y = torch.tensor([[0.0, 2.0], [2.0, 2.0]])  # (G=2, B=2)
    t = packed.expand_targets(y)
    assert t.shape == (2, 5)
    torch.testing.assert_close(t[:, 1], y[0])
    torch.testing.assert_close(t[:, 2], y[1])
    pred = torch.tensor([[0.5, 5.0], [2.0, -1.0]])
    target = torch.tensor([[0.0, 2.0], [2.0, 2.0]])
    torch.testing.assert_close(mse_per_model(pred, target), torch.tensor([0.125, 9.0]))
    torch.testing.assert_close(
        clamped_sq_error(pred, target), torch.tensor([[0.25, 4.0], [0.0, 4.0]])
    )
    torch.testing.assert_close(clamped_test_error(pred, target), torch.tensor([0.125 / 4, 1.0]))
    assert scaled_error(0.36) == pytest.approx(0.09) and ERROR_SCALE == 4


def test_bad_inputs():
    with pytest.raises(ValueError, match="groups"):
        PixelCP(5, [ModelSpec(1, 0, 1)])
    with pytest.raises(ValueError, match="rank"):
        PixelCP(5, [ModelSpec(0, 0)])
    with pytest.raises(ValueError, match="pixels"):
        PixelCP.single(5, 2, 0)(torch.zeros(3, 6))
