"""The CNN locality experiment (P2 Fig. C and D): the settings of one run, and the runs and data
files a config asks for. Torch-free, so that the workflow reads it while it plans.

A run trains a ResNet on Pathfinder (x: the path length) or Is Same Class (x: the distance between
the two images) with separation penalty coefficient lam, from seed seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

from impreg.cli_args import flags_from_mapping
from impreg.experiments.declare import CommandSpec, Experiment, FigureSpec, Jobs, Training
from impreg.run_settings import Run, check_settings, is_integer, name_float, one_of, pick

TASKS = ("pathfinder", "is_same_class")
# impreg.models.resnet.LAYERS, without importing torchvision for the CLI
ARCHS = (
    "resnet18",
    "resnet34",
)
AMP_MODES = ("none", "bf16")
# the settings that tell a figure's runs apart: the command line asks for them (or --settings)
RUN_IDENTITY = ("task", "x", "lam", "seed")


@dataclass
class LocalityConfig:
    """Settings of one run; fields that do not apply to ``task`` are ignored."""

    task: str = "pathfinder"  # pathfinder or is_same_class
    x: int = (
        9  # is_same_class: distance d between the images (px); pathfinder: path length (checked)
    )
    arch: str = "resnet18"  # resnet18 or resnet34
    width: int = 64  # stage-1 channels; 64 is torchvision's model
    lam: float = 0.0  # coefficient of the separation penalty (0: the plain step)
    seed: int = 0
    lr: float = 1e-2
    momentum: float = 0.9
    weight_decay: float = 0.0  # SGD weight decay: 0 in the paper; a baseline against the penalty
    batch_size: int = 64
    max_epochs: int = 150
    patience: int = 20  # stop once train accuracy was 100% for more than this many epochs in a row
    num_train: int = 5000  # is_same_class pairs
    num_test: int = 10000  # is_same_class pairs
    canvas_width: int = 224  # is_same_class: the axis along which the two images lie
    canvas_height: int = 224  # is_same_class
    patch_size: int = 2  # pathfinder penalty patches
    reg_distance: int = 0  # pathfinder: least gap between the two patches (px)
    test_fraction: float = 0.5  # pathfinder: share of the file's images held out for testing
    split_seed: int = 42  # pathfinder: seeds the train/test split
    penalty_batch: int = 0  # samples of each batch the penalty is taken on (0: the whole batch)
    probe_size: int = 512  # test samples the penalty is measured on after every epoch (0: none)
    eval_batch_size: int = 256
    device: str = "auto"
    amp: str = "none"  # none or bf16 (CUDA only)
    channels_last: bool = True  # memory layout only, on CUDA (ignored on CPU): faster convolutions
    threads: int = 0  # torch CPU threads; 0 leaves torch's default (OMP_NUM_THREADS, which a workflow job sets)
    keep_checkpoint: bool = False

    def __post_init__(self) -> None:
        for name in (
            "x",
            "width",
            "seed",
            "batch_size",
            "max_epochs",
            "patience",
            "num_train",
            "num_test",
            "canvas_width",
            "canvas_height",
            "patch_size",
            "reg_distance",
            "split_seed",
            "penalty_batch",
            "probe_size",
            "eval_batch_size",
            "threads",
        ):
            value = getattr(self, name)
            _require(is_integer(value), name, value, "an integer")
            setattr(self, name, int(value))
        for name in ("lam", "lr", "momentum", "weight_decay", "test_fraction"):
            value = getattr(self, name)
            _require(
                isinstance(value, (int, float))
                and not isinstance(value, bool)
                and math.isfinite(value),
                name,
                value,
                "a finite number",
            )
            setattr(self, name, float(value))
        check_settings(
            self, {"task": one_of(TASKS), "arch": one_of(ARCHS), "amp": one_of(AMP_MODES)}
        )
        _require(
            self.x >= (1 if self.task == "pathfinder" else 0),
            "x",
            self.x,
            ">= 1 (a path length)" if self.task == "pathfinder" else ">= 0 (a distance in px)",
        )
        _require(self.lam >= 0, "lam", self.lam, ">= 0")
        _require(self.lr > 0, "lr", self.lr, "> 0")
        _require(0 <= self.momentum < 1, "momentum", self.momentum, "in [0, 1)")
        _require(self.weight_decay >= 0, "weight_decay", self.weight_decay, ">= 0")
        _require(0 < self.test_fraction < 1, "test_fraction", self.test_fraction, "in (0, 1)")
        # a batch of one can neither swap patches with a neighbour nor train BatchNorm
        _require(self.batch_size >= 2, "batch_size", self.batch_size, ">= 2")
        _require(self.num_train >= 2, "num_train", self.num_train, ">= 2")
        for name in (
            "width",
            "max_epochs",
            "num_test",
            "canvas_width",
            "canvas_height",
            "patch_size",
            "eval_batch_size",
        ):
            _require(getattr(self, name) >= 1, name, getattr(self, name), ">= 1")
        _require(
            self.penalty_batch == 0 or self.penalty_batch >= 2,
            "penalty_batch",
            self.penalty_batch,
            "0 (the whole batch) or >= 2 (patches are swapped between samples)",
        )
        for name in ("seed", "patience", "reg_distance", "split_seed", "probe_size", "threads"):
            _require(getattr(self, name) >= 0, name, getattr(self, name), ">= 0")
        _require(
            isinstance(self.channels_last, bool),
            "channels_last",
            self.channels_last,
            "true or false",
        )
        _require(
            isinstance(self.keep_checkpoint, bool),
            "keep_checkpoint",
            self.keep_checkpoint,
            "true or false",
        )

    # what does not change the numbers (the device, eval batching, threads and clean-up): left out of the checkpoint's fingerprint
    NOT_IN_FINGERPRINT: ClassVar[tuple[str, ...]] = (
        "device",
        "eval_batch_size",
        "threads",
        "keep_checkpoint",
    )
    # what the job decides, not the config (the threads Snakemake gives it)
    FROM_THE_JOB: ClassVar[tuple[str, ...]] = ("threads",)


def _require(ok: bool, name: str, value: object, requirement: str) -> None:
    if not ok:
        raise ValueError(f"LocalityConfig.{name} must be {requirement}, got {value!r}")


# -- the runs a config asks for ------------------------------------------------------------------

IS_SAME_CLASS_IMAGES = "data/locality/is_same_class_{source}.npz"
PATHFINDER_DATA = "data/locality/pathfinder_L{length}.npz"
# where each task keeps its ranges and its lambdas in the config
GRID_KEYS = {"is_same_class": ("distances", "lambdas"), "pathfinder": ("path_lengths", "lambdas")}


def figure_section(loc: dict, figure: str) -> dict:
    """The locality section as one figure runs it: its entry in ``figures`` may keep only some of a
    task's lambdas (``lambdas: {task: [...]}``; a task not named keeps all), so that a costly figure
    can run a sub-grid."""
    keep = loc["figures"][figure].get("lambdas", {})
    narrowed = dict(loc)
    for task, kept in keep.items():
        unknown = [
            lam for lam in kept if not any(float(lam) == float(v) for v in loc[task]["lambdas"])
        ]
        if unknown:
            raise ValueError(
                f"locality.figures.{figure}.lambdas.{task}: {unknown} are not among {task}'s "
                f"lambdas {loc[task]['lambdas']}: list only lambdas the task runs"
            )
        narrowed[task] = loc[task] | {"lambdas": [v for v in loc[task]["lambdas"] if v in kept]}
    return narrowed


def tasks(loc: dict) -> dict[str, tuple[list, list]]:
    """Task -> (its ranges, its lambdas); a task with no ranges is left out."""
    grids = {task: (loc[task][xs], loc[task][lams]) for task, (xs, lams) in GRID_KEYS.items()}
    return {task: grid for task, grid in grids.items() if grid[0]}


def pathfinder_args(loc: dict, length: int | str) -> str:
    """The ``impreg make-data pathfinder`` arguments of one path length's file after --path-length:
    the drawing settings, and the data seed (``data_seed`` + the length: each length its own draw)."""
    pf = loc["pathfinder"]
    drawing = {k: pf[k] for k in ("num_samples", "window", "output_size", "paddle_thickness")}
    geometry = {"geometry_scale": pf["geometry_scale"]} if pf["geometry_scale"] else {}
    return flags_from_mapping(drawing | {"seed": pf["data_seed"] + int(length)} | geometry)


def data_file(loc: dict, task: str, x: int) -> str:
    """The data file a run reads: the task's source images, or the Pathfinder file of its length."""
    if task == "is_same_class":
        return IS_SAME_CLASS_IMAGES.format(source=loc["is_same_class"]["source"])
    return PATHFINDER_DATA.format(length=x)


def figure_runs(config: dict, figure: str) -> dict[str, Run]:
    """Run name -> its run, for every run of a locality figure (one per task, range, lambda and
    seed; none without seeds), in the order its notebook reads them."""
    loc = config["locality"]
    spec = loc["figures"][figure]
    runs = {}
    for task, (xs, lambdas) in tasks(figure_section(loc, figure)).items():
        for x in xs:
            for lam in lambdas:
                for seed in spec["seeds"]:
                    identity: dict[str, Any] = dict(
                        task=task, arch=spec["arch"], x=x, lam=lam, seed=seed
                    )
                    name = f"{task}_{spec['arch']}_x{x}_lam{name_float(lam)}_seed{seed}"
                    runs[name] = Run(
                        data_file(loc, task, x),
                        pick(LocalityConfig, config, loc, loc["train"], loc[task], **identity),
                        "locality",
                    )
    return runs


def runs(config: dict) -> dict[str, Run]:
    """Every run of every locality figure (a run two figures share is listed once)."""
    return {
        name: run
        for figure in config["locality"]["figures"]
        for name, run in figure_runs(config, figure).items()
    }


# -- the experiment ------------------------------------------------------------------------------


def downloads(config: dict) -> dict[str, list[str]]:
    """CIFAR-10, when a figure runs Is Same Class on the real images -> the file made from it."""
    isc = config["locality"]["is_same_class"]
    real_cifar = isc["distances"] and isc["source"] == "cifar10" and not isc["stand_in"]
    return {"cifar10": [IS_SAME_CLASS_IMAGES.format(source="cifar10")]} if real_cifar else {}


def figure_settings(config: dict, figure: str) -> dict:
    """A figure's notebook settings: the section with only this figure's entry, so that the other
    figure's seeds never rerun it."""
    loc = figure_section(config["locality"], figure)
    return {
        "config": loc | {"figures": {figure: loc["figures"][figure]}},
        "scale": config["scale"],
        "figure": figure,
        "arch": loc["figures"][figure]["arch"],
    }


COMMANDS = "impreg.commands.locality"

EXPERIMENT = Experiment(
    name="locality",
    order=40,
    commands=(
        CommandSpec(
            "make-data", "pathfinder", "Pathfinder images of one path length (P2 Fig. C)", COMMANDS
        ),
        CommandSpec(
            "make-data",
            "is-same-class-images",
            "source images of Is Same Class (P2 Fig. C)",
            COMMANDS,
        ),
        CommandSpec(
            "train",
            "locality",
            "a ResNet on Pathfinder or Is Same Class, with the separation penalty",
            COMMANDS,
        ),
    ),
    training=Training("impreg.train.locality", "LocalityConfig"),
    # its images are drawn by its own rules: workflow/rules/locality.smk
    jobs=(Jobs("locality", runs, gpu=lambda c: c["locality"]["gpu"]),),
    figures=tuple(
        FigureSpec(
            f,
            label,
            "locality",
            "locality",
            lambda c, f=f: [f"runs/locality/{r}" for r in figure_runs(c, f)],
            lambda c, f=f: figure_settings(c, f),
            "impreg.claims.locality:locality_claims",
            extras=("table",),
            downloads=downloads,
        )
        for f, label in (
            ("locality", "P2 Fig. C (ResNet18)"),
            ("locality_resnet34", "P2 Fig. D (appendix, ResNet34)"),
        )
    ),
    rule_file="locality.smk",
)
