"""GPU hours of the paper-scale locality sweep (P2 Fig. C and its ResNet34 twin), from counted FLOPs.

The FLOPs of one training image (plain step, regularized step) and one test image (forward in eval
mode) are counted by torch's FlopCounterMode on the real step at the paper's sizes (224 px RGB
canvases, 150 px one-channel Pathfinder images), so the only assumptions are the GPU's sustained
FLOP rate and the number of epochs a run takes before its stop rule. Both are arguments, and the
table states them.

    PYTHONPATH=src python benchmarks/locality_gpu_hours.py --tflops 30 60 --epochs 50 150
    PYTHONPATH=src python benchmarks/locality_gpu_hours.py --measure   # on a GPU: the rate of this one
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

from impreg.data.is_same_class import pair_boxes
from impreg.models.resnet import build_resnet
from impreg.regularizers import sample_patch_pair, separation_penalty
from impreg.train.common import device_description, resolve_device

# task -> (channels, image side, train images, test images, lambdas > 0, lambda = 0, ranges)
TASKS = {
    "is_same_class": (3, 224, 5000, 10000, 2, 1, 5),
    "pathfinder": (1, 150, 10000, 10000, 2, 1, 4),
}


def steps(arch: str, task: str, batch: int, device: torch.device) -> dict[str, callable]:
    """The three kinds of work of a run, as closures over one model and batch."""
    channels, side = TASKS[task][:2]
    model = build_resnet(arch, in_channels=channels).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=1e-2, momentum=0.9)
    x = torch.randn(batch, channels, side, side, device=device)
    y = torch.randint(0, 2, (batch,), device=device).float()
    rng = np.random.default_rng(0)
    boxes = pair_boxes(80) if task == "is_same_class" else sample_patch_pair(side, side, 2, rng)

    def bce(logits: torch.Tensor) -> torch.Tensor:
        return nn.functional.binary_cross_entropy_with_logits(logits.squeeze(1), y)

    def plain() -> None:
        model.train()
        opt.zero_grad(set_to_none=True)
        bce(model(x)).backward()
        opt.step()

    def regularized() -> None:
        model.train()
        opt.zero_grad(set_to_none=True)
        out = separation_penalty(model, x, *boxes)
        (bce(out.logits) + out.penalty).backward()
        opt.step()

    def evaluate() -> None:
        model.eval()
        with torch.no_grad():
            model(x)

    return {"plain": plain, "regularized": regularized, "eval": evaluate}


class _FlopCount(TorchDispatchMode):
    """Sums torch's per-op FLOP formulas (convolutions, their backward, matmuls) over every op run.
    FlopCounterMode itself cannot be used: its module hooks break autograd.grad(create_graph=True)."""

    def __init__(self) -> None:
        super().__init__()
        self.flops = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        formula = flop_registry.get(func._overloadpacket)
        if formula is not None:
            shapes = torch.utils._pytree.tree_map(
                lambda t: t.shape if isinstance(t, torch.Tensor) else t, (args, kwargs, out)
            )
            a, k, o = shapes
            self.flops += formula(*a, **k, out_val=o)
        return out


def count_flops(fn: callable) -> int:
    with _FlopCount() as counter:
        fn()
    return counter.flops


def time_step(fn: callable, device: torch.device, repeats: int = 10) -> float:
    for _ in range(3):
        fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return (time.perf_counter() - start) / repeats


def sweep_flops(
    per_image: dict[tuple[str, str], dict[str, float]], epochs: int, seeds: int
) -> float:
    """FLOPs of the whole sweep (both archs, both tasks, every range, lambda and seed) at ``epochs``."""
    total = 0.0
    for (_arch, task), f in per_image.items():
        _, _, n_train, n_test, n_reg, n_plain, n_ranges = TASKS[task]
        per_epoch_reg = n_train * f["regularized"] + n_test * f["eval"]
        per_epoch_plain = n_train * f["plain"] + n_test * f["eval"]
        total += seeds * n_ranges * epochs * (n_reg * per_epoch_reg + n_plain * per_epoch_plain)
    return total


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--tflops",
        type=float,
        nargs="+",
        default=[30.0, 60.0],
        help="sustained GPU rates to tabulate (TFLOP/s)",
    )
    p.add_argument(
        "--epochs", type=int, nargs="+", default=[50, 150], help="epochs per run to tabulate"
    )
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument(
        "--batch", type=int, default=2, help="images per counted step (FLOPs scale with it)"
    )
    p.add_argument(
        "--measure", action="store_true", help="also time the steps here and use this device's rate"
    )
    p.add_argument("--device", default="auto")
    args = p.parse_args(argv)
    device = resolve_device(args.device)
    per_image: dict[tuple[str, str], dict[str, float]] = {}
    rates = []
    for arch in ("resnet18", "resnet34"):
        for task in TASKS:
            fns = steps(arch, task, args.batch, device)
            per_image[arch, task] = {name: count_flops(fn) / args.batch for name, fn in fns.items()}
            f = per_image[arch, task]
            line = (
                f"{arch} {task:<14} GFLOP/image: plain {f['plain'] / 1e9:6.1f}  regularized "
                f"{f['regularized'] / 1e9:6.1f} ({f['regularized'] / f['plain']:.2f}x)  eval {f['eval'] / 1e9:5.1f}"
            )
            if args.measure:
                t = {name: time_step(fn, device) for name, fn in fns.items()}
                rate = sum(f[n] * args.batch for n in t) / sum(t.values())
                rates.append(rate)
                line += (
                    f"  | {device_description(device)}: plain {args.batch / t['plain']:.0f} img/s, "
                    f"regularized {args.batch / t['regularized']:.0f} img/s, {rate / 1e12:.2f} TFLOP/s"
                )
            print(line)
    tflops = list(args.tflops) + ([float(np.median(rates)) / 1e12] if rates else [])
    print(f"\nGPU hours of the paper sweep (2 archs x (15 + 12) settings x {args.seeds} seeds):")
    print(f"{'epochs/run':>10}" + "".join(f"{f'{r:.1f} TFLOP/s':>16}" for r in tflops))
    for epochs in args.epochs:
        flops = sweep_flops(per_image, epochs, args.seeds)
        print(f"{epochs:>10}" + "".join(f"{flops / (r * 1e12) / 3600:>16.1f}" for r in tflops))


if __name__ == "__main__":
    main()
