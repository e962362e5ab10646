"""The separation-rank penalty: 1 for functions that factor across (I, J), below 1 otherwise."""

from __future__ import annotations

import contextlib
import copy

import numpy as np
import pytest
import torch
from torch import nn

from impreg.models.resnet import build_resnet
from impreg.regularizers import (
    Box,
    CheapBatchNormDoubleBackward,
    choose_patch_order,
    conv_input_gradient,
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
    loss = (
        nn.functional.binary_cross_entropy_with_logits(out.logits.squeeze(1), y) + 3.0 * out.penalty
    )
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


# --- the fast paths give the numbers of torch's own autograd ------------------------------------------


@pytest.mark.parametrize(
    "kernel,stride,padding,size", [(7, 2, 3, 32), (3, 1, 1, 13), (1, 2, 0, 12), (4, 3, 2, 17)]
)
def test_conv_input_gradient_on_a_box_is_autograds(
    kernel: int, stride: int, padding: int, size: int
) -> None:
    torch.manual_seed(0)
    conv = nn.Conv2d(2, 5, kernel, stride=stride, padding=padding, bias=True).double()
    x = torch.randn(3, 2, size, size, dtype=torch.float64, requires_grad=True)
    y = conv(x)
    g = torch.randn_like(y)
    (full,) = torch.autograd.grad(y, x, g)
    for box in (
        Box(0, 0, 2, 3),
        Box(size - 3, size - 2, 3, 2),
        Box(4, 1, 5, 4),
        Box(0, 0, size, size),
    ):
        got = conv_input_gradient(g, conv, box)
        torch.testing.assert_close(got, full[(..., *box.slices)], rtol=1e-12, atol=1e-12)


def bn_net(dtype: torch.dtype) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(2, 3, 3),
        nn.BatchNorm2d(3),
        nn.ReLU(),
        nn.Conv2d(3, 4, 3),
        nn.BatchNorm2d(4, affine=False),
        nn.Flatten(),
        nn.Linear(4 * 4 * 4, 1),
    ).to(dtype)


@pytest.mark.parametrize("target", ["input", "bn_weight", "bn_bias"])
def test_batch_norm_double_backward_is_torchs(target: str) -> None:
    """Parameter gradients of a loss on first-order gradients (w.r.t. the input or BatchNorm's own
    weight and bias), and the running statistics, with and without the mode."""
    torch.manual_seed(0)
    net = bn_net(torch.float64)
    state = copy.deepcopy(net.state_dict())
    x = torch.randn(5, 2, 8, 8, dtype=torch.float64) * 3 + 1

    def grads(mode: bool) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        net.load_state_dict(state)
        net.zero_grad()
        xx = x.clone().requires_grad_(True)
        with CheapBatchNormDoubleBackward() if mode else contextlib.nullcontext():
            out = net(xx)
        wrt = {"input": xx, "bn_weight": net[1].weight, "bn_bias": net[1].bias}[target]
        (g,) = torch.autograd.grad(out.square().sum(), wrt, create_graph=True)
        (g.square().sum() + out.sum()).backward()
        return [p.grad.clone() for p in net.parameters()], [b.clone() for b in net.buffers()]

    (ref, ref_buffers), (got, got_buffers) = grads(False), grads(True)
    for a, b in zip(ref, got):
        torch.testing.assert_close(b, a, rtol=1e-10, atol=1e-12)
    # same kernels: same bits
    assert all(torch.equal(a, b) for a, b in zip(ref_buffers, got_buffers))


def test_input_conv_must_read_the_input() -> None:
    model = build_resnet("resnet18", in_channels=1, width=4)
    with pytest.raises(ValueError, match="receives the model's input"):
        separation_penalty(
            model,
            torch.randn(4, 1, 32, 32),
            Box(2, 2, 4, 4),
            Box(20, 20, 4, 4),
            input_conv=model.layer1[0].conv1,
        )
