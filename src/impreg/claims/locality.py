"""Claims of the locality figures (P2 Fig. C and its ResNet34 twin), from the table of cells.

A cell is one (task, lambda, x): its runs' last-epoch test accuracies (%) and final probe
penalties are averaged over the non-diverged runs. Every claim is judged on those means (the paper
reports means) by the rules of the config's ``claims`` section, fixed before the runs. A claim that
compares two cells ("recovers", "grows with lambda", "lowers the penalty") also asks that the
difference exceed ``spread_z`` standard errors over seeds, so that one run's last epoch cannot
decide it, and is not checkable with fewer than ``min_seeds`` seeds in a cell. A claim that needs a
cell without a non-diverged run, a task not run at this scale, or a stand-in data set is not
checkable; the claims about the unregularized network fail when that network learned nothing at
the shortest range, so that a network at chance everywhere can never pass them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from impreg.claims import Claim, not_checkable
from impreg.paper_values import LOCALITY as PAPER

CHANCE = 50.0
# task -> (panel name, its config key of x values, x axis label)
TASKS = {
    "is_same_class": ("Is Same Class", "distances", "distance between images (px)"),
    "pathfinder": ("Pathfinder", "path_lengths", "path length"),
}
ARCH_NAMES = {"resnet18": "ResNet18", "resnet34": "ResNet34"}
STATEMENTS = {
    "short_range_agree": "at the paper's two shortest ranges the unregularized and regularized networks reach "
    "about the same test accuracy",
    "unregularized_at_chance": "without the regularizer, test accuracy falls to chance (50%) at the longest range",
    "falls_to_chance_from": "without the regularizer, test accuracy is at chance from the paper's onset range on",
    "regularizer_recovers": "the largest λ recovers much of the accuracy lost at the longest range",
    "accuracy_grows_with_lambda": "at the longest range accuracy grows with λ, the intermediate λ giving a "
    "partial gain",
    "regularizer_lowers_penalty": "at the longest range the regularized network ends with a lower separation "
    "penalty than the plain one (the mechanism: the plain network's input "
    "gradients on one patch ignore a distant one)",
    "matches_paper": "mean test accuracies are near the paper's ResNet18 values in most cells",
}

Grid = dict[str, tuple[list[int], list[float]]]  # task -> (sorted x values, sorted lambdas)


@dataclass(frozen=True)
class Rules:
    """The config's ``claims`` section (its defaults live in the schema)."""

    short_range_spread: float
    chance_margin: float
    recovery_fraction: float
    paper_tolerance: float
    paper_match_fraction: float
    monotone_slack: float
    learned_fraction: float
    spread_z: float
    min_seeds: int


def task_names(config: dict) -> dict[str, str]:
    """Panel name per task; sklearn's digits make Is Same Class "Is Same Digit"."""
    names = {t: name for t, (name, _, _) in TASKS.items()}
    if config.get("is_same_class", {}).get("source") == "digits":
        names["is_same_class"] = "Is Same Digit"
    return names


def grid_of(config: dict) -> Grid:
    """The (x values, lambdas) the config runs per task; a task without x values is left out."""
    return {
        t: (sorted(int(x) for x in config[t][key]), sorted(float(v) for v in config[t]["lambdas"]))
        for t, (_, key, _) in TASKS.items()
        if config.get(t, {}).get(key)
    }


def settings_differ(config: dict, task: str) -> list[str]:
    """The settings of ``task`` in the config that are not the paper's."""
    ours = {"width": config.get("width"), **config.get("train", {}), **config.get(task, {})}
    wanted = PAPER["settings"] | PAPER["task_settings"][task]
    return [f"{k}={ours[k]} (paper {v})" for k, v in wanted.items() if k in ours and ours[k] != v]


def paper_lambda(task: str, lam: float) -> float | None:
    """The paper's key for lambda ``lam`` of ``task``, or None when the paper has no such series."""
    return next((p for p in PAPER["lambdas"][task] if math.isclose(p, lam)), None)


def comparable_tasks(config: dict, grid: Grid, arch: str) -> dict[str, bool]:
    """Tasks whose cells the paper's plot shows: ResNet18 at the paper's x values and source images."""
    return {
        t: arch == PAPER["arch"]
        and xs == PAPER["x"][t]
        and config[t].get("source", "cifar10") == PAPER["task_settings"][t].get("source", "cifar10")
        for t, (xs, _) in grid.items()
    }


def _sem(values: pd.Series) -> float:
    """Standard error of the mean over seeds (sample std, ddof 1); NaN below two values."""
    return float(values.std(ddof=1) / math.sqrt(len(values))) if len(values) >= 2 else math.nan


def cell_table(runs: pd.DataFrame, grid: Grid, arch: str, config: dict) -> pd.DataFrame:
    """One row per (task, lambda, x): run counts, mean and std (ddof 0, as the original plotter) and
    standard error (ddof 1) of the non-diverged accuracies (%) and final probe penalties, the runs
    that stopped at the epoch cap, and the paper's value where its plot shows the cell.

    ``runs`` has one row per run with columns task, x, lam, seed, diverged, accuracy, epochs, stand_in,
    and optionally penalty (NaN where a run measured none) and capped.
    """
    comparable = comparable_tasks(config, grid, arch)
    rows = []
    for t, (xs, lams) in grid.items():
        stand_in = bool(runs.loc[runs["task"] == t, "stand_in"].any())
        for lam in lams:
            for x in xs:
                cell = runs[(runs["task"] == t) & (runs["lam"] == lam) & (runs["x"] == x)]
                ok = cell.loc[~cell["diverged"], "accuracy"]
                pen = (
                    cell.loc[~cell["diverged"], "penalty"]
                    if "penalty" in cell
                    else pd.Series(dtype=float)
                ).dropna()
                p = paper_lambda(t, lam)
                shown = comparable[t] and p is not None and x in PAPER["x"][t]
                paper = PAPER["mean"][t][p][x] if shown else math.nan
                paper_std = PAPER["std"][t].get(p, {}).get(x, math.nan) if shown else math.nan
                mean = float(ok.mean()) if len(ok) else math.nan
                rows.append(
                    {
                        "task": t,
                        "arch": arch,
                        "lam": lam,
                        "x": x,
                        "n_runs": len(cell),
                        "n_seeds": int(cell["seed"].nunique()),
                        "n_diverged": int(cell["diverged"].sum()),
                        "mean": mean,
                        "std": float(np.std(ok)) if len(ok) else math.nan,
                        "sem": _sem(ok),
                        "penalty_mean": float(pen.mean()) if len(pen) else math.nan,
                        "penalty_std": float(np.std(pen)) if len(pen) else math.nan,
                        "penalty_sem": _sem(pen),
                        "n_penalty": len(pen),
                        "n_capped": int(cell["capped"].sum()) if "capped" in cell else 0,
                        "paper": paper,
                        "paper_std": paper_std,
                        "difference": mean - paper,
                        "mean_epochs": float(cell["epochs"].mean()) if len(cell) else math.nan,
                        "stand_in": stand_in,
                    }
                )
    return pd.DataFrame(rows)


def chance_onset(task: str, margin: float) -> int:
    """The paper's shortest x from which every unregularized mean is within ``margin`` of chance."""
    xs, lam0 = PAPER["x"][task], PAPER["mean"][task][PAPER["lambdas"][task][0]]
    onset = [x for i, x in enumerate(xs) if all(lam0[y] <= CHANCE + margin for y in xs[i:])]
    return onset[0] if onset else xs[-1]


def learned_floor(task: str, fraction: float) -> float:
    """Least unregularized accuracy at the shortest range of a network that learned the task: chance
    plus ``fraction`` of the paper's margin over chance there (ResNet18 at its shortest x)."""
    paper = PAPER["mean"][task][PAPER["lambdas"][task][0]][PAPER["x"][task][0]]
    return CHANCE + fraction * (paper - CHANCE)


def _series(values: dict) -> dict:
    """A JSON-friendly {key: value rounded to 0.01}."""
    return {
        f"{k:g}" if isinstance(k, float) else str(k): round(float(v), 2) + 0.0
        for k, v in values.items()
    }


@dataclass
class LocalityClaims:
    """The claims of one figure: its table of cells, the config section and the figure's identity."""

    table: pd.DataFrame
    config: dict
    figure: str
    scale: str
    arch: str

    def __post_init__(self) -> None:
        self.rules = Rules(**self.config["claims"])
        self.grid = grid_of(self.config)
        self.names = task_names(self.config)
        self.arch_name = ARCH_NAMES.get(self.arch, self.arch)

    # -- building blocks -------------------------------------------------------------------------
    def value(self, t: str, lam: float, x: int, column: str) -> float:
        t_ = self.table
        return float(t_.loc[(t_["task"] == t) & (t_["lam"] == lam) & (t_["x"] == x), column].item())

    def mean(self, t: str, lam: float, x: int) -> float:
        return self.value(t, lam, x, "mean")

    def difference(
        self, t: str, x: int, lam_a: float, lam_b: float, of: str = ""
    ) -> tuple[float, float]:
        """(mean of lam_b - mean of lam_a, its standard error over seeds) at x; ``of`` "penalty_" for the
        probe penalties."""
        diff = self.value(t, lam_b, x, f"{of}mean") - self.value(t, lam_a, x, f"{of}mean")
        sem = math.hypot(self.value(t, lam_a, x, f"{of}sem"), self.value(t, lam_b, x, f"{of}sem"))
        return diff, sem

    def few_seeds(self, t: str, cells: list) -> str | None:
        """Why a comparison of these cells cannot tell a difference from the noise of seeds (None: it can)."""
        seeds = {
            (f"{lam:g}", x): int(
                self.value(t, lam, x, "n_runs") - self.value(t, lam, x, "n_diverged")
            )
            for lam, x in cells
        }
        few = {cell: n for cell, n in seeds.items() if n < self.rules.min_seeds}
        return (
            (
                f"cells (λ, x) {list(few)} have {sorted(set(few.values()))} non-diverged seed(s), fewer than "
                f"min_seeds = {self.rules.min_seeds}: a difference of means cannot be told from the noise of "
                "seeds"
            )
            if few
            else None
        )

    def spread_rule(self) -> str:
        return (
            f"a difference counts only when it exceeds spread_z = {self.rules.spread_z:g} standard errors "
            "over seeds (sqrt(sem_a^2 + sem_b^2), sample std)"
        )

    def stand_in(self, t: str) -> bool:
        return bool(self.table.loc[self.table["task"] == t, "stand_in"].any())

    def task_reason(self, t: str) -> str | None:
        """Why no claim of task t can be checked (None: they can)."""
        if t not in self.grid:
            return f"{self.names[t]} was not run at this scale ({self.scale}): the config gives it no x values"
        if self.scale == "smoke":
            return "smoke scale: one epoch of width-2 networks on a few dozen images tests the pipeline, not the paper"
        if self.stand_in(t):
            return "stand-in data (generated images, not the real ones): the pipeline is tested, not the paper"
        return None

    def empty_reason(self, t: str, cells: list) -> str | None:
        empty = [(f"{lam:g}", x) for lam, x in cells if math.isnan(self.mean(t, lam, x))]
        return f"cells (λ, x) {empty} have no non-diverged run" if empty else None

    def skip(self, base: dict, reason: str) -> Claim:
        return not_checkable(
            base["id"],
            base["statement"],
            base["paper"],
            reason,
            figure=self.figure,
            scale=self.scale,
        )

    def checked(
        self,
        t: str,
        base: dict,
        passed: bool,
        measured: Any,
        tolerance: str,
        cells: list,
        detail: str = "",
    ) -> Claim:
        t_ = self.table
        sel = t_[
            (t_["task"] == t)
            & pd.Series([(r.lam, r.x) in cells for r in t_.itertuples()], index=t_.index)
        ]
        n, d = int(sel["n_runs"].sum()), int(sel["n_diverged"].sum())
        seeds = sorted(set(sel["n_seeds"])) if "n_seeds" in sel else []
        counts = f"seeds per cell: {seeds[0] if len(seeds) == 1 else seeds}" if seeds else ""
        diverged = (
            f"{d} of {n} runs in the cells used diverged and are left out of the means" if d else ""
        )
        c = int(sel["n_capped"].sum()) if "n_capped" in sel else 0
        capped = (
            f"{c} of {n} runs in the cells used stopped at the epoch cap, not by the stopping rule"
            if c
            else ""
        )
        return Claim(
            **base,
            measured=measured,
            tolerance=tolerance,
            passed=passed,
            note="; ".join(s for s in (detail, counts, diverged, capped) if s),
            figure=self.figure,
            scale=self.scale,
        )

    def not_learned(self, t: str, xs: list, lams: list) -> tuple[bool, dict, str]:
        """(learned, measured, rule) for the unregularized network at the shortest range."""
        floor = learned_floor(t, self.rules.learned_fraction)
        m = self.mean(t, lams[0], xs[0])
        rule = (
            f"λ = 0 at the shortest x reaches >= 50 + learned_fraction x (paper's {PAPER['x'][t][0]}: "
            f"{PAPER['mean'][t][0.0][PAPER['x'][t][0]]}% - 50) = {floor:.1f}%"
        )
        return m >= floor, {"shortest_x": xs[0], "lambda_0_mean": round(m, 2)}, rule

    def paper_mismatch(self, t: str, xs: list, lams: list) -> str | None:
        """Why task t's cells cannot be compared with the paper's numbers (None: they can)."""
        if self.arch != PAPER["arch"]:
            return (
                f"the paper gives no {self.arch_name} numbers to compare with (only ResNet18 values could be "
                "read off its plots)"
            )
        if xs != PAPER["x"][t] or lams != PAPER["lambdas"][t]:
            return (
                f"x values {xs} and λ {lams} at this scale ({self.scale}) are not the paper's "
                f"{PAPER['x'][t]} and {PAPER['lambdas'][t]}"
            )
        differ = settings_differ(self.config, t)
        return f"settings differ from the paper's: {', '.join(differ)}" if differ else None

    def paper_facts(self, t: str) -> dict:
        """The paper's numbers behind each claim of task t (ResNet18), and its gain at the longest range."""
        px, (l0, lmax) = PAPER["x"][t], (PAPER["lambdas"][t][0], PAPER["lambdas"][t][-1])
        pmean = PAPER["mean"][t]
        at = {lam: pmean[lam][px[-1]] for lam in PAPER["lambdas"][t]}
        spreads = {
            x: max(pmean[lam][x] for lam in at) - min(pmean[lam][x] for lam in at) for x in px[:2]
        }
        onset = chance_onset(t, self.rules.chance_margin)
        return {
            "short_range_agree": f"ResNet18: spread of the λ means {_series(spreads)} points at x = {px[:2]}",
            "unregularized_at_chance": f"ResNet18: λ = 0 at x = {px[-1]}: {at[l0]}%",
            "falls_to_chance_from": f"ResNet18: λ = 0 from x = {onset} on: "
            f"{_series({x: pmean[l0][x] for x in px if x >= onset})}%",
            "regularizer_recovers": f"ResNet18: at x = {px[-1]}, λ = {lmax:g} {at[lmax]}% vs λ = 0 {at[l0]}% "
            f"(gain {at[lmax] - at[l0]:+.1f} points)",
            "accuracy_grows_with_lambda": f"ResNet18: means by λ at x = {px[-1]}: {_series(at)}",
            "regularizer_lowers_penalty": "not measured in the paper, which motivates the regularizer by it: a "
            "plain network's gradient on I keeps its direction when x_J changes",
            "matches_paper": {f"{lam:g}": _series(pmean[lam]) for lam in PAPER["lambdas"][t]},
            "gain": at[lmax] - at[l0],
        }

    # -- the claims --------------------------------------------------------------------------------
    def short_range_agree(self, t: str, xs: list, lams: list, base: dict) -> Claim:
        # the paper's two shortest ranges (distances 0 and 40, lengths 3 and 5), those of them that were run
        short = [x for x in xs if x <= PAPER["x"][t][1]]
        cells = [(lam, x) for x in short for lam in lams]
        reason = (
            "a single λ was run"
            if len(lams) < 2
            else f"no x up to the paper's second shortest, {PAPER['x'][t][1]}, was run ({xs})"
            if not short
            else self.empty_reason(t, cells + [(lams[0], xs[0])])
        )
        if reason:
            return self.skip(base, reason)
        spreads = {
            x: max(self.mean(t, lam, x) for lam in lams) - min(self.mean(t, lam, x) for lam in lams)
            for x in short
        }
        learned, at_short, learned_rule = self.not_learned(t, xs, lams)
        measured = {
            "spread": _series(spreads),
            "learned": learned,
            **at_short,
            "means": {
                f"x={x}": _series({lam: self.mean(t, lam, x) for lam in lams}) for x in short
            },
        }
        tol = (
            f"max - min of the λ means <= short_range_spread = {self.rules.short_range_spread} points at "
            f"each x <= {PAPER['x'][t][1]}, and {learned_rule}"
        )
        passed = learned and max(spreads.values()) <= self.rules.short_range_spread
        return self.checked(
            t, base, passed, measured, tol, cells, "" if learned else "the network learned nothing"
        )

    def _at_chance(self, t: str, xs: list, lams: list, base: dict, at: list[int]) -> Claim:
        cells = [(lams[0], x) for x in at] + [(lams[0], xs[0])]
        reason = f"no unregularized (λ = 0) series was run (λ = {lams})" if lams[0] != 0 else None
        if reason or self.empty_reason(t, cells):
            return self.skip(base, reason or self.empty_reason(t, cells))
        limit = CHANCE + self.rules.chance_margin
        means = {x: self.mean(t, lams[0], x) for x in at}
        learned, at_short, learned_rule = self.not_learned(t, xs, lams)
        measured = {"lambda_0_means": _series(means), "learned": learned, **at_short}
        passed = learned and all(m <= limit for m in means.values())
        return self.checked(
            t,
            base,
            passed,
            measured,
            f"<= 50 + chance_margin = {limit} % at x = {at}, and {learned_rule}",
            cells,
            "" if learned else "the network learned nothing",
        )

    def unregularized_at_chance(self, t: str, xs: list, lams: list, base: dict) -> Claim:
        return self._at_chance(t, xs, lams, base, [xs[-1]])

    def falls_to_chance_from(self, t: str, xs: list, lams: list, base: dict) -> Claim:
        onset = chance_onset(t, self.rules.chance_margin)
        at = [x for x in xs if x >= onset]
        if not at:
            return self.skip(
                base, f"no x from the paper's onset x = {onset} on was run at this scale ({xs})"
            )
        if at == [
            xs[-1]
        ]:  # the same cells as unregularized_at_chance: one result is not counted twice
            return self.skip(
                base,
                f"the only x from the paper's onset x = {onset} on run here is the longest, "
                f"{xs[-1]}: unregularized_at_chance judges it",
            )
        return self._at_chance(t, xs, lams, base, at)

    def regularizer_recovers(self, t: str, xs: list, lams: list, base: dict) -> Claim:
        cells = [(lams[0], xs[-1]), (lams[-1], xs[-1])]
        reason = (
            f"needs λ = 0 and a positive λ (λ = {lams})" if lams[0] != 0 or len(lams) < 2 else None
        )
        if reason or self.empty_reason(t, cells):
            return self.skip(base, reason or self.empty_reason(t, cells))
        if self.few_seeds(t, cells):
            return self.skip(base, self.few_seeds(t, cells))
        paper_gain = self.paper_facts(t)["gain"]
        gain, sem = self.difference(t, xs[-1], lams[0], lams[-1])
        need = self.rules.recovery_fraction * paper_gain
        px, plmax = PAPER["x"][t], PAPER["lambdas"][t][-1]
        detail = (
            [f"the paper gives no {self.arch_name} numbers: compared with its ResNet18 gain"]
            if self.arch != PAPER["arch"]
            else []
        )
        if xs[-1] != px[-1]:
            detail.append(
                f"the longest range run here is x = {xs[-1]}, not the paper's {px[-1]}: compared with "
                f"the paper's gain at x = {px[-1]}"
            )
        if lams[-1] != plmax:
            detail.append(f"the largest λ here is {lams[-1]:g}, the paper's {plmax:g}")
        if settings_differ(self.config, t):
            detail.append(
                f"settings differ from the paper's: {', '.join(settings_differ(self.config, t))}"
            )
        measured = {
            "x": xs[-1],
            "gain": round(gain, 2),
            "gain_sem": round(sem, 2),
            "means": _series({lam: self.mean(t, lam, xs[-1]) for lam in lams}),
        }
        tol = (
            f"gain of λ = {lams[-1]:g} over λ = 0 >= recovery_fraction x paper gain (x = {px[-1]}) = "
            f"{self.rules.recovery_fraction} x {paper_gain:.1f} = {need:.2f} points, and {self.spread_rule()}"
        )
        passed = gain >= need and gain > self.rules.spread_z * sem
        return self.checked(t, base, passed, measured, tol, cells, "; ".join(detail))

    def accuracy_grows_with_lambda(self, t: str, xs: list, lams: list, base: dict) -> Claim:
        cells = [(lam, xs[-1]) for lam in lams]
        reason = (
            "a single λ was run"
            if len(lams) < 2
            else self.empty_reason(t, cells) or self.few_seeds(t, cells)
        )
        if reason:
            return self.skip(base, reason)
        slack, z = self.rules.monotone_slack, self.rules.spread_z
        m = [self.mean(t, lam, xs[-1]) for lam in lams]
        steps = [self.difference(t, xs[-1], a, b) for a, b in zip(lams, lams[1:])]
        gains = [self.difference(t, xs[-1], lams[0], lam) for lam in lams[1:]]
        # a drop, or a gain, counts when it exceeds both the slack and the noise of seeds
        steps_ok = all(d >= -max(slack, z * e) for d, e in steps)
        top_gain, top_sem = gains[-1]
        partial_ok = all(-max(slack, z * e) < g < top_gain for g, e in gains[:-1])
        measured = {
            "x": xs[-1],
            "means": _series(dict(zip(lams, m))),
            "gains": _series({lam: g for lam, (g, _) in zip(lams[1:], gains)}),
            "gain_sems": _series({lam: e for lam, (_, e) in zip(lams[1:], gains)}),
            "non_decreasing": steps_ok,
            "intermediate_partial": partial_ok if len(lams) > 2 else "no intermediate λ",
        }
        tol = (
            f"no drop between successive λ larger than both monotone_slack = {slack} points and spread_z = "
            f"{z:g} standard errors; gain of λ = {lams[-1]:g} above both; every intermediate λ's gain above "
            f"minus that and below the gain of λ = {lams[-1]:g}"
        )
        passed = steps_ok and partial_ok and top_gain > max(slack, z * top_sem)
        return self.checked(t, base, passed, measured, tol, cells)

    def regularizer_lowers_penalty(self, t: str, xs: list, lams: list, base: dict) -> Claim:
        cells = [(lams[0], xs[-1]), (lams[-1], xs[-1])]
        reason = (
            f"needs λ = 0 and a positive λ (λ = {lams})" if lams[0] != 0 or len(lams) < 2 else None
        )
        if reason or self.empty_reason(t, cells) or self.few_seeds(t, cells):
            return self.skip(
                base, reason or self.empty_reason(t, cells) or self.few_seeds(t, cells)
            )
        missing = [(f"{lam:g}", x) for lam, x in cells if self.value(t, lam, x, "n_penalty") == 0]
        if missing:
            return self.skip(base, f"the runs of cells (λ, x) {missing} measured no probe penalty")
        drop, sem = self.difference(t, xs[-1], lams[-1], lams[0], of="penalty_")
        accuracy = self.mean(t, lams[-1], xs[-1])
        learned = accuracy > CHANCE + self.rules.chance_margin
        measured = {
            "x": xs[-1],
            "drop": round(drop, 4),
            "drop_sem": round(sem, 4),
            "penalty_means": {
                f"{lam:g}": round(self.value(t, lam, xs[-1], "penalty_mean"), 4) for lam in lams
            },
            f"lambda_{lams[-1]:g}_accuracy": round(accuracy, 2),
            "learned": learned,
        }
        tol = (
            f"mean probe penalty of λ = 0 minus that of λ = {lams[-1]:g} > spread_z = {self.rules.spread_z:g} "
            f"standard errors over seeds, and λ = {lams[-1]:g} above 50 + chance_margin = "
            f"{CHANCE + self.rules.chance_margin}% on test there (a network that learned nothing lowers the "
            "penalty it is trained on without showing anything)"
        )
        passed = learned and drop > self.rules.spread_z * sem
        return self.checked(
            t, base, passed, measured, tol, cells, "" if learned else "the network learned nothing"
        )

    def matches_paper(self, t: str, xs: list, lams: list, base: dict) -> Claim:
        cells = [(lam, x) for lam in lams for x in xs]
        reason = self.paper_mismatch(t, xs, lams) or self.empty_reason(t, cells)
        if reason:
            return self.skip(base, reason)
        diff = {
            f"λ={lam:g}, x={x}": self.mean(t, lam, x) - PAPER["mean"][t][lam][x] for lam, x in cells
        }
        within = sum(abs(d) <= self.rules.paper_tolerance for d in diff.values())
        measured = {
            "within": within,
            "cells": len(diff),
            "fraction": round(within / len(diff), 3),
            "means": {f"{lam:g}": _series({x: self.mean(t, lam, x) for x in xs}) for lam in lams},
            "difference": {k: round(v, 2) + 0.0 for k, v in diff.items()},
        }
        tol = (
            f"|mean - paper| <= paper_tolerance = {self.rules.paper_tolerance} points in at least "
            f"paper_match_fraction = {self.rules.paper_match_fraction} of the cells"
        )
        return self.checked(
            t, base, within / len(diff) >= self.rules.paper_match_fraction, measured, tol, cells
        )

    def all(self) -> list[Claim]:
        """Every claim of every task, ids ``<task>_<claim>``."""
        claims = []
        for t in TASKS:
            paper = self.paper_facts(t)
            xs, lams = self.grid.get(t, ([], []))
            for name in STATEMENTS:
                base = {
                    "id": f"{t}_{name}",
                    "statement": f"{self.names[t]} ({self.arch_name}): {STATEMENTS[name]}.",
                    "paper": paper[name],
                }
                if self.arch != PAPER["arch"]:
                    base["paper"] = f"no {self.arch_name} numbers in the paper; {paper[name]}"
                task_reason = self.task_reason(t)
                if t not in self.grid or (
                    task_reason
                    and not (name == "matches_paper" and self.paper_mismatch(t, xs, lams))
                ):
                    claims.append(self.skip(base, task_reason))
                else:
                    claims.append(getattr(self, name)(t, xs, lams, base))
        return claims


def locality_claims(
    table: pd.DataFrame, config: dict, figure: str, scale: str, arch: str
) -> list[Claim]:
    """The claims of a locality figure from its cell table (``cell_table``) and config section."""
    return LocalityClaims(table, config, figure, scale, arch).all()
