"""The tensor-factorization dynamics experiments (P1 Figure 3 and its appendix variants): the
settings of one run, and the runs a config asks for. Torch-free, so that the workflow reads it
while it plans.

A run fits a CP factorization with num_components components, initialized at scale init_std from
seed seed, to one random low-rank target (completion: observed entries; sensing: Gaussian
measurement tensors).
"""

from __future__ import annotations

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
    DYNAMICS_RULES,
    NON_NEGATIVE,
    POSITIVE,
    Run,
    check_settings,
    name_float,
    one_of,
    pick,
)

LOSSES = ("l2", "huber")


@dataclass
class TFDynamicsConfig:
    """Settings of one tensor-factorization dynamics run."""

    init_std: float = 0.005  # std of the N(0, std^2) factor entries
    num_components: int = (
        1000  # R, Figure 3's; 0 = the maximal possible rank (product of all dims but the largest)
    )
    loss: str = "l2"  # l2 (mean squared error) or huber
    huber_delta: float = 1.0  # Huber threshold (torch's smooth-L1 beta) when loss = huber
    lr: float = 1e-2
    alpha: float = 0.99
    eps: float = 1e-6
    stop_loss: float = 1e-8  # stop once the train loss stays below this ...
    stop_patience: int = 1275  # ... for more than this many iterations
    max_iterations: int = 100_000
    log_every: int = 25
    top_k: int = 10
    seed: int = 0  # seeds the initialization, together with init_std (see init_seed)
    device: str = "auto"
    dtype: str = "float32"
    checkpoint_every: int = 5000  # iterations between checkpoints (0: none)

    # what does not change the numbers (the device and the checkpoint period): left out of the checkpoint's fingerprint
    NOT_IN_FINGERPRINT: ClassVar[tuple[str, ...]] = ("device", "checkpoint_every")

    def __post_init__(self) -> None:
        check_settings(
            self,
            DYNAMICS_RULES
            | {
                "num_components": NON_NEGATIVE,
                "loss": one_of(LOSSES),
                "huber_delta": POSITIVE,
                "stop_patience": NON_NEGATIVE,
            },
        )


# -- the runs a config asks for ------------------------------------------------------------------


def figure3_data(tfd: dict, seed: int) -> str:
    """Figure 3's data file of one seed: the target and its observed entries."""
    return (
        f"data/tf_dynamics/order{tfd['order']}_dim{tfd['mode_dim']}_rank{tfd['target_rank']}"
        f"_norm{tfd['target_fro_norm']:g}_n{tfd['num_observations']}_seed{seed}.npz"
    )


def target_args(section: dict, task: str, seed: int) -> str:
    """The ``impreg make-data`` arguments of a random low-rank target (``section``: the sizes)."""
    what = "tf-sensing" if task == "sensing" else "tf-dynamics"
    return (
        f"{what} --order {section['order']} --mode-dim {section['mode_dim']} --rank {section['target_rank']}"
        f" --fro-norm {section['target_fro_norm']} --num-observations {section['num_observations']} --seed {seed}"
    )


def figure3_data_files(config: dict) -> dict[str, str]:
    """Figure 3's data files (under the scale's results folder) -> their make-data arguments."""
    tfd = config["tf_dynamics"]
    return {figure3_data(tfd, seed): target_args(tfd, "completion", seed) for seed in tfd["seeds"]}


def figure3_runs(config: dict) -> dict[str, Run]:
    """Run name -> its run, for every init and seed of Figure 3 (inits outer, as the notebook reads them)."""
    tfd = config["tf_dynamics"]
    return {
        f"order{tfd['order']}_dim{tfd['mode_dim']}_R{tfd['num_components']}_init{name_float(init)}_seed{seed}": Run(
            figure3_data(tfd, seed),
            pick(TFDynamicsConfig, config, tfd, init_std=init, seed=seed),
            "tf-dynamics",
        )
        for init in tfd["init_stds"]
        for seed in tfd["seeds"]
    }


def variant_data(tfv: dict, name: str, seed: int) -> str:
    """The data file of a variant and seed; variants with the same task and sizes share it."""
    v = tfv["variants"][name]
    return (
        f"data/tf_dynamics_variants/{v['task']}_order{v['order']}_dim{v['mode_dim']}_rank{v['target_rank']}"
        f"_norm{tfv['target_fro_norm']:g}_n{v['num_observations']}_seed{seed}.npz"
    )


def variant_data_files(config: dict) -> dict[str, str]:
    """The appendix figure's data files (under the scale's results folder) -> their make-data arguments."""
    tfv = config["tf_dynamics_variants"]
    return {
        variant_data(tfv, name, seed): target_args(
            v | {"target_fro_norm": tfv["target_fro_norm"]}, v["task"], seed
        )
        for name, v in tfv["variants"].items()
        for seed in tfv["seeds"]
    }


def variant_grid(tfv: dict) -> list[tuple[str, float, int]]:
    """(variant, init, seed) of every run of the appendix figure, in the order its notebook reads them."""
    return [
        (name, init, seed)
        for name, v in tfv["variants"].items()
        for init in v["init_stds"]
        for seed in tfv["seeds"]
    ]


def variant_runs(config: dict) -> dict[str, Run]:
    """Run name -> its run, for every variant, init and seed of the appendix figure (variant_grid's order)."""
    tfv = config["tf_dynamics_variants"]
    runs = {}
    for name, init, seed in variant_grid(tfv):
        v = tfv["variants"][name]
        loss = v["loss"] if v["loss"] == "l2" else f"huber{v['huber_delta']:g}"
        run = (
            f"{name}_{v['task']}_order{v['order']}_dim{v['mode_dim']}_n{v['num_observations']}"
            f"_R{v['num_components']}_{loss}_init{name_float(init)}_seed{seed}"
        )
        runs[run] = Run(
            variant_data(tfv, name, seed),
            pick(TFDynamicsConfig, config, tfv, v, init_std=init, seed=seed),
            "tf-sensing" if v["task"] == "sensing" else "tf-dynamics",
        )
    return runs


# -- the experiment ------------------------------------------------------------------------------

COMMANDS = "impreg.commands.tf_dynamics"

EXPERIMENT = Experiment(
    name="tf_dynamics",
    order=10,
    commands=(
        CommandSpec(
            "make-data", "tf-dynamics", "random CP-rank target and observed entries", COMMANDS
        ),
        CommandSpec(
            "make-data",
            "tf-sensing",
            "random CP-rank target and Gaussian measurement tensors",
            COMMANDS,
        ),
        CommandSpec(
            "train", "tf-dynamics", "CP factorization dynamics on tensor completion", COMMANDS
        ),
        CommandSpec("train", "tf-sensing", "CP factorization dynamics on tensor sensing", COMMANDS),
    ),
    training=Training("impreg.train.tf_dynamics", "TFDynamicsConfig"),
    jobs=(
        Jobs("tf_dynamics", figure3_runs, figure3_data_files),
        Jobs("tf_dynamics_variants", variant_runs, variant_data_files),
    ),
    figures=(
        FigureSpec(
            "tf_dynamics",
            "P1 Fig. 3",
            "tf_dynamics",
            "tf_dynamics",
            lambda c: [f"runs/tf_dynamics/{run}" for run in figure3_runs(c)],
            section_settings("tf_dynamics"),
            "impreg.claims.dynamics:figure3_claims",
        ),
        FigureSpec(
            "tf_dynamics_variants",
            "P1 appendix (Fig. 3 at order 3, Huber loss, sensing)",
            "tf_dynamics_variants",
            "tf_dynamics_variants",
            lambda c: [f"runs/tf_dynamics_variants/{run}" for run in variant_runs(c)],
            section_settings("tf_dynamics_variants"),
            "impreg.claims.dynamics:variant_claims",
            run_params=lambda c: {
                "variants": [v for v, _, _ in variant_grid(c["tf_dynamics_variants"])]
            },
        ),
    ),
)
