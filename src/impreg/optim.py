"""The papers' adaptive step: RMSprop on the squared norm of the whole gradient.

One scalar second-moment estimate is shared by every parameter, so each step moves all
parameters along the plain gradient, only rescaled in time. This is what both papers call
"an adaptive learning rate": gradient descent whose step size adapts to the gradient norm.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch


class NormalizedGradRMSprop(torch.optim.Optimizer):
    """theta <- theta - lr * g / (sqrt(s_hat) + eps), with s an EMA of ||g||^2 over all parameters.

    s_t = alpha * s_{t-1} + (1 - alpha) * ||g_t||^2 and s_hat_t = s_t / (1 - alpha^t) (bias
    correction), where ||g_t|| is the norm of the concatenated gradient of every parameter.
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-6,
    ) -> None:
        if lr <= 0 or not 0 <= alpha < 1 or eps < 0:
            raise ValueError(
                f"invalid NormalizedGradRMSprop settings lr={lr} alpha={alpha} eps={eps}"
            )
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps))
        self.state["shared"] = {"step": 0, "square_avg": 0.0}

    @torch.no_grad()
    def step(self, closure=None):  # noqa: D102 - torch signature
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        grads = [
            p.grad for group in self.param_groups for p in group["params"] if p.grad is not None
        ]
        if not grads:
            return loss
        sq_norm = float(torch.stack([g.pow(2).sum() for g in grads]).sum())
        shared = self.state["shared"]
        group0 = self.param_groups[0]
        alpha, eps = group0["alpha"], group0["eps"]
        shared["step"] += 1
        shared["square_avg"] = alpha * shared["square_avg"] + (1 - alpha) * sq_norm
        s_hat = shared["square_avg"] / (1 - alpha ** shared["step"])
        denom = math.sqrt(s_hat) + eps
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.add_(p.grad, alpha=-group["lr"] / denom)
        return loss
