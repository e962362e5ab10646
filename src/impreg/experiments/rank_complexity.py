"""The rank-complexity experiment (P1 Figure 4, extended): the settings of one packed job, and the
jobs a config asks for. Torch-free, so that the workflow reads it while it plans.

A job fits CP models of every rank and seed at once to one image dataset (or a random control of
it) posed as tensor completion.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from impreg.cli_args import flags_from_mapping
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
        self.ranks, self.seeds = tuple(int(r) for r in self.ranks), tuple(int(s) for s in self.seeds)
        check_settings(self, {
            "ranks": (lambda v: bool(v) and min(v) >= 1 and len(set(v)) == len(v), "distinct integers >= 1"),
            "seeds": (lambda v: bool(v) and min(v) >= 0 and len(set(v)) == len(v), "distinct integers >= 0"),
            "epochs": AT_LEAST_ONE, "batch_size": AT_LEAST_ONE, "lr": POSITIVE, "init_std": NON_NEGATIVE,
            "max_test_sample_loss": POSITIVE, "eval_every": AT_LEAST_ONE, "checkpoint_every": NON_NEGATIVE,
            "eval_batch_size": AT_LEAST_ONE, "device": DEVICE, "dtype": one_of(DTYPE_NAMES),
        })

    # what does not change the numbers (the device, eval batching and the checkpoint period): left out of the checkpoint's fingerprint
    NOT_IN_FINGERPRINT: ClassVar[tuple[str, ...]] = ("device", "checkpoint_every", "eval_batch_size")


def runs(config: dict) -> dict[str, Run]:
    """Run name -> its job, for every dataset and control: the dataset's settings over the section's."""
    rc = config["rank_complexity"]
    return {RUN.format(dataset=d, control=c): Run(DATA.format(dataset=d, control=c),
                                                  pick(RankComplexityConfig, config, rc, ds), "rank-complexity")
            for d, ds in rc["datasets"].items() for c in rc["controls"]}


def data_args(rc: dict, dataset: str) -> str:
    """The ``impreg make-data rank-complexity`` arguments of a dataset's files beside its name and
    control: its positive class, training subset and the data seed."""
    ds = rc["datasets"][dataset]
    return flags_from_mapping({"positive_class": ds["positive_class"], "seed": rc["data_seed"],
                               "train_subset": ds["train_subset"]})


def stand_in_args(rc: dict, datasets: list[str]) -> str:
    """The ``impreg make-data stand-in-images`` arguments of the stand-in files of ``datasets``."""
    return flags_from_mapping({"datasets": datasets, "seed": rc["data_seed"], "num_train": rc["stand_in_num_train"],
                               "num_test": rc["stand_in_num_test"]})
