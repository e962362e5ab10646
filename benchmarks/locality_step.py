"""Training throughput of the plain step vs the separation-rank-regularized step (spec 2.4).

Plain: forward, BCE, backward, SGD. Regularized: two forwards with input gradients kept in the
graph, BCE + lam * penalty, double backprop, SGD, in two formulations timed side by side: ``old``,
torch's autograd throughout with the gradients taken at the input (kept here as the reference), and
``new``, the training code's step (``impreg.train.locality._train_step``). The ratios of their step
times to the plain step's are the price of the regularizer. ``--penalty-batches 16 32`` also times
the training code's step with the penalty on that many samples of the batch (``sub16``, ``sub32``).

    PYTHONPATH=src python benchmarks/locality_step.py --width 8 --image-size 64 --threads 1
    PYTHONPATH=src python benchmarks/locality_step.py --width 8 --image-size 64 --penalty-batches 16 32
    PYTHONPATH=src python benchmarks/locality_step.py --width 16 --image-size 64 --batch 16
    PYTHONPATH=src python benchmarks/locality_step.py --image-size 150 --batch 64 --channels-last --amp bf16  # GPU
"""

from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from impreg.data.is_same_class import pair_boxes
from impreg.models.resnet import build_resnet, count_parameters
from impreg.regularizers import (
    Box,
    PenaltyOutput,
    abs_cosine,
    choose_patch_order,
    sample_patch_pair,
    swap_patch,
)
from impreg.train.common import device_description, resolve_device
from impreg.train.locality import _Step, _train_step


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arch", default="resnet18", choices=["resnet18", "resnet34"])
    p.add_argument("--width", type=int, default=64, help="stage-1 width (64 = torchvision's model)")
    p.add_argument(
        "--task",
        default="pathfinder",
        choices=["pathfinder", "is_same"],
        help="pathfinder: 1 channel, random p x p patches; is_same: 3 channels, the two image boxes",
    )
    p.add_argument("--image-size", type=int, default=150)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--patch-size", type=int, default=2, help="pathfinder patch side")
    p.add_argument("--distance", type=int, default=80, help="is_same gap between the images")
    p.add_argument("--lam", type=float, default=9.0)
    p.add_argument("--steps", type=int, default=10, help="timed steps per mode")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=1, help="CPU threads (the machine is shared)")
    p.add_argument("--channels-last", action="store_true")
    p.add_argument("--amp", default="none", choices=["none", "bf16"], help="autocast dtype")
    p.add_argument(
        "--bn-eval",
        action="store_true",
        help="diagnostic, not the paper's setting: BatchNorm as a fixed affine map, which drops "
        "its double backward and the penalty's path back into the forward graph",
    )
    p.add_argument(
        "--penalty-batches",
        type=int,
        nargs="*",
        default=[],
        help="also time the step with the penalty on this many samples of the batch",
    )
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def make_boxes(args: argparse.Namespace, rng: np.random.Generator) -> Callable[[], tuple[Box, Box]]:
    if args.task == "is_same":
        boxes = pair_boxes(args.distance, args.image_size * 32 // 224, args.image_size)
        return lambda: choose_patch_order(boxes, rng)
    return lambda: sample_patch_pair(args.image_size, args.image_size, args.patch_size, rng)


def old_penalty(model: nn.Module, x: torch.Tensor, box_i: Box, box_j: Box) -> PenaltyOutput:
    """The reference formulation: one autograd.grad per pass, at the input, with torch's own
    BatchNorm double backward."""

    def input_gradient(inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        inputs = inputs.detach().requires_grad_(True)
        logits = model(inputs)
        return logits, torch.autograd.grad(logits.sum(), inputs, create_graph=True)[0]

    logits, grad = input_gradient(x)
    _, grad_swapped = input_gradient(swap_patch(x.detach(), box_j))
    cos = abs_cosine(grad[(..., *box_i.slices)], grad_swapped[(..., *box_i.slices)])
    return PenaltyOutput(penalty=cos.mean().to(torch.float32), logits=logits)


def time_interleaved(
    steps: dict[str, Callable[[], None]], repeats: int, warmup: int, device: torch.device
) -> dict[str, np.ndarray]:
    """Seconds per step of each mode, the modes alternating so that a neighbour's load on a shared
    machine hits them alike."""
    for _ in range(warmup):
        for step in steps.values():
            step()
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            start = time.perf_counter()
            step()
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            times[name].append(time.perf_counter() - start)
    return {name: np.array(t) for name, t in times.items()}


def main(argv: list[str] | None = None) -> dict[str, float]:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    device = resolve_device(args.device)
    channels = 1 if args.task == "pathfinder" else 3
    fmt = torch.channels_last if args.channels_last else torch.contiguous_format
    model = build_resnet(args.arch, in_channels=channels, width=args.width).to(
        device, memory_format=fmt
    )
    model.train(not args.bn_eval)
    opt = torch.optim.SGD(model.parameters(), lr=1e-2, momentum=0.9)
    x = torch.randn(args.batch, channels, args.image_size, args.image_size, device=device)
    x = x.contiguous(memory_format=fmt)
    y = torch.randint(0, 2, (args.batch,), device=device).float()
    boxes = make_boxes(args, np.random.default_rng(args.seed))

    def autocast() -> contextlib.AbstractContextManager:
        if args.amp == "bf16":
            return torch.autocast(device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def bce(logits: torch.Tensor) -> torch.Tensor:
        return nn.functional.binary_cross_entropy_with_logits(logits.float().squeeze(1), y)

    def plain() -> None:
        opt.zero_grad(set_to_none=True)
        with autocast():
            loss = bce(model(x))
        loss.backward()
        opt.step()

    def old() -> None:
        opt.zero_grad(set_to_none=True)
        box_i, box_j = boxes()
        with autocast():
            out = old_penalty(model, x, box_i, box_j)
            loss = bce(out.logits) + args.lam * out.penalty
        loss.backward()
        opt.step()

    step = _Step(model, opt, args.lam, autocast, fmt, input_conv=model.conv1)

    def new() -> None:
        _train_step(step, x, y, boxes())

    def on_part(k: int) -> Callable[[], None]:
        part = _Step(model, opt, args.lam, autocast, fmt, input_conv=model.conv1, penalty_batch=k)
        return lambda: _train_step(part, x, y, boxes())

    modes = {"plain": plain, "old": old, "new": new} | {
        f"sub{k}": on_part(k) for k in args.penalty_batches
    }
    times = time_interleaved(modes, args.steps, args.warmup, device)
    print(
        f"# {args.arch} width {args.width} ({count_parameters(model) / 1e6:.2f}M params), {args.task}, "
        f"{channels}x{args.image_size}x{args.image_size}, batch {args.batch}, {device_description(device)}, "
        f"channels_last={args.channels_last}, amp={args.amp}, bn_eval={args.bn_eval}, {args.steps} steps each"
    )
    print(f"{'step':<8}{'median ms':>10}{'min ms':>9}{'images/s':>10}{'x plain':>9}")
    median = {name: float(np.median(t)) for name, t in times.items()}
    for name, t in times.items():
        print(
            f"{name:<8}{1e3 * median[name]:>10.1f}{1e3 * t.min():>9.1f}{args.batch / median[name]:>10.1f}"
            f"{median[name] / median['plain']:>9.2f}"
        )
    ratios = {f"{name}_ratio": median[name] / median["plain"] for name in modes if name != "plain"}
    ratios["new_ratio_min"] = float(times["new"].min() / times["plain"].min())
    print(
        f"ratios to plain (medians): old {ratios['old_ratio']:.2f}, new {ratios['new_ratio']:.2f} "
        f"(minimums: new {ratios['new_ratio_min']:.2f}); new is {median['old'] / median['new']:.2f}x faster than old"
    )
    return {f"{name}_s": value for name, value in median.items()} | ratios


if __name__ == "__main__":
    main()
