"""Step throughput of the tensor-factorization dynamics (P1 Figure 3), side by side in one run.

  original : the original code's formulation: every observation a dense one-hot sensing tensor,
             the full tensor built by einsum, prediction = <X_i, W> as an elementwise product
             summed per observation (as the original trainer computes it)
  original-gemv : the same inner products as one matrix-vector product (a stronger baseline)
  gather   : predictions from the factor rows of each observed entry (no full tensor)
  full-autograd : the full tensor from two Khatri-Rao products and one matrix product, the
             observed entries picked out, autograd's backward
  impreg   : the same forward with the backward written out (loss gradient on the full tensor,
             then two matrix products): what the training loop uses

Each step is forward, mean squared loss, backward and a normalized-gradient RMSprop step, at
the paper's settings (order 4, mode dim 10, R = 1000, 2000 observations).

    python benchmarks/tf_dynamics_step.py [--threads 2] [--full-runs]

--full-runs also times the three Figure 3 runs (inits 0.05, 0.01, 0.005, seed 0) to the stopping rule.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from impreg.data.synthetic import make_cp_completion  # noqa: E402
from impreg.factorizations.cp import CPFactorization  # noqa: E402
from impreg.optim import NormalizedGradRMSprop  # noqa: E402
from impreg.train.tf_dynamics import completion_loss_and_grad  # noqa: E402

KINDS = ("original", "original-gemv", "gather", "full-autograd", "impreg")


def make_step(kind: str, data, device: torch.device, dtype: torch.dtype = torch.float32):
    dims = data.target.shape
    model = CPFactorization(
        dims, 1000, 0.005, generator=torch.Generator().manual_seed(0), dtype=dtype
    ).to(device)
    opt = NormalizedGradRMSprop(model.parameters())
    y = torch.as_tensor(data.values, dtype=dtype, device=device)
    if kind.startswith("original"):
        flat = torch.as_tensor(data.flat_indices, device=device)
        sensing = torch.zeros(len(flat), *dims, device=device, dtype=dtype)  # dense one-hot tensors
        sensing.view(len(flat), -1)[torch.arange(len(flat)), flat] = 1.0
        spec = "ir,jr,kr,lr->ijkl"

        def predict():
            full = torch.einsum(spec, *model.factors)
            if kind == "original-gemv":
                return sensing.view(len(flat), -1) @ full.reshape(-1)
            return (sensing * full.unsqueeze(0)).view(len(flat), -1).sum(dim=1)
    elif kind == "gather":
        idx = torch.as_tensor(data.indices, device=device)

        def predict():
            return model.gather_entries(idx)
    elif kind == "full-autograd":
        flat = torch.as_tensor(data.flat_indices, device=device)

        def predict():
            return model.full_tensor().reshape(-1)[flat]
    else:
        mask = torch.zeros(data.target.size, dtype=torch.bool, device=device)
        mask[torch.as_tensor(data.flat_indices, device=device)] = True
        mask = mask.reshape(dims)
        observed = torch.where(mask, torch.as_tensor(data.target, dtype=dtype, device=device), 0.0)

        def step():
            with torch.no_grad():
                halves = model.halves()
                full = (halves[0] @ halves[1].T).reshape(dims)
            loss, grad = completion_loss_and_grad(full, mask, observed, len(y), "l2", 1.0)
            opt.zero_grad(set_to_none=True)
            model.backward_from_tensor_grad(grad, halves)
            opt.step()
            return loss

        return step

    def step():
        loss = F.mse_loss(predict(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss

    return step


def time_steps(step, seconds: float, device: torch.device) -> float:
    for _ in range(10):
        step()
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
        n += 1
    if device.type == "cuda":
        torch.cuda.synchronize()
    return n / (time.perf_counter() - start)


def full_runs(dtype: str) -> None:
    from impreg.train.tf_dynamics import TFDynamicsConfig, run

    data = make_cp_completion(4, 10, 5, 1.0, 2000, seed=0)
    total = 0.0
    print("\n| init | status | iterations | wall s | it/s |\n|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for init in (0.05, 0.01, 0.005):
            cfg = TFDynamicsConfig(
                init_std=init,
                num_components=1000,
                max_iterations=100_000,
                dtype=dtype,
                device="cpu",
            )
            s = run(cfg, data, Path(tmp) / str(init))
            total += s["wall_seconds"]
            print(
                f"| {init:g} | {s['status']} | {s['iterations']} | {s['wall_seconds']:.1f} | {s['iterations_per_second']:.0f} |"
            )
    print(
        f"\nAll three Figure 3 runs: {total:.1f} s ({total / 60:.2f} min) on {torch.get_num_threads()} threads."
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=10.0, help="timing window per formulation")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--full-runs", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    data = make_cp_completion(4, 10, 5, 1.0, 2000, seed=0)

    dtype = getattr(torch, args.dtype)
    rates = {
        kind: time_steps(make_step(kind, data, device, dtype), args.seconds, device)
        for kind in KINDS
    }
    print(
        f"Figure 3 step (order 4, dim 10, R 1000, 2000 observations) on {args.device}, {args.dtype}, "
        f"{args.threads} threads\n"
    )
    print("| formulation | iterations/s | speed-up vs original |\n|---|---|---|")
    for kind, rate in rates.items():
        print(f"| {kind} | {rate:.1f} | {rate / rates['original']:.1f}x |")
    if args.full_runs:
        full_runs(args.dtype)


if __name__ == "__main__":
    main()
