"""Commands of P1 Figure 4: image data (real or stand-in) as tensor completion, packed pixel-CP
training, and fetching the real datasets:

    python -m impreg fetch-data --datasets mnist fmnist cifar10
    python -m impreg make-data stand-in-images --out-dir data/stand_in
    python -m impreg make-data rank-complexity --dataset mnist --control natural --out mnist.npz
    python -m impreg train rank-complexity --data mnist.npz --out-dir <run> --ranks 1 2 3 --seeds 0 1
"""

from __future__ import annotations

import argparse

from impreg.cli_args import add_dataclass_flags, add_run_folder_flags, at_least, dataclass_from_args


def fetch_data_flags(p: argparse.ArgumentParser) -> None:
    from impreg.data.formats import DATASETS

    p.add_argument(
        "--datasets",
        nargs="+",
        choices=DATASETS,
        default=["mnist", "fmnist", "cifar10"],
        help="the datasets to download (default: mnist fmnist cifar10)",
    )
    p.add_argument("--data-dir", default=None, help="default: $IMPREG_DATA_DIR, else data/images")


def fetch_data(args: argparse.Namespace) -> None:
    from impreg.data.images import ensure_downloaded

    for name in args.datasets:
        root = ensure_downloaded(name, args.data_dir)
        print(f"{name}: present and verified in {root}")


def make_data_stand_in_images_flags(p: argparse.ArgumentParser) -> None:
    from impreg.data.stand_in import STAND_IN_DATASETS

    p.add_argument("--out-dir", required=True, help="the folder to write the stand-in files into")
    p.add_argument(
        "--datasets",
        nargs="+",
        choices=STAND_IN_DATASETS,
        default=list(STAND_IN_DATASETS),
        help="the datasets to imitate (default: all)",
    )
    p.add_argument(
        "--seed", type=at_least(0), default=0, help="seeds the generated images (default: 0)"
    )
    p.add_argument(
        "--num-train", type=at_least(1), default=600, help="train images per dataset (default: 600)"
    )
    p.add_argument(
        "--num-test", type=at_least(1), default=200, help="test images per dataset (default: 200)"
    )


def make_data_stand_in_images(args: argparse.Namespace) -> None:
    from impreg.data.stand_in import write_stand_in

    manifest = write_stand_in(args.out_dir, args.datasets, args.seed, args.num_train, args.num_test)
    print(
        f"wrote STAND-IN data (not the real datasets) for {', '.join(args.datasets)} into {args.out_dir} "
        f"({args.num_train} train / {args.num_test} test images each; manifest {manifest})"
    )


def make_data_rank_complexity_flags(p: argparse.ArgumentParser) -> None:
    from impreg.data.formats import DATASETS
    from impreg.data.tensorize import CONTROLS

    p.add_argument("--dataset", required=True, choices=DATASETS, help="the image dataset")
    p.add_argument(
        "--control",
        default="natural",
        choices=CONTROLS,
        help="the images as they are, or a random control (default: natural)",
    )
    p.add_argument(
        "--positive-class",
        type=at_least(0),
        default=6,
        help="the class labelled 2, against the rest (default: 6)",
    )
    p.add_argument(
        "--seed", type=at_least(0), default=0, help="seeds the random controls and the train subset"
    )
    p.add_argument(
        "--train-subset",
        type=at_least(0),
        default=0,
        help="keep this many random train images (0: all)",
    )
    p.add_argument(
        "--data-dir",
        default=None,
        help="folder of the raw files (default: $IMPREG_DATA_DIR, else data/images)",
    )
    p.add_argument(
        "--download", action="store_true", help="fetch missing files from the canonical sources"
    )
    p.add_argument(
        "--allow-stand-in",
        action="store_true",
        help="accept a STAND-IN data folder (tests, smoke scale)",
    )
    p.add_argument("--out", required=True, help="the npz file to write")


def make_data_rank_complexity(args: argparse.Namespace) -> None:
    from impreg.data.tensorize import make_rank_complexity_data

    data = make_rank_complexity_data(
        args.dataset,
        args.control,
        args.positive_class,
        args.seed,
        args.train_subset,
        args.data_dir,
        download=args.download,
        allow_stand_in=args.allow_stand_in,
    )
    data.save(args.out)
    m = data.meta
    print(
        f"wrote {args.out}: {m['dataset']} {m['control']}{' [STAND-IN DATA]' if m['stand_in'] else ''}, "
        f"{m['num_train']} train ({m['train_positives']} positive) / {m['num_test']} test images, "
        f"{m['num_pixels']} pixels, variance line {m['variance_line']:.4f}"
    )


def train_rank_complexity_flags(p: argparse.ArgumentParser) -> None:
    from impreg.train.rank_complexity import RankComplexityConfig

    add_run_folder_flags(p, "npz from `make-data rank-complexity`")
    add_dataclass_flags(p, RankComplexityConfig)
    # how to run rather than what to run, so not config fields
    p.add_argument(
        "--threads", type=at_least(0), default=0, help="torch threads (0: torch's default)"
    )
    p.add_argument("--no-resume", action="store_true", help="ignore an existing checkpoint.pt")


def train_rank_complexity(args: argparse.Namespace) -> None:
    from impreg.data.tensorize import BinaryImageData
    from impreg.train.rank_complexity import RankComplexityConfig, run

    cfg = dataclass_from_args(RankComplexityConfig, args)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    summary = run(cfg, BinaryImageData.load(args.data), args.out_dir, resume=not args.no_resume)
    print(
        f"{summary['status']} after {summary['epochs']} epochs ({summary['steps']} steps) in "
        f"{summary['wall_seconds']} s on {summary['device']}",
        flush=True,
    )
