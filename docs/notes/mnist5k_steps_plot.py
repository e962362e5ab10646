"""Plot the mnist5k step-count pilot (docs/notes/mnist5k_steps.md): train and held-out error per
epoch of ranks 1, 5 and 15 (seed 0), full batch (one step per epoch) against the paper's 12 steps
per epoch (batches of 334 of the 4000 train images).

    python docs/notes/mnist5k_steps_plot.py --out docs/notes/mnist5k_steps.png \\
        --full natural=RUN random_image=RUN random_label=RUN --minibatch natural=RUN ...

Each RUN is the ``--out-dir`` of ``impreg train rank-complexity`` (its metrics.csv).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

RANKS = (1, 5, 15)
COLORS = {1: "tab:blue", 5: "tab:orange", 15: "tab:green"}


def runs(pairs: list[str]) -> dict[str, pd.DataFrame]:
    return {
        label: pd.read_csv(Path(path) / "metrics.csv")
        for label, path in (p.split("=", 1) for p in pairs)
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument(
        "--full", nargs="+", required=True, help="CONTROL=RUN_DIR, one step per epoch"
    )
    parser.add_argument(
        "--minibatch", nargs="+", required=True, help="CONTROL=RUN_DIR, 12 steps per epoch"
    )
    args = parser.parse_args()
    full, mini = runs(args.full), runs(args.minibatch)
    controls = list(full)
    fig, axes = plt.subplots(
        2, len(controls), figsize=(4 * len(controls), 6), sharex=True, squeeze=False
    )
    for j, control in enumerate(controls):
        for i, split in enumerate(("train_error", "test_error")):
            ax = axes[i, j]
            for r in RANKS:
                for table, style, what in (
                    (full[control], "--", "full batch"),
                    (mini.get(control), "-", "12 steps/epoch"),
                ):
                    if table is None:
                        continue
                    rows = table[(table["rank"] == r) & (table["seed"] == 0)]
                    ax.plot(
                        rows["epoch"], rows[split], style, color=COLORS[r], label=f"R = {r}, {what}"
                    )
            ax.axhline(0.09, color="gray", lw=0.8, ls=":")
            ax.set_title(f"{control}: {split.replace('_', ' ')}", fontsize=9)
            ax.set_ylim(0, 0.17 if split == "test_error" else 0.1)
            ax.set_xlabel("epoch")
    axes[0, 0].legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
