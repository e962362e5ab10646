"""File names of the image experiments' rules (rank_complexity.smk, locality.smk) and the run folders
their figures read, kept out of the .smk files as Snakemake's linter asks. Every function takes the
experiment's validated config section."""

from __future__ import annotations

from rule_helpers import fmt_float

# rank_complexity figure id -> its datasets (one panel each)
RC_FIGURES = {
    "rank_complexity": ["mnist", "fmnist"],
    "rank_complexity_cifar10": ["cifar10"],
    "rank_complexity_digits": ["digits"],
    "rank_complexity_mnist5k": ["mnist5k"],
}
RC_RUN = "results/runs/rank_complexity/{dataset}_{control}"
LOC_RUN = "results/runs/locality/{task}_{arch}_x{x}_lam{lam}_seed{seed}"


def rc_run_dirs(rc: dict, figure: str) -> list[str]:
    """The runs of a rank_complexity figure: one per dataset and control."""
    return [RC_RUN.format(dataset=d, control=c) for d in RC_FIGURES[figure] for c in rc["controls"]]


def loc_tasks(loc: dict) -> dict[str, tuple[list, list]]:
    """Task -> (its ranges, its lambdas); a task with no ranges is left out."""
    tasks = [
        ("is_same_class", loc["is_same_class"]["distances"], loc["is_same_class"]["lambdas"]),
        ("pathfinder", loc["pathfinder"]["path_lengths"], loc["pathfinder"]["lambdas"]),
    ]
    return {task: (xs, lambdas) for task, xs, lambdas in tasks if xs}


def loc_run_dirs(loc: dict, figure: str) -> list[str]:
    """The runs of a locality figure: one per task, range, lambda and seed (none without seeds)."""
    spec = loc["figures"][figure]
    return [
        LOC_RUN.format(task=task, arch=spec["arch"], x=x, lam=fmt_float(lam), seed=seed)
        for task, (xs, lambdas) in loc_tasks(loc).items()
        for x in xs
        for lam in lambdas
        for seed in spec["seeds"]
    ]
