"""Run the paper's own code (its CP model, its normalized-gradient optimizer and its training step) on one
of our tf_dynamics problems from our run's initial factors, and log what our runs log.

The original repository (named in the spec) is not part of this project: pass a work tree of it with
--original. Its model is float32, as in the paper; the factors are our float64 draw rounded to float32
(the start of our float32 run). Each step is the original trainer's: zero the gradients, build the
tensor with the original model, take its MSE on the observations, step the original optimizer. The
original code stores a completion problem as dense one-hot measurement tensors and sums their products
with the tensor; here the observed entries are gathered instead, which gives the same float32 numbers
(every other term of those sums is an exact zero) at 1/2000 of the memory traffic. Writes a CSV:
iteration, train loss, reconstruction error, the ten largest component norms.

    python docs/notes/tf_dynamics_original_code.py --original ORIGINAL --data DATA.npz --init-std 0.005 \
        --seed 1 --iterations 6000 --out original.csv
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd
import torch
from torch import nn

from impreg.data.synthetic import CompletionData
from impreg.train.tf_dynamics import initial_model


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--original", required=True, help="work tree of the paper's repository")
    p.add_argument("--data", required=True, help="our make-data tf-dynamics file")
    p.add_argument("--init-std", type=float, required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--iterations", type=int, required=True)
    p.add_argument("--lr", type=float, default=1e-2)
    p.add_argument("--log-every", type=int, default=25)
    p.add_argument("--out", required=True)
    args = p.parse_args()

    sys.path.insert(0, args.original)
    import common.train.callbacks  # noqa: F401  (the original's modules import each other in this order)
    from common.train.optim import GroupRMSprop
    from tensor_factorization.models.tensor_factorizations import TensorCPFactorization

    data = CompletionData.load(args.data)
    dims = data.target.shape
    ours = initial_model(dims, 1000, args.init_std, args.seed)
    model = TensorCPFactorization(num_dim_per_mode=list(dims), init_std=args.init_std)
    with torch.no_grad():
        for theirs, mine in zip(model.factors, ours.factors):
            theirs.copy_(mine.to(torch.float32))
    target = torch.as_tensor(data.target, dtype=torch.float32)
    observed = torch.as_tensor(data.flat_indices)
    values = target.reshape(-1)[observed]
    optimizer, loss_fn = GroupRMSprop(model.parameters(), lr=args.lr), nn.MSELoss()
    rows = []
    for it in range(args.iterations + 1):
        if it % args.log_every == 0:
            rows.append(_row(it, model, observed, values, target))
        if it < args.iterations:
            optimizer.zero_grad()
            loss_fn(model.compute_tensor().reshape(-1)[observed], values).backward()
            optimizer.step()
    pd.DataFrame(rows).to_csv(args.out, index=False)


@torch.no_grad()
def _row(
    iteration: int,
    model: nn.Module,
    observed: torch.Tensor,
    values: torch.Tensor,
    target: torch.Tensor,
) -> dict:
    full = model.compute_tensor()
    pred = full.reshape(-1)[observed]
    norms = torch.ones(model.rank)
    for f in model.factors:
        norms = norms * f.norm(dim=0)
    top = torch.topk(norms, 10).values.double().numpy()
    return {
        "iteration": iteration,
        "train_loss": float(((pred - values) ** 2).mean()),
        "reconstruction_error": float((full - target).norm() / target.norm()),
        **{f"top_component_{k}": float(v) for k, v in enumerate(np.asarray(top))},
    }


if __name__ == "__main__":
    main()
