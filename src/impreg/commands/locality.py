"""Commands of the CNN locality experiment (P2 Fig. C):

    python -m impreg make-data pathfinder --path-length 9 --num-samples 20000 --window 300 --output-size 150 \\
        --seed 9 --workers 4 --out pathfinder_L9.npz
    python -m impreg make-data is-same-class-images --source cifar10 --data-dir data/images --out cifar10.npz
    python -m impreg train locality --data pathfinder_L9.npz --out-dir <run> --task pathfinder --x 9 --lam 9 --seed 0

``train locality`` resumes from ``<run>/checkpoint.pt`` unless ``--no-resume``; SIGTERM (a
scheduler's time limit) ends it at the next batch boundary with exit status 143, leaving the last
epoch's checkpoint to resume from (``impreg.train.locality.run`` handles the signal).
"""

from __future__ import annotations

import argparse
import time

from impreg.cli_args import add_dataclass_flags, add_run_folder_flags, at_least, dataclass_from_args


def make_data_pathfinder_flags(p: argparse.ArgumentParser) -> None:
    from impreg.data.pathfinder import PathfinderConfig

    d = PathfinderConfig()
    p.add_argument(
        "--path-length", type=int, required=True, help="paddles per target snake (3, 5, 7, 9)"
    )
    p.add_argument(
        "--num-samples",
        type=at_least(1),
        required=True,
        help="images to draw (half of them positive)",
    )
    p.add_argument(
        "--window", type=int, default=d.window, help=f"raw canvas side, px (default: {d.window})"
    )
    p.add_argument(
        "--output-size",
        type=int,
        default=d.output_size,
        help=f"side after resizing (default: {d.output_size})",
    )
    p.add_argument(
        "--geometry-scale",
        type=float,
        default=None,
        help="px per 300 px unit of the paper's geometry (default: window / 300)",
    )
    p.add_argument(
        "--paddle-thickness",
        type=float,
        default=d.paddle_thickness,
        help=f"paddle thickness in 300 px units (default: {d.paddle_thickness:g}, the paper's)",
    )
    p.add_argument("--seed", type=int, default=0, help="use a different seed per path length")
    p.add_argument(
        "--workers", type=int, default=1, help="processes (the images do not depend on it)"
    )
    p.add_argument(
        "--chunk-size", type=int, default=256, help="images per work item (default: 256)"
    )
    p.add_argument("--out", required=True, help="the npz file to write")


def make_data_pathfinder(args: argparse.Namespace) -> None:
    from impreg.data.pathfinder import PathfinderConfig, generate_pathfinder

    cfg = PathfinderConfig(
        path_length=args.path_length,
        window=args.window,
        output_size=args.output_size,
        geometry_scale=args.geometry_scale,
        paddle_thickness=args.paddle_thickness,
    )
    start = time.perf_counter()
    data = generate_pathfinder(
        cfg, args.num_samples, args.seed, workers=args.workers, chunk_size=args.chunk_size
    )
    data.save(args.out)
    print(
        f"wrote {args.out}: {len(data.labels)} Pathfinder images (path length {args.path_length}, window "
        f"{args.window} -> {args.output_size} px, scale {cfg.scale:.3f}, {cfg.distractor_count} distractors), "
        f"{float(data.labels.mean()):.3f} positive, seed {args.seed}, {time.perf_counter() - start:.1f} s "
        f"on {args.workers} worker(s)",
        flush=True,
    )


def make_data_is_same_class_images_flags(p: argparse.ArgumentParser) -> None:
    from impreg.data.locality_sources import SOURCES

    p.add_argument(
        "--source",
        required=True,
        choices=SOURCES,
        help="cifar10, or sklearn's 8x8 digits (offline)",
    )
    p.add_argument(
        "--data-dir",
        default=None,
        help="cifar10 folder (default: $IMPREG_DATA_DIR, else data/images)",
    )
    p.add_argument("--download", action="store_true", help="fetch missing cifar10 files")
    p.add_argument(
        "--allow-stand-in",
        action="store_true",
        help="accept a STAND-IN folder (tests, smoke scale)",
    )
    p.add_argument(
        "--upsample",
        type=at_least(1),
        default=1,
        help="integer nearest-neighbour upsampling factor",
    )
    p.add_argument("--out", required=True, help="the npz file to write")


def make_data_is_same_class_images(args: argparse.Namespace) -> None:
    from impreg.data.locality_sources import make_is_same_class_images

    data = make_is_same_class_images(
        args.source,
        args.data_dir,
        download=args.download,
        allow_stand_in=args.allow_stand_in,
        upsample=args.upsample,
    )
    data.save(args.out)
    m = data.meta
    print(
        f"wrote {args.out}: {m['source']}{' [STAND-IN DATA]' if m['stand_in'] else ''}, "
        f"{m['num_train']} train / {m['num_test']} test images of {m['image_size']} px x {m['channels']} "
        f"channel(s), {m['num_classes']} classes, mean {[round(v, 4) for v in m['mean']]} std "
        f"{[round(v, 4) for v in m['std']]}",
        flush=True,
    )


def train_locality_flags(p: argparse.ArgumentParser) -> None:
    from impreg.experiments.locality import AMP_MODES, TASKS, LocalityConfig

    add_run_folder_flags(p, "npz from `make-data pathfinder` or `make-data is-same-class-images`")
    p.add_argument("--no-resume", action="store_true", help="ignore an existing checkpoint.pt")
    # declared by hand, with choices; the first four tell a figure's runs apart, so one of --settings
    # and the flag must give them
    add_dataclass_flags(p, LocalityConfig, exclude=("task", "x", "lam", "seed", "amp"))
    hand = dict(default=argparse.SUPPRESS)
    p.add_argument(
        "--task", choices=TASKS, help="the binary task the ResNet is trained on (required)", **hand
    )
    p.add_argument(
        "--x",
        type=int,
        help="is_same_class: distance in px; pathfinder: path length (required)",
        **hand,
    )
    p.add_argument(
        "--lam", type=float, help="separation penalty coefficient (0: none; required)", **hand
    )
    p.add_argument(
        "--seed",
        type=at_least(0),
        help="seeds the initialization and the batches (required)",
        **hand,
    )
    p.add_argument(
        "--amp", choices=AMP_MODES, help="bf16 autocast (CUDA only; default: none)", **hand
    )


def load_locality_data(task: str, path: str):
    """The data file of ``task`` (its loader names the file in any error)."""
    from impreg.data.locality_sources import IsSameClassImages
    from impreg.data.pathfinder import PathfinderData

    return (PathfinderData if task == "pathfinder" else IsSameClassImages).load(path)


def train_locality(args: argparse.Namespace) -> None:
    from impreg.experiments.locality import RUN_IDENTITY, LocalityConfig
    from impreg.train.locality import run

    cfg = dataclass_from_args(LocalityConfig, args, required=RUN_IDENTITY)
    data = load_locality_data(cfg.task, args.data)
    summary = run(cfg, data, args.out_dir, resume=not args.no_resume)
    print(
        f"{summary['status']} after {summary['epochs']} epochs in {summary['wall_seconds']} s on "
        f"{summary['device']}: final test accuracy {summary['final_test_accuracy']:.4f} "
        f"(train {summary['final_train_accuracy']:.4f})",
        flush=True,
    )
