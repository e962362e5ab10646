"""CP factorization of an order-P tensor with mode dimension 2, evaluated at binary images.

A model has factors f[p, v, r] (P pixels, 2 pixel values, R components) and predicts, for a
binary image x in {0,1}^P, W[x] = sum_r prod_p f[p, x_p, r]. The original code forms the
(batch, P, R) tensor of selected factors and multiplies along P. Here the product is one
matrix product in log-magnitude, with the sign tracked by counting negative factors:

    log|W_r[x]| = sum_p log|f[p,0,r]| + x . (log|f[:,1,r]| - log|f[:,0,r]|)
    #neg_r[x]   = sum_p [f[p,0,r] < 0] + x . ([f[:,1,r] < 0] - [f[:,0,r] < 0])

so the forward pass is one (B, P) @ (P, 2R) product (both tables at once) and the backward one
(2P, B) @ (B, R) product (x and 1 - x, so that the x_p = 0 table's gradient is not a difference
of large sums), with no (B, P, R) intermediate. The count entries are in {-1, 0, 1} with sums
<= P, so they are exact in any float format that accumulates in fp32 (TF32 and bf16 inputs too).
The log sums want true fp32 products (torch's default): with TF32 on, each log difference
carries a ~1e-3 relative error into the sum over pixels.

Exactly-zero factors: |f| is clamped to the dtype's smallest normal number before the log, so
such a term evaluates to ~1e-38 (float32) times the rest instead of 0, and the zero factor gets
gradient 0 (the direct product gives it the product of the others). Exact zeros have
probability zero under the continuous init and Adam; near-zero factors are exact.

Many independent models (e.g. every (rank, seed) of a sweep) are fitted at once: their
components are packed side by side, so all of them share the same matrix products. Models are
arranged in groups, one per data stream (a dataset, control or batch order): all models of a
group see the same batch; different groups take their own batches through a batched product.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

# Labels are {0, 2}: errors divided by 4 read as if labels were {0, 1}.
ERROR_SCALE = 4.0
# Per-sample squared error cap for the test metric (the original's --max_test_sample_loss).
MAX_TEST_SAMPLE_LOSS = 4.0


@dataclass(frozen=True)
class ModelSpec:
    """One model of a pack: its number of components, its init seed and the data group it sees."""

    rank: int
    seed: int
    group: int = 0


def init_factors(
    num_pixels: int,
    rank: int,
    seed: int,
    init_mean: float = 1.0,
    init_std: float = 1e-3,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """(P, 2, R) factors i.i.d. N(init_mean, init_std^2) from a generator seeded with ``seed`` (on CPU)."""
    gen = torch.Generator().manual_seed(int(seed))
    return init_mean + init_std * torch.randn(num_pixels, 2, rank, generator=gen, dtype=dtype)


class PixelCP(nn.Module):
    """A pack of independent CP models over P binary pixels.

    ``factors`` has shape (G, P, 2, C): group g's models own consecutive columns of its C slots
    (padding columns, when groups differ in total rank, belong to no model and never move).
    Model m built alone from ``specs[m]`` (same seed) has exactly the same initial factors.
    """

    def __init__(
        self,
        num_pixels: int,
        specs: Sequence[ModelSpec],
        init_mean: float = 1.0,
        init_std: float = 1e-3,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__()
        if not specs:
            raise ValueError("PixelCP needs at least one model spec")
        if any(s.rank < 1 for s in specs):
            raise ValueError(f"every rank must be >= 1, got {[s.rank for s in specs]}")
        groups = sorted({s.group for s in specs})
        if groups != list(range(len(groups))):
            raise ValueError(f"groups must be numbered 0..G-1, got {groups}")
        self.num_pixels = int(num_pixels)
        self.specs = tuple(specs)
        self.num_groups = len(groups)
        per_group = [sum(s.rank for s in specs if s.group == g) for g in range(self.num_groups)]
        self.slots = max(per_group)
        factors = torch.full(
            (self.num_groups, self.num_pixels, 2, self.slots), float(init_mean), dtype=dtype
        )
        assign = torch.zeros(self.num_groups * self.slots, len(specs), dtype=dtype)
        columns: list[tuple[int, int, int]] = []  # (group, first slot, rank) per model
        used = [0] * self.num_groups
        for m, spec in enumerate(specs):
            start = used[spec.group]
            factors[spec.group, :, :, start : start + spec.rank] = init_factors(
                self.num_pixels, spec.rank, spec.seed, init_mean, init_std, dtype
            )
            assign[
                spec.group * self.slots + start : spec.group * self.slots + start + spec.rank, m
            ] = 1
            columns.append((spec.group, start, spec.rank))
            used[spec.group] += spec.rank
        self.columns = tuple(columns)
        self.factors = nn.Parameter(factors.to(device))
        # (G*C, M) 0/1: sums each model's components; padding rows are all zero
        self.register_buffer("assign", assign.to(device))
        self.register_buffer(
            "model_group", torch.tensor([s.group for s in specs], dtype=torch.long, device=device)
        )

    @classmethod
    def single(cls, num_pixels: int, rank: int, seed: int, **kwargs) -> PixelCP:
        return cls(num_pixels, [ModelSpec(rank, seed)], **kwargs)

    @property
    def num_models(self) -> int:
        return len(self.specs)

    def model_factors(self, m: int) -> torch.Tensor:
        """Model m's (P, 2, R) factors (a view that keeps gradients)."""
        g, start, rank = self.columns[m]
        return self.factors[g, :, :, start : start + rank]

    def component_values(self, x: torch.Tensor) -> torch.Tensor:
        """prod_p f[p, x_p, r] for every slot: (B, G, C). ``x`` is (B, P) shared by all groups or (G, B, P)."""
        f = self.factors
        G, P, _, C = f.shape
        if x.shape[-1] != P:
            raise ValueError(f"x has {x.shape[-1]} pixels, the model {P}")
        if not (x.dim() == 2 or (x.dim() == 3 and x.shape[0] == G)):
            raise ValueError(f"x must be (B, {P}) or ({G}, B, {P}), got {tuple(x.shape)}")
        log_abs = f.abs().clamp_min(torch.finfo(f.dtype).tiny).log()  # (G, P, 2, C)
        log_mag, neg = _PixelSums.apply(x.to(f.dtype), log_abs, (f < 0).to(f.dtype))
        sign = 1 - 2 * torch.remainder(torch.round(neg), 2)
        return sign * torch.exp(log_mag)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Predictions (B, M): column m is model m on its group's batch (row b of x or of x[group])."""
        values = self.component_values(x)
        return values.reshape(values.shape[0], -1) @ self.assign

    def expand_targets(self, y: torch.Tensor) -> torch.Tensor:
        """Targets (B,) shared, or (G, B) per group -> (B, M) aligned with forward's columns."""
        y = y.to(self.factors.dtype)
        if y.dim() == 1:
            return y[:, None].expand(-1, self.num_models)
        return y.t()[:, self.model_group]

    @torch.no_grad()
    def predict(self, x: torch.Tensor, batch_size: int = 10000) -> torch.Tensor:
        """forward over a large set in chunks (no gradients); x as in forward, chunked along B."""
        dim = 0 if x.dim() == 2 else 1
        return torch.cat([self(chunk) for chunk in torch.split(x, batch_size, dim=dim)], dim=0)


class _PixelSums(torch.autograd.Function):
    """sum_p T[p, x_p, c] for a log-magnitude table (differentiable) and a negative-indicator table.

    Forward: one product of x with the (x_p = 1) - (x_p = 0) differences of both tables, plus the
    x = 0 sums. Backward forms the two tables' gradients from x and 1 - x separately: writing
    the x_p = 0 one as (total - x-part) would cancel catastrophically when that factor is near
    zero (its samples' terms are tiny next to the others').
    """

    @staticmethod
    def forward(ctx, x, log_abs, neg):  # x (B, P) or (G, B, P); tables (G, P, 2, C)
        G, P, _, C = log_abs.shape
        table = torch.cat([log_abs, neg], dim=-1)  # (G, P, 2, 2C)
        # (G, P, 2C), (G, 2C)
        diff, base = (
            table[:, :, 1] - table[:, :, 0],
            table[:, :, 0].sum(dim=1),
        )
        if x.dim() == 2:  # one (B, P) @ (P, G * 2C) product for every model of every group
            sums = (x @ diff.permute(1, 0, 2).reshape(P, G * 2 * C)).view(-1, G, 2 * C)
        else:
            sums = torch.bmm(x, diff).transpose(0, 1)
        sums = sums + base
        ctx.save_for_backward(x)
        neg_count = sums[..., C:]
        ctx.mark_non_differentiable(neg_count)
        return sums[..., :C], neg_count

    @staticmethod
    def backward(ctx, grad_log, _grad_neg):  # grad_log (B, G, C)
        (x,) = ctx.saved_tensors
        B, G, C = grad_log.shape
        # two products rather than one with cat([1 - x, x]): the concatenation costs more than
        # both products at small R on a CPU
        if x.dim() == 2:
            g = grad_log.reshape(B, G * C)
            grad = (
                torch.stack([(1 - x).t() @ g, x.t() @ g], dim=1)
                .view(-1, 2, G, C)
                .permute(2, 0, 1, 3)
            )
        else:
            g = grad_log.transpose(0, 1)  # (G, B, C)
            grad = torch.stack(
                [torch.bmm((1 - x).transpose(1, 2), g), torch.bmm(x.transpose(1, 2), g)], dim=2
            )
        return None, grad, None


def direct_predict(factors: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """The original formulation for one model: one-hot einsum to (B, P, R), product over P, sum over R."""
    onehot = F.one_hot(x.long(), 2).to(factors.dtype)  # (B, P, 2)
    return torch.einsum("sab,abt->sat", onehot, factors).prod(dim=1).sum(dim=1)


def mse_per_model(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error of each column: (B, M) -> (M,)."""
    return (pred - target).pow(2).mean(dim=0)


def train_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Sum of per-model MSEs: its gradient for each model is that of its own MSE, so packed models stay independent."""
    return mse_per_model(pred, target).sum()


def clamped_sq_error(
    pred: torch.Tensor, target: torch.Tensor, max_loss: float = MAX_TEST_SAMPLE_LOSS
) -> torch.Tensor:
    """Per-sample squared error capped at ``max_loss`` (the test metric), same shape as pred."""
    return (pred - target).pow(2).clamp_max(max_loss)


def clamped_test_error(
    pred: torch.Tensor, target: torch.Tensor, max_loss: float = MAX_TEST_SAMPLE_LOSS
) -> torch.Tensor:
    """Reported test error per model: mean clamped squared error / 4, (B, M) -> (M,)."""
    return clamped_sq_error(pred, target, max_loss).mean(dim=0) / ERROR_SCALE


def scaled_error(mse: torch.Tensor | float) -> torch.Tensor | float:
    """A (train) MSE as reported: divided by 4, the {0, 2} -> {0, 1} label scale."""
    return mse / ERROR_SCALE
