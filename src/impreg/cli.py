"""The package's command line: data generation, training and reporting, as called by the workflow.

    python -m impreg make-data tf-dynamics --order 4 ... --out results/data/tf_dynamics/x.npz
    python -m impreg train tf-dynamics --data x.npz --out-dir results/runs/tf_dynamics/<run> --init-std 0.005
    python -m impreg report --claims results/claims/*.json --out results/REPLICATION.md
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from impreg.cli_args import add_dataclass_flags, dataclass_from_args
from impreg.io import DataFileError


def _make_data_tf_dynamics(args: argparse.Namespace) -> None:
    from impreg.data.synthetic import make_cp_completion

    data = make_cp_completion(args.order, args.mode_dim, args.rank, args.fro_norm, args.num_observations, args.seed)
    data.save(args.out)
    print(f"wrote {args.out}: order {args.order}, mode dim {args.mode_dim}, rank {args.rank}, "
          f"{args.num_observations} observations, seed {args.seed}")


def _train_tf_dynamics(args: argparse.Namespace) -> None:
    from impreg.data.synthetic import CompletionData
    from impreg.train.tf_dynamics import TFDynamicsConfig, run

    cfg = dataclass_from_args(TFDynamicsConfig, args)
    summary = run(cfg, CompletionData.load(args.data), args.out_dir)
    print(f"{summary['status']} after {summary['iterations']} iterations in {summary['wall_seconds']} s on "
          f"{summary['device']}: reconstruction error {summary['final_reconstruction_error']:.4g}")


def _report(args: argparse.Namespace) -> None:
    from impreg.report import write_replication_report

    write_replication_report([Path(p) for p in args.claims], Path(args.out), figures_dir=args.figures_dir)
    print(f"wrote {args.out}")


def build_parser() -> argparse.ArgumentParser:
    from impreg.train.tf_dynamics import TFDynamicsConfig

    parser = argparse.ArgumentParser(prog="impreg", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    top = parser.add_subparsers(dest="command", required=True)

    make_data = top.add_parser("make-data", help="generate a dataset").add_subparsers(dest="what", required=True)
    p = make_data.add_parser("tf-dynamics", help="random CP-rank target and observed entries")
    p.add_argument("--order", type=int, default=4)
    p.add_argument("--mode-dim", type=int, default=10)
    p.add_argument("--rank", type=int, default=5)
    p.add_argument("--fro-norm", type=float, default=1.0)
    p.add_argument("--num-observations", type=int, default=2000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True)
    p.set_defaults(func=_make_data_tf_dynamics)

    train = top.add_parser("train", help="train a model").add_subparsers(dest="what", required=True)
    p = train.add_parser("tf-dynamics", help="CP factorization dynamics on tensor completion")
    p.add_argument("--data", required=True, help="npz from `make-data tf-dynamics`")
    p.add_argument("--out-dir", required=True)
    add_dataclass_flags(p, TFDynamicsConfig)
    p.set_defaults(func=_train_tf_dynamics)

    p = top.add_parser("report", help="gather claims files into REPLICATION.md")
    p.add_argument("--claims", nargs="+", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--figures-dir", default=None, help="link figures relative to the report")
    p.set_defaults(func=_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except (DataFileError, ValueError) as err:
        print(f"impreg: error: {err}", file=sys.stderr)
        return 2
    return 0
