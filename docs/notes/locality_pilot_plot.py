"""Plot and summarize CNN locality pilot runs (docs/notes/locality_quick_pilots.md).

    python docs/notes/locality_pilot_plot.py --out docs/notes/locality_x.png LABEL=RUN_DIR [LABEL=RUN_DIR ...]

Each RUN_DIR is the ``--out-dir`` of ``impreg train locality`` (its metrics.csv), or the log of a
run stopped before it wrote one (its per-epoch lines). It prints, per run, the epochs done, the last and best test accuracy, the last train
accuracy and penalty, and the seconds per epoch; the figure has train and test accuracy per epoch
(left) and the separation penalty (right, regularized runs only).
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from impreg.shipped import shipped_name  # noqa: E402

EPOCH_LINE = re.compile(
    r"epoch (\d+)/\d+: train loss [\d.]+ acc ([\d.]+)(?: penalty ([\d.]+))? \| "
    r"test loss [\d.]+ acc ([\d.]+)(?: probe penalty ([\d.]+))? \| ([\d.]+) s"
)


def read_run(path: Path) -> pd.DataFrame:
    """metrics.csv of a run folder, or the same columns parsed from a run's log."""
    if path.is_dir():  # a run folder, or a shipped one (its metrics under their shipped name)
        found = [
            p for p in (path / "metrics.csv", path / shipped_name("metrics.csv")) if p.exists()
        ]
        if not found:
            raise SystemExit(
                f"{path} holds no metrics.csv (nor a shipped {shipped_name('metrics.csv')})"
            )
        return pd.read_csv(found[0])
    rows = [m.groups() for m in map(EPOCH_LINE.search, re.split(r"[\r\n]", path.read_text())) if m]
    return pd.DataFrame(
        {
            "epoch": [int(r[0]) for r in rows],
            "train_accuracy": [float(r[1]) for r in rows],
            "train_penalty": [float(r[2]) if r[2] else float("nan") for r in rows],
            "test_accuracy": [float(r[3]) for r in rows],
            "probe_penalty": [float(r[4]) if r[4] else float("nan") for r in rows],
            "epoch_seconds": [float(r[5]) for r in rows],
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("runs", nargs="+", help="LABEL=RUN_DIR")
    args = parser.parse_args()
    fig, (acc, pen) = plt.subplots(1, 2, figsize=(12, 4.5))
    for i, spec in enumerate(args.runs):
        label, run = spec.split("=", 1)
        m = read_run(Path(run))
        color = f"C{i % 10}" if len(args.runs) <= 10 else plt.cm.tab20(i % 20)
        acc.plot(m["epoch"], 100 * m["test_accuracy"], color=color, label=f"{label} test")
        acc.plot(m["epoch"], 100 * m["train_accuracy"], color=color, ls=":", lw=1)
        if m["train_penalty"].notna().any():
            pen.plot(m["epoch"], m["train_penalty"], color=color, label=f"{label} train")
        if "probe_penalty" in m and m["probe_penalty"].notna().any():
            pen.plot(m["epoch"], m["probe_penalty"], color=color, ls="--", label=f"{label} probe")
        last = m.iloc[-1]
        print(
            f"{label}: {int(last['epoch'])} epochs, test {100 * last['test_accuracy']:.1f}% "
            f"(best {100 * m['test_accuracy'].max():.1f}%), train {100 * last['train_accuracy']:.1f}%, "
            f"penalty {last['train_penalty']:.3f}, probe penalty {last.get('probe_penalty', float('nan')):.3f}, "
            f"{m['epoch_seconds'].median():.1f} s/epoch"
        )
    acc.axhline(50, color="k", ls="--", lw=0.8)
    acc.set(
        xlabel="epoch", ylabel="accuracy (%)", title="test (solid), train (dotted)", ylim=(40, 101)
    )
    acc.legend(fontsize=7)
    pen.set(
        xlabel="epoch",
        ylabel="mean |cos| penalty",
        title="separation penalty (train solid, probe dashed)",
    )
    if pen.lines:
        pen.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(args.out, dpi=90)


if __name__ == "__main__":
    main()
