"""Summarize and plot HTF incremental-rank pilot runs (docs/notes/htf_mode16.md).

    python docs/notes/htf_pilot_plot.py --out docs/notes/htf_mode16_x.png LABEL=RUN_DIR [LABEL=RUN_DIR ...]

Each RUN_DIR is the ``--out-dir`` of ``impreg train incremental-rank --model htf`` (metrics.csv,
summary.json). For every run it prints the escape iteration of each of the root's top local
component norms (first logged iteration at which the k-th largest reaches half of its settled,
i.e. final, value; only for components that settle above 0.1), the settled values, the largest
value of the top component (overshoot), the stopping iteration and status, and the final
reconstruction error. The figure has one row per run: root local norms against iterations on a
linear axis (as the paper's panel) and on a log axis.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def load(run: Path) -> tuple[dict[str, np.ndarray], dict]:
    with open(run / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    cols = {
        k: np.array([float(r[k]) if r[k] not in ("", None) else np.nan for r in rows])
        for k in rows[0]
    }
    summary = (
        json.loads((run / "summary.json").read_text()) if (run / "summary.json").exists() else {}
    )
    return cols, summary


def analyse(cols: dict[str, np.ndarray], summary: dict, top_k: int = 10) -> dict:
    it = cols["iteration"]
    tops = [cols[f"top_{k}"] for k in range(top_k) if f"top_{k}" in cols]
    settled = [float(t[-1]) for t in tops]
    escapes = []
    for t, s in zip(tops, settled):
        if s < 0.1:
            break
        hit = np.nonzero(t >= 0.5 * s)[0]
        escapes.append(int(it[hit[0]]) if hit.size else None)
    below = np.nonzero(cols["train_loss"] >= 5e-5)[0]
    first_below = int(it[below[-1] + 1]) if below.size and below[-1] + 1 < it.size else None
    return dict(
        escapes=escapes,
        settled=settled,
        overshoot=float(np.nanmax(tops[0])),
        overshoot_at=int(it[int(np.nanargmax(tops[0]))]),
        iterations=summary.get("iterations", int(it[-1])),
        status=summary.get("status", "running"),
        loss_below_stop_from=first_below,
        reconstruction_error=float(cols["reconstruction_error"][-1]),
        wall_s=summary.get("wall_seconds"),
        it_per_s=summary.get("iterations_per_second"),
    )


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("runs", nargs="+", help="LABEL=RUN_DIR")
    p.add_argument("--out", required=True, help="PNG path")
    p.add_argument("--xmax", type=float, default=None)
    args = p.parse_args()
    runs = [r.split("=", 1) for r in args.runs]
    fig, axes = plt.subplots(len(runs), 2, figsize=(9, 2.1 * len(runs)), squeeze=False)
    for (label, path), (ax_lin, ax_log) in zip(runs, axes):
        cols, summary = load(Path(path))
        info = analyse(cols, summary)
        print(json.dumps(dict(label=label, **info)))
        colors = plt.get_cmap("summer")(np.linspace(0, 0.9, 10))
        for k in range(10):
            key = f"top_{k}"
            if key in cols:
                ax_lin.plot(cols["iteration"], cols[key], color=colors[k], lw=1.2)
                ax_log.plot(cols["iteration"], cols[key], color=colors[k], lw=1.2)
        ax_log.set_yscale("log")
        ax_lin.set_title(f"{label}: root local component norms", fontsize=9)
        ax_log.set_title(
            f"{label}: log scale; rec. error {info['reconstruction_error']:.3g}", fontsize=9
        )
        for ax in (ax_lin, ax_log):
            ax.tick_params(labelsize=8)
            ax.set_xlabel("iterations", fontsize=8)
            if args.xmax:
                ax.set_xlim(0, args.xmax)
    fig.tight_layout()
    fig.savefig(args.out, dpi=80)


if __name__ == "__main__":
    main()
