"""What Figure 3's random targets predict, from the targets alone (docs/notes/tf_dynamics_targets.md).

1. ``gaps``: for targets drawn as the data rule draws them (seeds 1000 on, none of the runs'), the error
   left once the k largest terms are learned exactly, against the error of the rank-k least-squares fit
   of the 2000 observed entries started from those k terms (alternating least squares): the level a run
   pauses at while it holds k components. Writes tf_dynamics_targets_gaps.csv.
2. ``spread``: the k-th largest term norm and the error left by the k largest terms over many targets,
   with the percentile of the paper's single run among them. Writes tf_dynamics_targets_spread.csv.
3. ``plot``: the PNG of both.

    python docs/notes/tf_dynamics_targets.py gaps 100
    python docs/notes/tf_dynamics_targets.py spread 2000
    python docs/notes/tf_dynamics_targets.py plot
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from impreg.data.synthetic import cp_target_components, make_cp_completion, outer_sum
from impreg.paper_values import TF_DYNAMICS as PAPER

HERE = Path(__file__).parent
FIRST_SEED = 1000  # the runs use seeds 0-9


def rank_k_fit(
    indices: np.ndarray, values: np.ndarray, start: list[np.ndarray], sweeps: int = 200
) -> list[np.ndarray]:
    """Alternating least squares of a rank-k CP model on the observed entries, from ``start`` (per mode (d, k))."""
    factors = [f.copy() for f in start]
    k = factors[0].shape[1]
    for _ in range(sweeps):
        for n in range(len(factors)):
            z = np.ones((len(values), k))
            for m, f in enumerate(factors):
                if m != n:
                    z *= f[indices[:, m]]
            gram = np.zeros((factors[n].shape[0], k, k))
            rhs = np.zeros((factors[n].shape[0], k))
            np.add.at(gram, indices[:, n], z[:, :, None] * z[:, None, :])
            np.add.at(rhs, indices[:, n], z * values[:, None])
            factors[n] = np.stack([np.linalg.lstsq(g, b, rcond=None)[0] for g, b in zip(gram, rhs)])
    return factors


def gaps(count: int) -> pd.DataFrame:
    rows = []
    for seed in range(FIRST_SEED, FIRST_SEED + count):
        data = make_cp_completion(4, 10, 5, 1.0, 2000, seed)
        tensor, terms = cp_target_components(data.meta)
        for k in range(1, 5):
            start = [f[:, :k] * terms.norms[:k] ** 0.25 for f in terms.factors]
            fit = outer_sum(rank_k_fit(data.indices, data.values, start))
            rows.append(
                {
                    "seed": seed,
                    "k": k,
                    "exact": float(np.linalg.norm(tensor - terms.tensor(range(k)))),
                    "fit": float(np.linalg.norm(tensor - fit)),
                }
            )
    out = pd.DataFrame(rows)
    out.round(5).to_csv(HERE / "tf_dynamics_targets_gaps.csv", index=False)
    return out


def spread(count: int) -> pd.DataFrame:
    rows = []
    for seed in range(FIRST_SEED, FIRST_SEED + count):
        meta = {
            "kind": "cp_completion",
            "order": 4,
            "mode_dim": 10,
            "rank": 5,
            "fro_norm": 1.0,
            "seed": seed,
        }
        tensor, terms = cp_target_components(meta)
        rows.append(
            {
                "seed": seed,
                **{f"norm_{k + 1}": terms.norms[k] for k in range(5)},
                **{
                    f"step_{k}": float(np.linalg.norm(tensor - terms.tensor(range(k))))
                    for k in range(1, 5)
                },
            }
        )
    out = pd.DataFrame(rows)
    out.round(4).to_csv(HERE / "tf_dynamics_targets_spread.csv", index=False)
    return out


def percentiles(table: pd.DataFrame) -> dict[str, float]:
    """Where each of the paper's numbers falls among the random targets (% of targets below it)."""
    out = {f"norm_{k + 1}": PAPER["plateau_norms_init_0.005"][k] for k in range(5)}
    out |= {f"step_{k}": PAPER["error_steps_init_0.005"][k] for k in range(1, 5)}
    return {c: round(100 * float((table[c] < v).mean()), 1) for c, v in out.items()}


def plot() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    g = pd.read_csv(HERE / "tf_dynamics_targets_gaps.csv")
    s = pd.read_csv(HERE / "tf_dynamics_targets_spread.csv")
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.2), constrained_layout=True)
    for k, part in g.groupby("k"):
        axes[0].hist(part["fit"] - part["exact"], bins=30, alpha=0.6, label=f"k = {k}")
    axes[0].set_xlabel("rank-k fit of the observations - exact k terms (error)")
    axes[0].set_title(f"{g['seed'].nunique()} targets")
    axes[0].legend(frameon=False)
    for k in range(5):
        axes[1].hist(s[f"norm_{k + 1}"], bins=40, alpha=0.5, label=f"{k + 1}")
        axes[1].axvline(PAPER["plateau_norms_init_0.005"][k], color=f"C{k}", ls="--")
    axes[1].set_xlabel("k-th largest term norm (dashed: the paper's run)")
    axes[1].set_title(f"{len(s)} targets")
    axes[1].legend(frameon=False, title="k")
    for k in range(1, 5):
        axes[2].hist(s[f"step_{k}"], bins=40, alpha=0.5, label=f"{k}")
        axes[2].axvline(PAPER["error_steps_init_0.005"][k], color=f"C{k - 1}", ls="--")
    axes[2].set_xlabel("error left by the k largest terms (dashed: the paper's)")
    axes[2].legend(frameon=False, title="k")
    fig.savefig(HERE / "tf_dynamics_targets.png", dpi=120)


if __name__ == "__main__":
    what = sys.argv[1]
    if what == "gaps":
        table = gaps(int(sys.argv[2]))
        diff = (table["fit"] - table["exact"]).abs()
        print(
            table.assign(gap=table["fit"] - table["exact"])
            .groupby("k")["gap"]
            .describe(percentiles=[0.05, 0.95])
        )
        print(
            f"|gap| 95%: {diff.quantile(0.95):.4f}, 99%: {diff.quantile(0.99):.4f}, max {diff.max():.4f}"
        )
    elif what == "spread":
        print(percentiles(spread(int(sys.argv[2]))))
    else:
        plot()
