"""The package's command line: data generation, training and reporting, as called by the workflow.

    python -m impreg make-data tf-dynamics --order 4 ... --out results/data/tf_dynamics/x.npz
    python -m impreg train tf-dynamics --data x.npz --out-dir results/runs/tf_dynamics/<run> --init-std 0.005
    python -m impreg report --claims results/claims/*.json --out results/REPLICATION.md
    python -m impreg ship-runs --to results/shipped/paper --scale paper   # then make figures, ship-outputs
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


def _make_stand_in_images(args: argparse.Namespace) -> None:
    from impreg.data.stand_in import write_stand_in

    manifest = write_stand_in(args.out_dir, args.datasets, args.seed, args.num_train, args.num_test)
    print(f"wrote STAND-IN data (not the real datasets) for {', '.join(args.datasets)} into {args.out_dir} "
          f"({args.num_train} train / {args.num_test} test images each; manifest {manifest})")


def _make_data_rank_complexity(args: argparse.Namespace) -> None:
    from impreg.data.tensorize import make_rank_complexity_data

    data = make_rank_complexity_data(args.dataset, args.control, args.positive_class, args.seed, args.train_subset,
                                     args.data_dir, download=args.download, allow_stand_in=args.allow_stand_in)
    data.save(args.out)
    m = data.meta
    print(f"wrote {args.out}: {m['dataset']} {m['control']}{' [STAND-IN DATA]' if m['stand_in'] else ''}, "
          f"{m['num_train']} train ({m['train_positives']} positive) / {m['num_test']} test images, "
          f"{m['num_pixels']} pixels, variance line {m['variance_line']:.4f}")


def _train_rank_complexity(args: argparse.Namespace) -> None:
    from impreg.data.tensorize import BinaryImageData
    from impreg.train.rank_complexity import RankComplexityConfig, run

    cfg = RankComplexityConfig(ranks=tuple(args.ranks), seeds=tuple(args.seeds), epochs=args.epochs,
                               batch_size=args.batch_size, lr=args.lr, init_mean=args.init_mean,
                               init_std=args.init_std, max_test_sample_loss=args.max_test_sample_loss,
                               eval_every=args.eval_every, checkpoint_every=args.checkpoint_every,
                               eval_batch_size=args.eval_batch_size, device=args.device, dtype=args.dtype)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    summary = run(cfg, BinaryImageData.load(args.data), args.out_dir, resume=not args.no_resume)
    print(f"{summary['status']} after {summary['epochs']} epochs ({summary['steps']} steps) in "
          f"{summary['wall_seconds']} s on {summary['device']}", flush=True)


def _fetch_data(args: argparse.Namespace) -> None:
    from impreg.data.images import ensure_downloaded

    for name in args.datasets:
        root = ensure_downloaded(name, args.data_dir)
        print(f"{name}: present and verified in {root}")


def _report(args: argparse.Namespace) -> None:
    from impreg.report import write_replication_report

    changes = dict(item.split("=", 1) for item in args.changes)
    not_run = dict(item.split("=", 1) for item in args.not_run)
    write_replication_report([Path(p) for p in args.claims], Path(args.out), figures_dir=args.figures_dir,
                             changes=changes, not_run=not_run, source=args.source, scale=args.scale)
    print(f"wrote {args.out}")


def _ship_runs(args: argparse.Namespace) -> None:
    from impreg.shipped import ship_runs

    figures = ship_runs(Path(args.results), Path(args.to), args.scale, args.runs_commit, args.config,
                        args.figures, args.note)
    print(f"shipped the runs of {', '.join(figures) or 'no figure'} into {args.to}/runs")


def _ship_outputs(args: argparse.Namespace) -> None:
    from impreg.shipped import ship_outputs, shipped_size

    figures = ship_outputs(Path(args.made), Path(args.to), args.scale, args.runs_commit, args.config, args.note)
    print(f"shipped {', '.join(figures) or 'no figure'} and the report into {args.to}; "
          f"{shipped_size(Path(args.to).parent) / 1e6:.1f} MB shipped in all")


def _add_ship_parsers(top) -> None:
    """Refresh results/shipped/<scale> (see impreg.shipped; make ship runs both around make figures)."""
    p = top.add_parser("ship-runs", help="copy the run files of a workflow run's finished figures into the shipped folder")
    p.add_argument("--results", default="results", help="the workflow run's results folder")
    p.add_argument("--to", required=True, help="the shipped folder of this scale, e.g. results/shipped/paper")
    p.add_argument("--scale", required=True, choices=["paper", "quick"])
    p.add_argument("--runs-commit", default=None, help="the commit that made the runs (default: HEAD)")
    p.add_argument("--config", default="", help="the config file the runs were made with")
    p.add_argument("--figures", nargs="*", default=None, help="only these figures (default: every finished one)")
    p.add_argument("--note", default="", help="a sentence on the runs' origin, kept in ORIGIN.json")
    p.set_defaults(func=_ship_runs)

    p = top.add_parser("ship-outputs", help="copy what make figures made from the shipped runs into the shipped folder")
    p.add_argument("--made", required=True, help="make figures' output folder, e.g. results/from_shipped/paper")
    p.add_argument("--to", required=True, help="the shipped folder of this scale, e.g. results/shipped/paper")
    p.add_argument("--scale", required=True, choices=["paper", "quick"])
    p.add_argument("--runs-commit", default=None, help="the commit that made runs copied in by hand")
    p.add_argument("--config", default="", help="the config file those runs were made with")
    p.add_argument("--note", default="", help="a sentence on those runs' origin, kept in ORIGIN.json")
    p.set_defaults(func=_ship_outputs)


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

    from impreg.train.commands import add_commands  # tf-sensing, ht-completion, incremental-rank

    add_commands(make_data, train)
    from impreg.train.locality_commands import add_commands as add_locality_commands

    add_locality_commands(make_data, train)  # pathfinder, is-same-class-images, locality

    _add_rank_complexity_parsers(top, make_data, train)

    p = top.add_parser("report", help="gather claims files into REPLICATION.md")
    p.add_argument("--claims", nargs="*", required=True, help="claims files (none: every figure is not run)")
    p.add_argument("--out", required=True)
    p.add_argument("--figures-dir", default=None, help="link figures relative to the report")
    p.add_argument("--changes", nargs="*", default=[], metavar="FIGURE=TEXT",
                   help="what a figure's settings change from the paper (one paragraph per figure)")
    p.add_argument("--not-run", nargs="*", default=[], metavar="FIGURE=REASON",
                   help="figures without claims, listed as not run with why")
    p.add_argument("--source", default=None, help="one sentence on where the runs come from")
    p.add_argument("--scale", default=None, help="the scale, said when no claims file says it")
    p.set_defaults(func=_report)
    _add_ship_parsers(top)
    return parser


def _add_rank_complexity_parsers(top, make_data, train) -> None:
    """P1 Figure 4: image data (real or stand-in) as tensor completion, packed pixel-CP training, fetching."""
    from impreg.data.formats import DATASETS
    from impreg.data.stand_in import STAND_IN_DATASETS
    from impreg.data.tensorize import CONTROLS
    from impreg.train.rank_complexity import RankComplexityConfig

    p = make_data.add_parser("stand-in-images", help="generated STAND-IN files in MNIST/F-MNIST/CIFAR-10 formats")
    p.add_argument("--out-dir", required=True)
    p.add_argument("--datasets", nargs="+", choices=STAND_IN_DATASETS, default=list(STAND_IN_DATASETS))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--num-train", type=int, default=600)
    p.add_argument("--num-test", type=int, default=200)
    p.set_defaults(func=_make_stand_in_images)

    p = make_data.add_parser("rank-complexity", help="an image dataset (or a random control) as binary completion data")
    p.add_argument("--dataset", required=True, choices=DATASETS)
    p.add_argument("--control", default="natural", choices=CONTROLS)
    p.add_argument("--positive-class", type=int, default=6)
    p.add_argument("--seed", type=int, default=0, help="seeds the random controls and the train subset")
    p.add_argument("--train-subset", type=int, default=0, help="keep this many random train images (0: all)")
    p.add_argument("--data-dir", default=None, help="folder of the raw files (default: $IMPREG_DATA_DIR, else data/images)")
    p.add_argument("--download", action="store_true", help="fetch missing files from the canonical sources")
    p.add_argument("--allow-stand-in", action="store_true", help="accept a STAND-IN data folder (tests, smoke scale)")
    p.add_argument("--out", required=True)
    p.set_defaults(func=_make_data_rank_complexity)

    d = RankComplexityConfig()
    p = train.add_parser("rank-complexity", help="CP models of many ranks and seeds fitted at once to image data")
    p.add_argument("--data", required=True, help="npz from `make-data rank-complexity`")
    p.add_argument("--out-dir", required=True)
    p.add_argument("--ranks", type=int, nargs="+", default=list(d.ranks))
    p.add_argument("--seeds", type=int, nargs="+", default=list(d.seeds))
    for name in ("epochs", "batch_size", "lr", "init_mean", "init_std", "max_test_sample_loss", "eval_every",
                 "checkpoint_every", "eval_batch_size", "device", "dtype"):
        default = getattr(d, name)
        p.add_argument(f"--{name.replace('_', '-')}", type=type(default), default=default, help=f"(default: {default})")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--no-resume", action="store_true", help="ignore an existing checkpoint.pt")
    p.set_defaults(func=_train_rank_complexity)

    p = top.add_parser("fetch-data", help="download MNIST / Fashion-MNIST / CIFAR-10 once into the data folder")
    p.add_argument("--datasets", nargs="+", choices=DATASETS, default=["mnist", "fmnist", "cifar10"])
    p.add_argument("--data-dir", default=None, help="default: $IMPREG_DATA_DIR, else data/images")
    p.set_defaults(func=_fetch_data)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except (DataFileError, ValueError) as err:
        print(f"impreg: error: {err}", file=sys.stderr)
        return 2
    return 0
