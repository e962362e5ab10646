"""Achieved GFLOP/s of one HTF training step (forward + backward) against a plain matrix product.

    python benchmarks/htf_step.py --order 4 --mode-dim 16 --widths 512 --num-obs 2048 --threads 1

Each prediction method of ``HierarchicalTensorFactorization.gather_entries`` is timed on the
same observations (MSE loss on random targets, gradients of every parameter, no optimizer
step), its FLOPs are counted analytically (see ``step_flops``), and the rate is compared with
torch matrix products of the step's dominant shape and of square shapes: the practical limit
of this machine for float32 work of this size.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from impreg.factorizations.hierarchical import EntryPlan, HierarchicalTensorFactorization  # noqa: E402

METHODS = ("distinct", "full", "per_observation")


def step_flops(model: HierarchicalTensorFactorization, plan: EntryPlan | None) -> int:
    """Floating point operations of one forward + backward step (adds and multiplies each count 1).

    Per internal non-root node with k children, m rows, width R and parent width P:
      - product pooling: (k - 1) m R multiplies forward; backward each binary product sends
        grad * other to both factors, 2 (k - 1) m R, and the row gradients are summed back into
        the children's rows (index_add or broadcast reduction), k m R adds;
      - h @ W: 2 m R P forward, 2 m R P for dL/dh = g W^T and 2 m R P for dL/dW = h^T g.
    The root, with a bilinear plan (and in ``full``), pools each half of its children into
    M_l and M_r rows as above, scales the left by w_out (M_l R forward, 2 M_l R backward) and
    forms the (M_l x R)(R x M_r) product: 2 M_l M_r R forward, 4 M_l M_r R backward. Without it,
    it pools n rows and takes h @ w_out: 2 n R forward, n R (g w_out^T) + 2 n R (h^T g) backward.
    Gathers, the loss and zero-fills move memory but do no arithmetic and are not counted.
    m is the plan's row count (distinct sub-index tuples, or n per observation); ``full`` uses
    every sub-index tuple (m = product of the node's mode sizes).

    Order 4, d = 16, widths 512, 2048 observations, ``distinct``: both bottom nodes have all
    m = 256 pairs, so h @ W costs 6 * 256 * 512 * 512 = 403 MFLOP each (806 in all), pooling
    5 * 256 * 512 = 0.7 MFLOP each, and the root 6 * 256 * 256 * 512 = 201 MFLOP plus 0.4:
    about 1.01 GFLOP, 80% of it in the bottom nodes' products.
    """
    if plan is None:
        rows = [math.prod(model.dims[m] for m in node.modes) for node in model.nodes]
        bilinear = True
    else:
        rows, bilinear = plan.num_rows, plan.bilinear_root
    total = 0
    for i, node in enumerate(model.nodes):
        if node.is_leaf:
            continue
        k, width = len(node.children), model.rank(i)
        if node.parent is not None:
            total += _pool_flops(k, rows[i], width) + 6 * rows[i] * width * model.rank(node.parent)
        elif bilinear:
            half = k // 2
            m_left = math.prod(rows[c] for c in node.children[:half])
            m_right = math.prod(rows[c] for c in node.children[half:])
            total += _pool_flops(half, m_left, width) + _pool_flops(k - half, m_right, width)
            total += 3 * m_left * width + 6 * m_left * m_right * width
        else:
            total += _pool_flops(k, rows[i], width) + 5 * rows[i] * width
    return total


def _pool_flops(k: int, m: int, width: int) -> int:
    """Product pooling of k factors into m rows of ``width``, forward + backward (0 for one factor)."""
    return 0 if k < 2 else (3 * (k - 1) + k) * m * width


def time_rounds(
    fns: dict[str, Callable[[], object]], rounds: int, repeats: int, warmup: int = 2
) -> dict[str, list[float]]:
    """Seconds per call of each function, interleaved round by round so load changes hit all alike."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            for _ in range(warmup):
                fn()
            for _ in range(repeats):
                start = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--order", type=int, default=4)
    parser.add_argument("--mode-dim", type=int, default=16)
    parser.add_argument(
        "--widths", type=int, nargs="+", default=[512], help="one width, or one per layer"
    )
    parser.add_argument("--num-obs", type=int, default=2048)
    parser.add_argument("--pool-size", type=int, default=2)
    parser.add_argument("--pattern", default="adjacent")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds over all kernels")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per kernel per round")
    parser.add_argument(
        "--methods", default=",".join(METHODS), help=f"comma-separated subset of {METHODS}"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(args.seed)
    dims = (args.mode_dim,) * args.order
    widths = args.widths[0] if len(args.widths) == 1 else args.widths
    model = HierarchicalTensorFactorization(
        dims, widths, 1e-2, pool_size=args.pool_size, pattern=args.pattern, generator=gen
    )
    flat = torch.randperm(args.mode_dim**args.order, generator=gen)[: args.num_obs]
    indices = torch.stack(torch.unravel_index(flat, dims), dim=1)
    targets = torch.randn(args.num_obs, generator=gen)

    kernels: dict[str, Callable[[], object]] = {}
    flops: dict[str, int] = {}
    for method in args.methods.split(","):
        plan = (
            None if method == "full" else model.entry_plan(indices, distinct=method == "distinct")
        )

        def step(method=method, plan=plan):
            model.zero_grad(set_to_none=True)
            F.mse_loss(
                model.gather_entries(plan if plan is not None else indices, method=method), targets
            ).backward()

        name = f"htf step, {method}" + (
            ", bilinear root" if plan is not None and plan.bilinear_root else ""
        )
        kernels[name], flops[name] = step, step_flops(model, plan)

    # references: the step's dominant product (bottom node rows x width x parent width) and squares
    width = model.widths[0]
    parent = model.widths[1] if model.num_layers > 1 else 1
    for m, k, n in [
        (args.mode_dim ** min(args.pool_size, args.order), width, parent),
        (width, width, width),
        (args.num_obs, width, width),
    ]:
        a, b = torch.randn(m, k, generator=gen), torch.randn(k, n, generator=gen)
        name = f"matmul ({m}x{k})@({k}x{n})"
        kernels[name], flops[name] = (lambda a=a, b=b: a @ b), 2 * m * k * n

    times = time_rounds(kernels, args.rounds, args.repeats)
    print(
        f"HTF step: order {args.order}, mode dim {args.mode_dim}, widths {model.widths}, tree {model.tree}, "
        f"{args.num_obs} observations, {torch.get_num_threads()} thread(s), torch {torch.__version__}"
    )
    print(
        f"{'kernel':<40}{'GFLOP':>8}{'ms min':>9}{'ms med':>9}{'GFLOP/s best':>14}{'GFLOP/s med':>13}"
    )
    for name, ts in times.items():
        best, med = min(ts), statistics.median(ts)
        gf = flops[name] / 1e9
        print(
            f"{name:<40}{gf:>8.3f}{best * 1e3:>9.2f}{med * 1e3:>9.2f}{gf / best:>14.1f}{gf / med:>13.1f}"
        )


if __name__ == "__main__":
    main()
