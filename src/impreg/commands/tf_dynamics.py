"""Commands of the factorization-dynamics experiment, P1 Figure 3 and its tensor sensing variant:

    python -m impreg make-data tf-dynamics --order 4 --mode-dim 10 ... --out x.npz
    python -m impreg make-data tf-sensing --order 4 --mode-dim 10 ... --out x.npz
    python -m impreg train tf-dynamics --data x.npz --out-dir <run> --init-std 0.005 ...
    python -m impreg train tf-sensing --data x.npz --out-dir <run> --init-std 0.005 ...

(``make-data tf-dynamics`` also makes the CP targets of the matrix and tensor factorization runs:
order 2 is a rank-r matrix U V^T with Gaussian U, V.)
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from impreg.cli_args import (
    add_dataclass_flags,
    add_run_folder_flags,
    at_least,
    dataclass_from_args,
    positive_float,
)


def make_data_tf_dynamics_flags(p: argparse.ArgumentParser) -> None:
    _add_cp_target_flags(p, observations="number of observed entries")


def make_data_tf_dynamics(args: argparse.Namespace) -> None:
    from impreg.data.synthetic import make_cp_completion

    _write_cp_target(args, make_cp_completion, observations="observations")


def make_data_tf_sensing_flags(p: argparse.ArgumentParser) -> None:
    _add_cp_target_flags(p, observations="number of measurement tensors")


def make_data_tf_sensing(args: argparse.Namespace) -> None:
    from impreg.data.synthetic import make_cp_sensing

    _write_cp_target(args, make_cp_sensing, observations="Gaussian measurement tensors")


def _add_cp_target_flags(p: argparse.ArgumentParser, observations: str) -> None:
    """Completion and sensing data share their target's flags; only what is observed differs."""
    p.add_argument(
        "--order", type=at_least(2), default=4, help="order of the target tensor (default: 4)"
    )
    p.add_argument(
        "--mode-dim", type=at_least(1), default=10, help="size of every mode (default: 10)"
    )
    p.add_argument("--rank", type=at_least(1), default=5, help="CP rank of the target (default: 5)")
    p.add_argument(
        "--fro-norm",
        type=positive_float,
        default=1.0,
        help="Frobenius norm the target is rescaled to (default: 1.0)",
    )
    p.add_argument(
        "--num-observations", type=at_least(1), default=2000, help=f"{observations} (default: 2000)"
    )
    p.add_argument(
        "--seed",
        type=at_least(0),
        default=0,
        help="seeds the target and what is observed (default: 0)",
    )
    p.add_argument("--out", required=True, help="the npz file to write")


def _write_cp_target(args: argparse.Namespace, make: Callable, observations: str) -> None:
    data = make(
        args.order, args.mode_dim, args.rank, args.fro_norm, args.num_observations, args.seed
    )
    data.save(args.out)
    print(
        f"wrote {args.out}: order {args.order}, mode dim {args.mode_dim}, rank {args.rank}, "
        f"{args.num_observations} {observations}, seed {args.seed}"
    )


def train_tf_dynamics_flags(p: argparse.ArgumentParser) -> None:
    _add_train_flags(p, data="npz from `make-data tf-dynamics`")


def train_tf_dynamics(args: argparse.Namespace) -> None:
    from impreg.data.synthetic import CompletionData

    _train(args, CompletionData)


def train_tf_sensing_flags(p: argparse.ArgumentParser) -> None:
    _add_train_flags(p, data="npz from `make-data tf-sensing`")


def train_tf_sensing(args: argparse.Namespace) -> None:
    from impreg.data.synthetic import SensingData

    _train(args, SensingData)


def _add_train_flags(p: argparse.ArgumentParser, data: str) -> None:
    from impreg.train.tf_dynamics import TFDynamicsConfig

    add_run_folder_flags(p, data)
    add_dataclass_flags(p, TFDynamicsConfig)


def _train(args: argparse.Namespace, data_class: type) -> None:
    """One run on completion or sensing data: the training loop is the same, only the loss's data differ."""
    from impreg.train.tf_dynamics import TFDynamicsConfig, run

    cfg = dataclass_from_args(TFDynamicsConfig, args)
    summary = run(cfg, data_class.load(args.data), args.out_dir)
    print(
        f"{summary['status']} after {summary['iterations']} iterations in {summary['wall_seconds']} s on "
        f"{summary['device']}: reconstruction error {summary['final_reconstruction_error']:.4g}"
    )
