"""The separation-rank penalty: 1 for functions that factor across (I, J), below 1 otherwise."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from impreg.models.resnet import build_resnet
from impreg.regularizers import (
    Box,
    choose_patch_order,
    sample_patch_pair,
    separation_penalty,
    swap_patch,
)

BOX_I, BOX_J = Box(1, 1, 3, 3), Box(5, 6, 3, 3)


def patch(x: torch.Tensor, box: Box) -> torch.Tensor:
    return x[(..., *box.slices)].flatten(1)


class Factored(nn.Module):
    """f(x) = g(x_I) h(x_J): separation rank 1; g's gradient direction still varies with x_I."""

    def __init__(self) -> None:
        super().__init__()
        self.g = nn.Sequential(nn.Linear(9, 16), nn.Tanh(), nn.Linear(16, 1))
        self.h = nn.Sequential(nn.Linear(9, 16), nn.Tanh(), nn.Linear(16, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.g(patch(x, BOX_I)) * self.h(patch(x, BOX_J))


class Entangled(nn.Module):
    """A one-hidden-layer net on (x_I, x_J) jointly: its I-gradient turns with x_J."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(18, 32), nn.Tanh(), nn.Linear(32, 1))
        with torch.no_grad():  # out of tanh's near-linear range, where the gradient hardly turns
            self.net[0].weight.mul_(4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([patch(x, BOX_I), patch(x, BOX_J)], dim=1))


class Bilinear(nn.Module):
    """<x_I, W x_J>: a sum of products, whose I-gradient W x_J follows x_J."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.eye(9) + 0.1 * torch.randn(9, 9))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return ((patch(x, BOX_I) @ self.w) * patch(x, BOX_J)).sum(1, keepdim=True)


def batch(n: int = 8, channels: int = 1) -> torch.Tensor:
    return torch.randn(n, channels, 10, 10)


def test_swap_patch_takes_the_next_samples_patch() -> None:
    x = batch(channels=2)
    swapped = swap_patch(x, BOX_J)
    assert torch.equal(patch(swapped, BOX_J), patch(x.roll(-1, dims=0), BOX_J))
    swapped[(..., *BOX_J.slices)] = 0
    x[(..., *BOX_J.slices)] = 0
    assert torch.equal(swapped, x)


def test_penalty_is_one_for_a_factored_function() -> None:
    torch.manual_seed(0)
    out = separation_penalty(Factored(), batch(), BOX_I, BOX_J)
    assert out.penalty.item() == pytest.approx(1.0, abs=1e-5)
    assert out.logits.shape == (8, 1)


@pytest.mark.parametrize("model_cls", [Entangled, Bilinear])
def test_penalty_below_one_without_factorization(model_cls: type[nn.Module]) -> None:
    torch.manual_seed(0)
    penalty = separation_penalty(model_cls(), batch(), BOX_I, BOX_J).penalty.item()
    assert 0.0 <= penalty < 0.9


def test_penalty_on_unrelated_patch_is_one() -> None:
    # Swapping a patch the function never reads leaves its gradient unchanged.
    torch.manual_seed(0)
    penalty = separation_penalty(Entangled(), batch(), BOX_I, Box(0, 7, 2, 2)).penalty.item()
    assert penalty == pytest.approx(1.0, abs=1e-6)


def test_penalty_gradient_reaches_the_parameters_through_double_backprop() -> None:
    torch.manual_seed(0)
    model = build_resnet("resnet18", in_channels=1, width=4)
    model.train()
    x, y = torch.randn(4, 1, 32, 32), torch.tensor([0.0, 1.0, 1.0, 0.0])
    out = separation_penalty(model, x, Box(2, 2, 4, 4), Box(20, 20, 4, 4))
    assert out.penalty.requires_grad and 0 <= out.penalty.item() <= 1
    out.penalty.backward()
    assert model.conv1.weight.grad is not None and model.conv1.weight.grad.abs().sum() > 0
    assert model.fc.weight.grad.abs().sum() > 0
    # The full regularized loss too.
    model.zero_grad()
    out = separation_penalty(model, x, Box(2, 2, 4, 4), Box(20, 20, 4, 4))
    loss = nn.functional.binary_cross_entropy_with_logits(out.logits.squeeze(1), y) + 3.0 * out.penalty
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())


def test_patch_sampler_boxes() -> None:
    rng = np.random.default_rng(0)
    for min_d, max_d in ((0, None), (5, None), (0, 0), (3, 6)):
        for _ in range(200):
            i, j = sample_patch_pair(20, 24, 3, rng, min_distance=min_d, max_distance=max_d)
            assert all(type(v) is int for v in (*i, *j))
            assert (i.height, i.width, j.height, j.width) == (3, 3, 3, 3)
            for b in (i, j):
                assert 0 <= b.row and b.row + 3 <= 20 and 0 <= b.col and b.col + 3 <= 24
            masks = np.zeros((2, 20, 24), bool)
            masks[(0, *i.slices)] = masks[(1, *j.slices)] = True
            assert not (masks[0] & masks[1]).any()
            assert i.gap(j) >= min_d and (max_d is None or i.gap(j) <= max_d)
    with pytest.raises(ValueError):
        sample_patch_pair(8, 8, 3, rng, min_distance=10)


def test_patch_sampler_seeded_and_order_choice() -> None:
    a = [sample_patch_pair(32, 32, 2, np.random.default_rng(4)) for _ in range(2)]
    assert a[0] == a[1]
    rng = np.random.default_rng(0)
    boxes = (Box(96, 80, 32, 32), Box(96, 112, 32, 32))
    seen = {choose_patch_order(boxes, rng) for _ in range(50)}
    assert seen == {boxes, boxes[::-1]}
