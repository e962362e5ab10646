"""Command-line subcommands of the factorization-dynamics experiments beyond P1 Figure 3:
the tensor sensing variant of P1's appendix and P2's incremental rank learning.

    python -m impreg make-data tf-sensing --order 4 --mode-dim 10 ... --out x.npz
    python -m impreg make-data ht-completion --order 4 --mode-dim 8 --ranks 5,5 ... --out x.npz
    python -m impreg train tf-sensing --data x.npz --out-dir <run> --init-std 0.005 ...
    python -m impreg train incremental-rank --model htf --data x.npz --out-dir <run> ...

(``make-data tf-dynamics`` makes the CP targets of the matrix and tensor factorization runs:
order 2 is a rank-r matrix U V^T with Gaussian U, V.)
"""

from __future__ import annotations

import argparse

from impreg.cli_args import add_dataclass_flags, dataclass_from_args


def _make_data_tf_sensing(args: argparse.Namespace) -> None:
    from impreg.data.synthetic import make_cp_sensing

    data = make_cp_sensing(args.order, args.mode_dim, args.rank, args.fro_norm, args.num_observations, args.seed)
    data.save(args.out)
    print(f"wrote {args.out}: order {args.order}, mode dim {args.mode_dim}, rank {args.rank}, "
          f"{args.num_observations} Gaussian measurement tensors, seed {args.seed}")


def _make_data_ht_completion(args: argparse.Namespace) -> None:
    from impreg.data.synthetic import make_ht_completion

    ranks = [int(r) for r in args.ranks.split(",")]
    data = make_ht_completion(args.order, args.mode_dim, ranks, args.pattern, args.fro_norm,
                              args.num_observations, args.seed)
    data.save(args.out)
    print(f"wrote {args.out}: order {args.order}, mode dim {args.mode_dim}, hierarchical ranks {ranks} "
          f"({args.pattern} tree {data.meta['tree']}), {args.num_observations} observations, seed {args.seed}")


def _train_tf_sensing(args: argparse.Namespace) -> None:
    from impreg.data.synthetic import SensingData
    from impreg.train.tf_dynamics import TFDynamicsConfig, run

    cfg = dataclass_from_args(TFDynamicsConfig, args)
    summary = run(cfg, SensingData.load(args.data), args.out_dir)
    print(f"{summary['status']} after {summary['iterations']} iterations in {summary['wall_seconds']} s on "
          f"{summary['device']}: reconstruction error {summary['final_reconstruction_error']:.4g}")


def _train_incremental_rank(args: argparse.Namespace) -> None:
    from impreg.data.synthetic import CompletionData
    from impreg.train.incremental_rank import IncrementalRankConfig, run

    cfg = dataclass_from_args(IncrementalRankConfig, args)
    summary = run(cfg, CompletionData.load(args.data), args.out_dir)
    print(f"{cfg.model}: {summary['status']} after {summary['iterations']} iterations in "
          f"{summary['wall_seconds']} s on {summary['device']}: reconstruction error "
          f"{summary['final_reconstruction_error']:.4g}, top values {[round(v, 4) for v in summary['final_top']]}")


def add_commands(make_data: argparse._SubParsersAction, train: argparse._SubParsersAction) -> None:
    """Register the subcommands on the CLI's ``make-data`` and ``train`` subparsers."""
    from impreg.train.incremental_rank import IncrementalRankConfig
    from impreg.train.tf_dynamics import TFDynamicsConfig

    p = make_data.add_parser("tf-sensing", help="random CP-rank target and Gaussian measurement tensors")
    p.add_argument("--order", type=int, default=4)
    p.add_argument("--mode-dim", type=int, default=10)
    p.add_argument("--rank", type=int, default=5)
    p.add_argument("--fro-norm", type=float, default=1.0)
    p.add_argument("--num-observations", type=int, default=2000, help="number of measurement tensors")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True)
    p.set_defaults(func=_make_data_tf_sensing)

    p = make_data.add_parser("ht-completion", help="random target of low hierarchical rank and observed entries")
    p.add_argument("--order", type=int, default=4)
    p.add_argument("--mode-dim", type=int, default=16)
    p.add_argument("--ranks", default="5,5", help="layer widths of the target's HTF, comma-separated")
    p.add_argument("--pattern", default="adjacent", help="mode tree pooling pattern (adjacent or interleaved)")
    p.add_argument("--fro-norm", type=float, default=64.0)
    p.add_argument("--num-observations", type=int, default=2048)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True)
    p.set_defaults(func=_make_data_ht_completion)

    p = train.add_parser("tf-sensing", help="CP factorization dynamics on tensor sensing")
    p.add_argument("--data", required=True, help="npz from `make-data tf-sensing`")
    p.add_argument("--out-dir", required=True)
    add_dataclass_flags(p, TFDynamicsConfig)
    p.set_defaults(func=_train_tf_sensing)

    p = train.add_parser("incremental-rank", help="matrix / tensor / hierarchical tensor factorization dynamics")
    p.add_argument("--data", required=True, help="npz from `make-data tf-dynamics` (mf, tf) or `ht-completion` (htf)")
    p.add_argument("--out-dir", required=True)
    add_dataclass_flags(p, IncrementalRankConfig)
    p.set_defaults(func=_train_incremental_rank)
