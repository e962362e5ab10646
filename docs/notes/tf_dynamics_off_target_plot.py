"""The figures of docs/notes/tf_dynamics_off_target.md.

    python docs/notes/tf_dynamics_off_target_plot.py runs RUNS_DIR          # every paper-scale run that ends away
    python docs/notes/tf_dynamics_off_target_plot.py checks CHECKS_DIR      # step sizes, precisions, original code

RUNS_DIR holds the paper-scale run folders (results/paper/runs, or results/shipped/paper/runs); a run ends away
from its target when its final reconstruction error exceeds the claims' recovery_error (0.05). CHECKS_DIR
holds the metrics of the checks on init 0.005, seed 1 as <name>.csv.gz (the note gives the commands that
made them).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

HERE = Path(__file__).parent
RECOVERY_ERROR = 0.05  # tf_dynamics.claims.recovery_error
SMALL = {
    "tf_dynamics": (0.005, 0.01),
    "order3": (0.0013, 0.0032),
    "huber": (0.005, 0.01),
    "sensing": (0.005, 0.01),
}


def metrics(folder: Path) -> pd.DataFrame:
    name = "metrics.csv" if (folder / "metrics.csv").exists() else "metrics.csv.gz"
    return pd.read_csv(folder / name)


def off_target(runs: Path) -> list[tuple[str, Path]]:
    """The small-init runs of Figure 3 and its variants whose final error exceeds RECOVERY_ERROR."""
    out = []
    for folder in sorted(runs.glob("tf_dynamics*/*")):
        if not (folder / "summary.json").is_file():
            continue  # a run still going
        summary = json.loads((folder / "summary.json").read_text())
        family = "tf_dynamics" if folder.parent.name == "tf_dynamics" else folder.name.split("_")[0]
        init = summary["settings"]["init_std"]
        if (
            init in SMALL[family]
            and metrics(folder)["reconstruction_error"].iloc[-1] > RECOVERY_ERROR
        ):
            out.append(
                (f"{family} init {init:g} seed {summary['seed']} ({summary['status']})", folder)
            )
    return out


def plot_runs(runs: Path) -> None:
    found = off_target(runs)
    fig, axes = plt.subplots(
        len(found), 2, figsize=(9, 2.2 * len(found)), constrained_layout=True, squeeze=False
    )
    for (label, folder), (left, right) in zip(found, axes):
        h = metrics(folder)
        for k in range(10):
            left.plot(h["iteration"], h[f"top_component_{k}"], color=plt.cm.summer(k / 10), lw=1)
        left.set_yscale("log")
        left.set_ylim(1e-4, None)
        left.set_title(label, fontsize=8)
        left.set_ylabel("component norms")
        right.plot(h["iteration"], h["reconstruction_error"], label="reconstruction error")
        right.plot(
            h["iteration"], h["train_loss"] / h["train_loss"].iloc[0], label="train loss / initial"
        )
        right.set_yscale("log")
        right.legend(fontsize=7, frameon=False)
    for ax in axes[-1]:
        ax.set_xlabel("iterations")
    fig.savefig(HERE / "tf_dynamics_off_target_runs.png", dpi=110)
    print("\n".join(label for label, _ in found))


# the run itself (float64, lr 1e-2), as shipped
SHIPPED_RUN = (
    HERE.parents[1]
    / "results/shipped/paper/runs/tf_dynamics/order4_dim10_R1000_init0.005_seed1/metrics.csv.gz"
)
ESCAPED = 0.25  # a largest norm this size has left the initial plateau (norms start near 2e-7)


def plot_checks(checks: Path) -> None:
    series = {
        "ours, float64, lr 1e-2": "float64_lr0.01",
        "ours, float64, lr 3e-3": "float64_lr0.003",
        "ours, float64, lr 1e-3": "float64_lr0.001",
        "ours, float32, lr 1e-2": "float32_lr0.01",
        "original code, float32, lr 1e-2": "original",
    }
    lr = {"float64_lr0.003": 0.003, "float64_lr0.001": 0.001}  # the others 0.01
    fig, axes = plt.subplots(1, 4, figsize=(17, 3.3), constrained_layout=True)
    for (label, stem), color in zip(series.items(), ("C0", "C1", "C2", "C3", "k")):
        path = SHIPPED_RUN if stem == "float64_lr0.01" else checks / f"{stem}.csv.gz"
        if not path.exists():
            continue
        h = pd.read_csv(path)
        escape = int(h.loc[h["top_component_0"] >= ESCAPED, "iteration"].iloc[0])
        last = h.iloc[-1]
        print(
            f"{label}: largest norm reaches {ESCAPED} at iteration {escape}; at iteration {int(last['iteration'])}"
            f" error {last['reconstruction_error']:.3g}, train loss {last['train_loss']:.3g}, largest component "
            f"{last['top_component_0']:.3g}"
        )
        style = dict(color=color, lw=1.2, ls="--" if stem == "original" else "-", label=label)
        axes[0].plot(h["iteration"], h["top_component_0"], **style)
        axes[1].plot(h["iteration"], h["reconstruction_error"], **style)
        axes[2].plot(h["iteration"], h["train_loss"], **style)
        axes[3].plot(h["iteration"] * lr.get(stem, 0.01) / 0.01, h["top_component_0"], **style)
    for ax, ylabel in zip(
        axes,
        ("largest component norm", "reconstruction error", "train loss", "largest component norm"),
    ):
        ax.set_xscale("symlog", linthresh=1000)
        ax.set_yscale("log")
        ax.set_xlabel("iterations")
        ax.set_ylabel(ylabel)
    axes[3].set_xlabel("iterations x lr / 0.01 (the same path length)")
    axes[3].set_xlim(0, 20000)
    axes[0].legend(fontsize=7, frameon=False)
    fig.suptitle("init 0.005, seed 1: step size, precision and the original code", fontsize=9)
    fig.savefig(HERE / "tf_dynamics_off_target_checks.png", dpi=110)


if __name__ == "__main__":
    {"runs": plot_runs, "checks": plot_checks}[sys.argv[1]](Path(sys.argv[2]))
