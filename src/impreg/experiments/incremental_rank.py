"""The incremental-rank experiment (P2 Fig. A, and Fig. B from its hierarchical runs): the
settings of one run, and the runs a config asks for. Torch-free, so that the workflow reads it
while it plans.

A run fits a matrix (mf), tensor (tf) or hierarchical tensor (htf) factorization, initialized at
scale init_std from seed seed, to a random target of low rank.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from impreg.experiments.declare import (
    CommandSpec,
    Experiment,
    FigureSpec,
    Jobs,
    Training,
    section_settings,
)
from impreg.run_settings import (
    AT_LEAST_ONE,
    DYNAMICS_RULES,
    FRACTION,
    NON_NEGATIVE,
    Run,
    check_settings,
    name_float,
    one_of,
    pick,
)

MODELS = ("mf", "tf", "htf")


@dataclass
class IncrementalRankConfig:
    """Settings of one incremental-rank run (fields that do not apply to ``model`` are ignored)."""

    model: str = "htf"  # mf, tf or htf
    init_std: float = 1e-3  # std of the N(0, std^2) parameter entries
    depth: int = 3  # mf: number of factor matrices
    mf_width: int = 0  # mf: hidden width; 0 = min(rows, cols)
    num_components: int = 0  # tf: R; 0 = the maximal possible rank
    htf_width: int = 512  # htf: the width of every layer
    pool_pattern: str = (
        "adjacent"  # htf: mode tree pooling pairs of modes (adjacent: ((0,1),(2,3)))
    )
    extra_matricizations: str = (
        "0-2"  # htf: matricizations tracked besides the tree's nodes, ';'-separated
    )
    rank_rel_tol: float = (
        1e-2  # a singular value counts towards a rank when above this times the largest
    )
    lr: float = 1e-2
    alpha: float = 0.99
    eps: float = 1e-6
    stop_loss: float = 5e-5  # stop once the train MSE stays below this ...
    stop_validations: int = (
        100  # ... for more than this many consecutive validations (logged steps)
    )
    max_iterations: int = 500_000
    log_every: int = 25
    top_k: int = 10
    seed: int = 0  # seeds the initialization
    device: str = "auto"
    dtype: str = "float32"
    checkpoint_every: int = 5000  # iterations between checkpoints (0: none)

    # what does not change the numbers (the device and the checkpoint period): left out of the checkpoint's fingerprint
    NOT_IN_FINGERPRINT: ClassVar[tuple[str, ...]] = ("device", "checkpoint_every")

    def __post_init__(self) -> None:
        from impreg.factorizations.hierarchical import PATTERNS  # torch: only where a run is built

        check_settings(
            self,
            {"model": one_of(MODELS)}
            | DYNAMICS_RULES
            | {
                "depth": AT_LEAST_ONE,
                "mf_width": NON_NEGATIVE,
                "num_components": NON_NEGATIVE,
                "htf_width": AT_LEAST_ONE,
                "pool_pattern": one_of(PATTERNS),
                "rank_rel_tol": FRACTION,
                "stop_validations": NON_NEGATIVE,
            },
        )


# -- the runs a config asks for ------------------------------------------------------------------


def data_name(irk: dict, model: str, seed: int) -> str:
    """The data file (without .npz) of a model's target and observed entries for one seed."""
    m = irk[model]
    common = f"rank{irk['target_rank']}_norm{irk['target_fro_norm']:g}_n{irk['num_observations']}_seed{seed}"
    if model == "mf":
        return f"mf_dim{m['dim']}_{common}"
    if model == "tf":
        return f"tf_order{m['order']}_dim{m['mode_dim']}_{common}"
    return f"htf_order{m['order']}_dim{m['mode_dim']}_{m['pool_pattern']}_{common}"


def data_args(irk: dict, model: str, seed: int) -> str:
    """The ``impreg make-data`` arguments of a model's data file for one seed."""
    m = irk[model]
    common = f"--fro-norm {irk['target_fro_norm']} --num-observations {irk['num_observations']} --seed {seed}"
    if model == "mf":  # a rank-r matrix U V^T is an order-2 CP tensor
        return f"tf-dynamics --order 2 --mode-dim {m['dim']} --rank {irk['target_rank']} {common}"
    if model == "tf":
        return f"tf-dynamics --order {m['order']} --mode-dim {m['mode_dim']} --rank {irk['target_rank']} {common}"
    return (
        f"ht-completion --order {m['order']} --mode-dim {m['mode_dim']} --ranks {irk['target_rank']}"
        f" --pattern {m['pool_pattern']} {common}"
    )


def data_files(config: dict) -> dict[str, str]:
    """Data file (under the scale's results folder) -> its ``impreg make-data`` arguments."""
    irk = config["incremental_rank"]
    return {
        f"data/incremental_rank/{data_name(irk, model, seed)}.npz": data_args(irk, model, seed)
        for model in MODELS
        for seed in irk["seeds"]
    }


def run_name(irk: dict, model: str, seed: int) -> str:
    m = irk[model]
    init = name_float(m["init_std"])
    if model == "mf":
        return f"mf_dim{m['dim']}_depth{m['depth']}_w{m['width'] or m['dim']}_init{init}_seed{seed}"
    if model == "tf":
        r = m["num_components"] or math.prod(sorted([m["mode_dim"]] * m["order"])[:-1])
        return f"tf_order{m['order']}_dim{m['mode_dim']}_R{r}_init{init}_seed{seed}"
    return f"htf_order{m['order']}_dim{m['mode_dim']}_w{m['width']}_{m['pool_pattern']}_init{init}_seed{seed}"


def run_settings(config: dict, model: str, seed: int) -> dict:
    """A run's settings: the section's, then its model's (whose ``width`` is the field of that model)."""
    irk = config["incremental_rank"]
    m = irk[model]
    width = {f"{model}_width": m["width"]} if "width" in m else {}
    return pick(IncrementalRankConfig, config, irk, m, width, model=model, seed=seed)


def runs(config: dict, models: tuple[str, ...] = MODELS) -> dict[str, Run]:
    """Run name -> its run, per model (in ``models``' order) and seed."""
    irk = config["incremental_rank"]
    return {
        run_name(irk, model, seed): Run(
            f"data/incremental_rank/{data_name(irk, model, seed)}.npz",
            run_settings(config, model, seed),
            "incremental-rank",
        )
        for model in models
        for seed in irk["seeds"]
    }


# -- the experiment ------------------------------------------------------------------------------


def htf_detail_settings(config: dict) -> dict:
    """P2 Fig. B's notebook settings: its own section, and the hierarchical runs' settings."""
    irk = config["incremental_rank"]
    return {
        "config": config["htf_detail"],
        "htf": irk["htf"],
        "target_rank": irk["target_rank"],
        "scale": config["scale"],
    }


def run_dirs(config: dict, models: tuple[str, ...] = MODELS) -> list[str]:
    return [f"runs/incremental_rank/{run}" for run in runs(config, models)]


EXPERIMENT = Experiment(
    name="incremental_rank",
    order=30,
    commands=(
        CommandSpec(
            "make-data",
            "ht-completion",
            "random target of low hierarchical rank and observed entries",
            "impreg.commands.incremental_rank",
        ),
        CommandSpec(
            "train",
            "incremental-rank",
            "matrix / tensor / hierarchical tensor factorization dynamics",
            "impreg.commands.incremental_rank",
        ),
    ),
    training=Training("impreg.train.incremental_rank", "IncrementalRankConfig"),
    jobs=(Jobs("incremental_rank", runs, data_files),),
    figures=(
        FigureSpec(
            "incremental_rank",
            "P2 Fig. A",
            "incremental_rank",
            "incremental_rank",
            run_dirs,
            section_settings("incremental_rank"),
            "impreg.claims.incremental_rank:incremental_rank_claims",
            extras=("full",),
        ),
        # the hierarchical runs of incremental_rank in detail (no runs of its own)
        FigureSpec(
            "htf_detail",
            "P2 Fig. B (appendix)",
            "htf_detail",
            "incremental_rank",
            lambda c: run_dirs(c, ("htf",)),
            htf_detail_settings,
            "impreg.claims.htf_detail:htf_detail_claims",
        ),
    ),
)
