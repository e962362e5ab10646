"""Commands of P2's incremental rank learning (matrix, tensor and hierarchical tensor factorization):

    python -m impreg make-data ht-completion --order 4 --mode-dim 8 --ranks 5,5 ... --out x.npz
    python -m impreg train incremental-rank --model htf --data x.npz --out-dir <run> ...

(the mf and tf runs train on ``make-data tf-dynamics`` targets, see impreg.commands.tf_dynamics.)
"""

from __future__ import annotations

import argparse

from impreg.cli_args import (
    add_dataclass_flags,
    add_run_folder_flags,
    at_least,
    dataclass_from_args,
    positive_float,
)


def make_data_ht_completion_flags(p: argparse.ArgumentParser) -> None:
    from impreg.factorizations.hierarchical import PATTERNS

    p.add_argument(
        "--order", type=at_least(2), default=4, help="order of the target tensor (default: 4)"
    )
    p.add_argument(
        "--mode-dim", type=at_least(1), default=16, help="size of every mode (default: 16)"
    )
    p.add_argument(
        "--ranks",
        type=_ranks,
        default=[5, 5],
        help="layer widths of the target's HTF, comma-separated (default: 5,5)",
    )
    p.add_argument(
        "--pattern",
        default="adjacent",
        choices=PATTERNS,
        help="mode tree pooling pattern (default: adjacent)",
    )
    p.add_argument(
        "--fro-norm",
        type=positive_float,
        default=64.0,
        help="Frobenius norm the target is rescaled to (default: 64.0)",
    )
    p.add_argument(
        "--num-observations",
        type=at_least(1),
        default=2048,
        help="observed entries (default: 2048)",
    )
    p.add_argument(
        "--seed",
        type=at_least(0),
        default=0,
        help="seeds the target and the observed entries (default: 0)",
    )
    p.add_argument("--out", required=True, help="the npz file to write")


def _ranks(text: str) -> list[int]:
    """``5,5`` -> [5, 5]: integers >= 1."""
    try:
        ranks = [int(r) for r in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not comma-separated integers") from None
    if min(ranks) < 1:
        raise argparse.ArgumentTypeError(f"{text} is not allowed: every rank must be >= 1")
    return ranks


def make_data_ht_completion(args: argparse.Namespace) -> None:
    from impreg.data.synthetic import make_ht_completion

    ranks = args.ranks
    data = make_ht_completion(
        args.order,
        args.mode_dim,
        ranks,
        args.pattern,
        args.fro_norm,
        args.num_observations,
        args.seed,
    )
    data.save(args.out)
    print(
        f"wrote {args.out}: order {args.order}, mode dim {args.mode_dim}, hierarchical ranks {ranks} "
        f"({args.pattern} tree {data.meta['tree']}), {args.num_observations} observations, seed {args.seed}"
    )


def train_incremental_rank_flags(p: argparse.ArgumentParser) -> None:
    from impreg.train.incremental_rank import IncrementalRankConfig

    add_run_folder_flags(p, "npz from `make-data tf-dynamics` (mf, tf) or `ht-completion` (htf)")
    add_dataclass_flags(p, IncrementalRankConfig)


def train_incremental_rank(args: argparse.Namespace) -> None:
    from impreg.data.synthetic import CompletionData
    from impreg.train.incremental_rank import IncrementalRankConfig, run

    cfg = dataclass_from_args(IncrementalRankConfig, args)
    summary = run(cfg, CompletionData.load(args.data), args.out_dir)
    print(
        f"{cfg.model}: {summary['status']} after {summary['iterations']} iterations in "
        f"{summary['wall_seconds']} s on {summary['device']}: reconstruction error "
        f"{summary['final_reconstruction_error']:.4g}, top values {[round(v, 4) for v in summary['final_top']]}"
    )
