"""Step time of the pixel CP model (forward + backward + Adam step): log-domain vs the original.

    PYTHONPATH=src python benchmarks/pixel_cp_step.py [--device cpu|cuda] [--threads 1]

Prints one table: the original formulation (one-hot einsum to batch x pixels x R, product
over pixels), the log-domain one at the same size, and packs of many models (ranks 1..R x
seeds, in one or several data groups) fitted in one step.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from impreg.factorizations.pixel_cp import ModelSpec, PixelCP, init_factors, train_loss


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_steps(step: Callable[[], None], device: torch.device, steps: int, warmup: int) -> float:
    """Median seconds per call of ``step`` after ``warmup`` calls."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        _sync(device)
        t0 = time.perf_counter()
        step()
        _sync(device)
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


def original_step(
    num_pixels: int, rank: int, x: torch.Tensor, y: torch.Tensor
) -> Callable[[], None]:
    """The original: one-hot inputs precomputed (as its data module does), einsum, prod, MSE, Adam."""
    factors = init_factors(num_pixels, rank, seed=0).to(x.device).requires_grad_(True)
    onehot = F.one_hot(x.long(), 2).float()
    opt = torch.optim.Adam([factors], lr=5e-4)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        pred = torch.einsum("sab,abt->sat", onehot, factors).prod(dim=1).sum(dim=1)
        ((pred - y) ** 2).mean().backward()
        opt.step()

    return step


def pack_step(model: PixelCP, x: torch.Tensor, y: torch.Tensor) -> Callable[[], None]:
    opt = torch.optim.Adam(model.parameters(), lr=5e-4)
    target = model.expand_targets(y)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        train_loss(model(x), target).backward()
        opt.step()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--pixels", type=int, default=784)
    parser.add_argument("--rank", type=int, default=15)
    parser.add_argument("--seeds", type=int, default=3, help="seeds per rank in the packed runs")
    parser.add_argument(
        "--groups",
        type=int,
        default=6,
        help="data groups in the largest pack (datasets x controls)",
    )
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--original-steps", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    gen = torch.Generator().manual_seed(0)
    B, P, R = args.batch, args.pixels, args.rank
    x = torch.randint(0, 2, (B, P), generator=gen).float().to(device)
    y = (2.0 * (torch.rand(B, generator=gen) < 0.1)).to(device)

    rows: list[tuple[str, int, int, float]] = []  # (label, models, components, seconds per step)
    t_orig = time_steps(original_step(P, R, x, y), device, args.original_steps, warmup=1)
    rows.append((f"original einsum+prod, R={R}", 1, R, t_orig))
    t_log = time_steps(
        pack_step(PixelCP.single(P, R, 0, device=device), x, y), device, args.steps, warmup=2
    )
    rows.append((f"log-domain, R={R}", 1, R, t_log))

    sweep = [ModelSpec(r, s) for r in range(1, R + 1) for s in range(args.seeds)]
    one_group = PixelCP(P, sweep, device=device)
    rows.append(
        (
            f"pack: ranks 1..{R} x {args.seeds} seeds",
            len(sweep),
            one_group.slots,
            time_steps(pack_step(one_group, x, y), device, args.steps, warmup=2),
        )
    )
    G = args.groups
    grouped = PixelCP(
        P, [ModelSpec(s.rank, s.seed, g) for g in range(G) for s in sweep], device=device
    )
    xg = torch.randint(0, 2, (G, B, P), generator=gen).float().to(device)
    yg = (2.0 * (torch.rand(G, B, generator=gen) < 0.1)).to(device)
    rows.append(
        (
            f"pack: {G} groups x ranks 1..{R} x {args.seeds} seeds",
            grouped.num_models,
            G * grouped.slots,
            time_steps(pack_step(grouped, xg, yg), device, args.steps, warmup=2),
        )
    )

    where = (
        torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else f"cpu, {torch.get_num_threads()} thread(s)"
    )
    print(
        f"pixel CP step = forward + backward + Adam; batch {B}, {P} pixels, float32, {where}, torch {torch.__version__}"
    )
    print(
        f"{'formulation':<44} {'models':>6} {'comps':>6} {'ms/step':>9} {'ms/model-step':>14} {'speed-up':>9}"
    )
    for label, models, comps, sec in rows:
        # speed-up: the original's time for one R-component model-step over this row's per-model time
        per_model = sec / models
        speedup = t_orig / per_model if label.startswith(("log", "pack")) else 1.0
        print(
            f"{label:<44} {models:>6} {comps:>6} {1e3 * sec:>9.1f} {1e3 * per_model:>14.2f} {speedup:>8.0f}x"
        )
    print(
        f"speed-up = original R={R} step time / ms per model-step (pack models have ranks 1..{R})"
    )
    print(f"log-domain vs original at R={R}: {t_orig / t_log:.0f}x faster per step")


if __name__ == "__main__":
    main()
