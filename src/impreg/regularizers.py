"""The separation-rank regularizer of the paper (spec 2.4) and the patch boxes it acts on.

If ``f(x) = g(x_I) h(x_J)`` (separation rank 1 across patches I, J), the input gradient on I keeps
its direction when x_J changes. The penalty is the mean ``|cos|`` between the gradients on I before
and after x_J is swapped with the next sample's; minimizing it pushes f towards interactions
between I and J, against the locality that low hierarchical tensor rank implies.
"""

from __future__ import annotations

import inspect
from typing import NamedTuple

import numpy as np
import torch
from torch import nn
from torch.autograd import Function
from torch.nn import functional as F
from torch.overrides import TorchFunctionMode


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


def abs_cosine(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-sample ``|cos|`` between flattened rows, in float64: input gradients can be so small that
    float32 norms underflow, and torch's cosine_similarity eps would then bias it towards 0."""
    a, b = a.flatten(1).double(), b.flatten(1).double()
    denom = (a.norm(dim=1) * b.norm(dim=1)).clamp_min(torch.finfo(torch.float64).tiny)
    return ((a * b).sum(dim=1) / denom).abs()


def conv_input_gradient(grad_out: torch.Tensor, conv: nn.Conv2d, box: Box) -> torch.Tensor:
    """The gradient w.r.t. the input of ``conv``, on ``box`` only, from the gradient w.r.t. its output.

    It is the transposed convolution of ``grad_out`` restricted to the outputs whose receptive field
    meets the box, so its cost is that of the box, not of the image.
    """
    if (
        conv.groups != 1
        or conv.dilation != (1, 1)
        or conv.padding_mode != "zeros"
        or isinstance(conv.padding, str)
    ):
        raise ValueError("conv_input_gradient needs groups 1, dilation 1 and numeric zero padding")
    spans = [
        _conv_span(
            start, size, conv.stride[d], conv.padding[d], conv.kernel_size[d], grad_out.shape[2 + d]
        )
        for d, (start, size) in enumerate(((box.row, box.height), (box.col, box.width)))
    ]
    (r0, r1, top, bottom), (c0, c1, left, right) = spans
    if r1 < r0 or c1 < c0:  # no output sees the box
        return grad_out.new_zeros(grad_out.shape[0], conv.in_channels, box.height, box.width)
    local = F.conv_transpose2d(
        grad_out[..., r0 : r1 + 1, c0 : c1 + 1], conv.weight, stride=conv.stride
    )
    return F.pad(local, (left, right, top, bottom))  # negative pads crop


def _conv_span(
    start: int, size: int, stride: int, padding: int, kernel: int, out_size: int
) -> tuple[int, ...]:
    """Along one axis: the first and last outputs whose window meets input positions
    [start, start + size), and the pads that map their transposed convolution onto that range."""
    first = max(0, -(-(start + padding - kernel + 1) // stride))
    last = min(out_size - 1, (start + size - 1 + padding) // stride)
    # the input position of the transposed convolution's first value
    origin = stride * first - padding
    length = (last - first) * stride + kernel
    return first, last, origin - start, start + size - origin - length


def _capture_output(
    conv: nn.Module, x: torch.Tensor, store: list
) -> torch.utils.hooks.RemovableHandle:
    def hook(module: nn.Module, args: tuple, output: torch.Tensor) -> None:
        if args[0] is not x:
            raise ValueError("input_conv must be the layer that receives the model's input")
        store.append(output)

    return conv.register_forward_hook(hook)


def _forward(
    model: nn.Module, x: torch.Tensor, input_conv: nn.Conv2d | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits and the tensor to differentiate them by: x itself or the output of ``input_conv``."""
    if input_conv is None:
        x = x.detach().requires_grad_(True)
        return model(x), x
    store: list[torch.Tensor] = []
    handle = _capture_output(input_conv, x, store)
    try:
        logits = model(x)
    finally:
        handle.remove()
    if len(store) != 1:
        raise ValueError(f"input_conv ran {len(store)} times in one forward; it must run once")
    return logits, store[0]


def separation_penalty(
    model: nn.Module,
    x: torch.Tensor,
    box_i: Box,
    box_j: Box,
    input_conv: nn.Conv2d | None = None,
    create_graph: bool = True,
) -> PenaltyOutput:
    """Mean over the batch of |cos(grad_I f(x), grad_I f(x'))|, x' = x with patch J from the next sample.

    Two forward passes in the model's current mode (in train mode BatchNorm statistics update twice,
    as in the original, x first). Add ``lam * penalty`` to the loss computed on ``logits`` and call
    backward: that back-propagates through both input gradients (double backprop).

    ``input_conv``, when given, must be the model's first layer and the only one that reads the input
    (a ResNet's ``conv1``): the input gradients are then taken at its output and mapped back onto
    box I alone, and x needs no gradient of its own. ``create_graph=False`` measures the penalty
    without the graph that training back-propagates through.
    """
    if len(x) < 2:
        raise ValueError(
            "the penalty swaps patches between samples: it needs a batch of at least 2"
        )
    x = x.detach()
    with CheapBatchNormDoubleBackward():
        logits, wrt = _forward(model, x, input_conv)
        logits_swapped, wrt_swapped = _forward(model, swap_patch(x, box_j), input_conv)
    # one backward pass over both graphs
    grads = torch.autograd.grad(
        [logits.sum(), logits_swapped.sum()], [wrt, wrt_swapped], create_graph=create_graph
    )
    if input_conv is None:
        grad_i, grad_i_swapped = (g[(..., *box_i.slices)] for g in grads)
    else:
        grad_i, grad_i_swapped = (conv_input_gradient(g, input_conv, box_i) for g in grads)
    cos = abs_cosine(grad_i, grad_i_swapped)
    return PenaltyOutput(penalty=cos.mean().to(torch.float32), logits=logits)


# --- BatchNorm with a cheap double backward ------------------------------------------------------
#
# Double backprop through train-mode BatchNorm differentiates its backward
# gx = gamma * r * (g - mean(g) - xhat * mean(g * xhat)), r = 1 / sqrt(var + eps), xhat = (x - mean) * r.
# torch's generic formula for that spends some thirty full-size tensor operations per layer. Written
# in per-channel sums, every gradient of the backward is a per-channel combination of x - mean, the
# incoming gradients and g, which takes about fifteen. The forward and the first-order backward stay
# torch's own kernels, so the task loss and its gradients are computed exactly as without this.


def _per_channel(t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return t.view([1, -1] + [1] * (like.dim() - 2))


def _channel_sum(t: torch.Tensor) -> torch.Tensor:
    return t.sum([d for d in range(t.dim()) if d != 1])


class _BatchNormBackward(Function):
    """BatchNorm's first-order backward (torch's kernel) as a function of (g, x, weight), with a
    hand-derived backward."""

    @staticmethod
    def forward(ctx, grad_out, x, weight, mean, invstd, reserve, impl, eps, running, mask):  # noqa: ANN001
        ctx.set_materialize_grads(False)  # the unused weight and bias gradients arrive as None
        ctx.save_for_backward(grad_out, x, weight, mean, invstd)
        return torch.ops.aten._batch_norm_impl_index_backward(
            impl, x, grad_out, weight, *running, mean, invstd, True, eps, list(mask), reserve
        )

    @staticmethod
    def backward(ctx, h_x, h_weight, h_bias):  # noqa: ANN001
        g, x, weight, mean, invstd = ctx.saved_tensors
        grads = _batch_norm_double_backward(g, x, weight, mean, invstd, h_x, h_weight, h_bias)
        return *grads, None, None, None, None, None, None, None


def _batch_norm_double_backward(g, x, weight, mean, invstd, h_x, h_weight, h_bias):  # noqa: ANN001, ANN202
    """Gradients w.r.t. (g, x, weight) of <h_x, gx> + <h_weight, g_weight> + <h_bias, g_bias>.

    Per channel, with M elements, xc = x - mean, a = <h_x, xhat>, b = <g, xhat> and
    c = <h_x, g> - sum(h_x) sum(g) / M:
      d/dx      = gamma r^3 / M [(3ab/M - c) xc - (b/r) (h_x - mean(h_x)) - (a/r) (g - mean(g))]
                  + h_weight r [(g - mean(g)) - (b/M) xhat]
      d/dg      = gamma r (h_x - mean(h_x) - xhat a / M) + h_weight xhat + h_bias
      d/dweight = r (c - ab / M).
    """
    n = x.numel() // x.shape[1]
    gamma = weight if weight is not None else torch.ones_like(invstd)
    r = invstd
    xc = x - _per_channel(mean, x)
    sum_g = _channel_sum(g)
    b = r * _channel_sum(g * xc)
    zero = torch.zeros_like(r)
    # d/dx = k_xc * xc + k_h * h_x + k_g * g + k_0, d/dg = j_h * h_x + j_xc * xc + j_0 (per channel)
    k_xc, k_h, k_g, k_0, j_h, j_xc, j_0 = zero, None, zero, zero, None, zero, zero
    grad_weight = None
    if h_x is not None:
        sum_h = _channel_sum(h_x)
        a = r * _channel_sum(h_x * xc)
        c = _channel_sum(h_x * g) - sum_h * sum_g / n
        k = gamma * r * r / n
        k_xc = k * r * (3 * a * b / n - c)
        k_h, k_g = -k * b, -k * a
        k_0 = k * (b * sum_h + a * sum_g) / n
        j_h, j_xc, j_0 = gamma * r, -gamma * r * r * a / n, -gamma * r * sum_h / n
        grad_weight = r * (c - a * b / n) if weight is not None else None
    if h_weight is not None:
        k_g = k_g + h_weight * r
        k_0 = k_0 - h_weight * r * sum_g / n
        k_xc = k_xc - h_weight * r * r * b / n
        j_xc = j_xc + h_weight * r
    if h_bias is not None:
        j_0 = j_0 + h_bias
    grad_x = xc * _per_channel(k_xc, x)
    grad_x.addcmul_(g, _per_channel(k_g, x)).add_(_per_channel(k_0, x))
    grad_g = xc * _per_channel(j_xc, x)
    grad_g.add_(_per_channel(j_0, x))
    if h_x is not None:
        grad_x.addcmul_(h_x, _per_channel(k_h, x))
        grad_g.addcmul_(h_x, _per_channel(j_h, x))
    return grad_g.to(g.dtype), grad_x.to(x.dtype), grad_weight


class _BatchNorm(Function):
    """Train-mode BatchNorm by torch's own kernels (running statistics updated as usual), whose
    backward, when differentiated, is ``_BatchNormBackward``."""

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, momentum, eps):  # noqa: ANN001
        out, mean, invstd, reserve, impl = torch.ops.aten._batch_norm_impl_index(
            x,
            weight,
            bias,
            running_mean,
            running_var,
            True,
            momentum,
            eps,
            torch.backends.cudnn.enabled,
        )
        ctx.save_for_backward(x, weight, mean, invstd, reserve)
        # unused by a train-mode backward, and updated in place by later forwards: not saved tensors
        ctx.impl, ctx.eps, ctx.running = impl, eps, (running_mean, running_var)
        return out

    @staticmethod
    def backward(ctx, grad_out):  # noqa: ANN001
        x, weight, mean, invstd, reserve = ctx.saved_tensors
        mask = tuple(ctx.needs_input_grad[:3])
        if torch.is_grad_enabled():  # create_graph: keep the backward differentiable
            grads = _BatchNormBackward.apply(
                grad_out, x, weight, mean, invstd, reserve, ctx.impl, ctx.eps, ctx.running, mask
            )
        else:
            grads = torch.ops.aten._batch_norm_impl_index_backward(
                ctx.impl,
                x,
                grad_out,
                weight,
                *ctx.running,
                mean,
                invstd,
                True,
                ctx.eps,
                list(mask),
                reserve,
            )
        return *grads, None, None, None, None


class CheapBatchNormDoubleBackward(TorchFunctionMode):
    """Within this mode, train-mode ``F.batch_norm`` calls that build a graph go through ``_BatchNorm``."""

    def __torch_function__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204
        kwargs = kwargs or {}
        if func is F.batch_norm and torch.is_grad_enabled():
            bound = _BATCH_NORM_SIGNATURE.bind(*args, **kwargs)
            bound.apply_defaults()
            p = bound.arguments
            if p["training"]:
                F._verify_batch_size(p["input"].size())
                if p["eps"] <= 0:
                    raise ValueError(
                        f"batch_norm eps must be positive during training, but got {p['eps']}"
                    )
                return _BatchNorm.apply(
                    p["input"],
                    p["weight"],
                    p["bias"],
                    p["running_mean"],
                    p["running_var"],
                    p["momentum"],
                    p["eps"],
                )
        return func(*args, **kwargs)


_BATCH_NORM_SIGNATURE = inspect.signature(F.batch_norm)


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
        raise ValueError(
            f"need 0 <= min_distance <= max_distance, got {min_distance}, {max_distance}"
        )
    rows = np.arange(height - p + 1)[:, None]
    cols = np.arange(width - p + 1)[None, :]
    for _ in range(tries):
        r, c = int(rng.integers(height - p + 1)), int(rng.integers(width - p + 1))
        gap = np.maximum(
            np.maximum(rows - (r + p), r - (rows + p)), np.maximum(cols - (c + p), c - (cols + p))
        )
        ok = gap >= min_distance
        if max_distance is not None:
            ok &= gap <= max_distance
        candidates = np.flatnonzero(ok)
        if len(candidates):
            jr, jc = divmod(int(rng.choice(candidates)), width - p + 1)
            return Box(r, c, p, p), Box(jr, jc, p, p)
    raise ValueError(
        f"no {p}x{p} patch pair at distance {min_distance}..{max_distance} fits a "
        f"{height}x{width} image"
    )


def choose_patch_order(boxes: tuple[Box, Box], rng: np.random.Generator) -> tuple[Box, Box]:
    """Is Same Class: I is one of the two image locations, uniformly, and J the other."""
    return boxes if rng.random() < 0.5 else (boxes[1], boxes[0])
