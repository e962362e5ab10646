"""Countering locality with explicit regularization (P2 Fig. C): one ResNet run on Is Same Class
or Pathfinder, with or without the separation-rank penalty (spec 2.2-2.4).

The protocol is the original's: a randomly initialized ResNet18/34 with one logit, BCE-with-logits
plus ``lam`` times the separation penalty, SGD (lr 1e-2, momentum 0.9, no weight decay by default, constant
lr), batches of 64, at most 150 epochs, stopping once the epoch's train accuracy (the running
accuracy of the training steps, in train mode) has been exactly 100% for more than ``patience``
consecutive epochs. The test set is evaluated (eval mode, no gradients) after every epoch; the
reported value is the *last* epoch's test accuracy, a fraction.

Penalty boxes: Is Same Class uses the two image locations, I chosen uniformly per batch;
Pathfinder uses a random ``patch_size`` square I and a non-overlapping square J at least
``reg_distance`` px away, drawn per batch. With ``penalty_batch`` set, the penalty is taken on that
many samples of each batch (the first of a random order) and the task loss on the whole batch.

The probe: after every epoch, whatever ``lam``, the penalty is measured in eval mode on the first
``probe_size`` test samples, in batches of ``PROBE_BATCH`` whose patch pairs come from a stream that
depends on the batch index alone, so every run on the same data is probed on the same images and
the same pairs (``probe_penalty`` in metrics.csv): the plain network's penalty beside the
regularized one's.

Randomness without saved generator states: the model is initialized under
``torch.manual_seed(seed)``, epoch e visits the train set in the order
``default_rng([seed, e, ORDER_STREAM]).permutation`` and batch b of epoch e draws its patches from
``default_rng([seed, e, b, PATCH_STREAM])``. So a run killed after any epoch and run again resumes
from ``checkpoint.pt`` (model, optimizer, rows, stopping streak) and ends, on CPU, bit for bit
as an uninterrupted run. On CUDA it does not: cuDNN's convolution backward is not deterministic.
``checkpoint.pt`` is one file, overwritten every epoch and deleted once the outputs are written
(written, read and fingerprinted by ``impreg.train.harness``).

SIGTERM (a scheduler's time limit, a container stop) ends the run at the next batch boundary with
exit status 143 (``reliability.Terminated``): the epoch in progress is abandoned, since a resumed run
can only start at an epoch boundary and an epoch may outlast a scheduler's grace period, and the
checkpoint of the last completed epoch stays whole. A SIGTERM that arrives once an epoch's training
and evaluation are done stops the run after that epoch's checkpoint is written.

Data stays on the device as uint8 and is normalized (and, for Is Same Class, pasted onto its
canvases) a batch at a time there, so a GPU never waits on per-item Python work.

Mixed precision (``amp: bf16``) autocasts the forward passes and the penalty on CUDA only; on a
CPU it is refused (CPU bf16 autocast is slow and would make the run's numbers differ from what
``amp`` records elsewhere), so a CPU run must say ``amp: none``.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from impreg.data.is_same_class import IsSameClassPairs, pair_boxes
from impreg.data.locality_sources import IsSameClassImages
from impreg.data.pathfinder import PathfinderData
from impreg.experiments.locality import AMP_MODES, ARCHS, TASKS, LocalityConfig  # noqa: F401 (the plug-in's config)
from impreg.regularizers import Box, choose_patch_order, sample_patch_pair, separation_penalty
from impreg.train.common import device_description, resolve_device
from impreg.train.harness import Loop, LoopState, UnitContext, run_loop
from impreg.train.reliability import data_digest, fingerprint

CHECKPOINT_FORMAT = (
    2  # 2: tensors saved on the CPU, reliability's data digest (dtypes and shapes too)
)
# the only columns that differ between reruns
TIMING_COLUMNS = (
    "epoch_seconds",
    "train_images_per_second",
)
# Entropy tags that keep the seeded streams apart (any distinct constants would do).
ORDER_STREAM, PATCH_STREAM, TRAIN_PAIRS_STREAM, TEST_PAIRS_STREAM, PROBE_STREAM = 1, 2, 3, 4, 5
PROBE_BATCH = 64  # the paper's batch: each probe batch swaps patch J among its own samples
# what makes a CUDA run's bits vary from rerun to rerun (reliability.determinism)
ATOMIC_OPS = "the backward passes of cuDNN's convolutions and of the adaptive average pooling"


def _log(text: str) -> None:
    print(text, flush=True)  # the workflow's log of the job: one line per epoch, visible as it runs


# --- settings ----------------------------------------------------------------------------------


# --- seeded streams and the stopping rule ---------------------------------------------------------


def epoch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    """The order in which epoch ``epoch`` (0-based) visits the n train samples."""
    return np.random.default_rng([seed, epoch, ORDER_STREAM]).permutation(n)


def patch_rng(seed: int, epoch: int, batch: int) -> np.random.Generator:
    """The stream that places the penalty's patches in batch ``batch`` of epoch ``epoch``."""
    return np.random.default_rng([seed, epoch, batch, PATCH_STREAM])


def derived_seed(seed: int, stream: int) -> int:
    """An integer seed for a consumer that takes one (the Is Same Class pair draws)."""
    return int(np.random.SeedSequence([seed, stream]).generate_state(1)[0])


def batch_bounds(n: int, batch_size: int) -> list[tuple[int, int]]:
    """Consecutive [start, stop) batches; a trailing batch of one joins the previous batch, since
    BatchNorm cannot train on it and the penalty needs a neighbour to swap with."""
    bounds = [(a, min(a + batch_size, n)) for a in range(0, n, batch_size)]
    if len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] == 1:
        bounds[-2:] = [(bounds[-2][0], n)]
    return bounds


def next_streak(streak: int, correct: int, total: int) -> int:
    """Consecutive epochs with every train sample classified correctly (exact counts, not floats)."""
    return streak + 1 if correct == total else 0


def stop_reason(epochs_done: int, streak: int, cfg: LocalityConfig) -> str | None:
    """Why training ends after ``epochs_done`` epochs (None: it goes on)."""
    if streak > cfg.patience:
        return "perfect_train_stop"
    if epochs_done >= cfg.max_epochs:
        return "max_epochs"
    return None


# --- the two tasks, on the device ---------------------------------------------------------------


class IsSameClassTask:
    """Train pairs from the source's train split, test pairs from its test split, seeded by ``seed``."""

    def __init__(self, data: IsSameClassImages, cfg: LocalityConfig, device: torch.device) -> None:
        size = data.train_images.shape[1]
        if 2 * size + cfg.x > cfg.canvas_width or size > cfg.canvas_height:
            raise ValueError(
                f"LocalityConfig.x = {cfg.x}: two {size} px images {cfg.x} px apart need a canvas at least "
                f"{size} px high and {2 * size + cfg.x} px wide, but canvas_height x canvas_width is "
                f"{cfg.canvas_height} x {cfg.canvas_width}"
            )
        common = dict(
            distance=cfg.x,
            canvas_width=cfg.canvas_width,
            canvas_height=cfg.canvas_height,
            device=device,
            mean=data.mean,
            std=data.std,
        )
        self.train = IsSameClassPairs(
            data.train_images,
            data.train_labels,
            cfg.num_train,
            seed=derived_seed(cfg.seed, TRAIN_PAIRS_STREAM),
            **common,
        )
        self.test = IsSameClassPairs(
            data.test_images,
            data.test_labels,
            cfg.num_test,
            seed=derived_seed(cfg.seed, TEST_PAIRS_STREAM),
            **common,
        )
        self.boxes = pair_boxes(cfg.x, size, cfg.canvas_width, cfg.canvas_height)
        self.channels, self.input_hw = (
            data.train_images.shape[3],
            (cfg.canvas_height, cfg.canvas_width),
        )
        self.num_train, self.num_test = len(self.train), len(self.test)
        self.train_labels, self.test_labels = self.train.labels, self.test.labels
        self.meta = dict(data.meta, image_boxes=[list(b) for b in self.boxes])

    def train_inputs(self, index: torch.Tensor) -> torch.Tensor:
        return self.train.canvases(index)

    def test_inputs(self, index: torch.Tensor) -> torch.Tensor:
        return self.test.canvases(index)

    def penalty_boxes(self, rng: np.random.Generator) -> tuple[Box, Box]:
        return choose_patch_order(self.boxes, rng)


class PathfinderTask:
    """The file's images split by a seeded permutation, normalized with the train split's mean/std."""

    def __init__(self, data: PathfinderData, cfg: LocalityConfig, device: torch.device) -> None:
        length = data.meta.get("path_length")
        if length != cfg.x:
            raise ValueError(
                f"LocalityConfig.x = {cfg.x} but the Pathfinder file holds path length {length}"
            )
        n, size = len(data.labels), data.images.shape[1]
        n_test = int(round(n * cfg.test_fraction))
        if n_test < 1 or n - n_test < 2:
            raise ValueError(
                f"LocalityConfig.test_fraction = {cfg.test_fraction} splits {n} images into "
                f"{n - n_test} train / {n_test} test; need >= 2 train and >= 1 test"
            )
        perm = np.random.default_rng(cfg.split_seed).permutation(n)
        test_idx, train_idx = np.sort(perm[:n_test]), np.sort(perm[n_test:])
        self.mean, self.std = pixel_mean_std(data.images[train_idx])
        self.images = {
            k: torch.as_tensor(np.ascontiguousarray(data.images[i]), device=device)
            for k, i in (("train", train_idx), ("test", test_idx))
        }
        self.train_labels = torch.as_tensor(data.labels[train_idx], device=device).float()
        self.test_labels = torch.as_tensor(data.labels[test_idx], device=device).float()
        self.channels, self.input_hw = 1, (size, size)
        self.num_train, self.num_test = len(train_idx), len(test_idx)
        self.patch_size, self.reg_distance = cfg.patch_size, cfg.reg_distance
        self.meta = dict(data.meta, train_mean=self.mean, train_std=self.std)
        if cfg.lam > 0:  # fail now, not in the first batch, when no patch pair fits
            try:
                self.penalty_boxes(np.random.default_rng(0))
            except ValueError as err:
                raise ValueError(
                    f"LocalityConfig.patch_size = {cfg.patch_size} / reg_distance = "
                    f"{cfg.reg_distance}: {err}"
                ) from err

    def _inputs(self, split: str, index: torch.Tensor) -> torch.Tensor:
        x = self.images[split][index].float().div_(255)
        return x.sub_(self.mean).div_(self.std).unsqueeze(1)

    def train_inputs(self, index: torch.Tensor) -> torch.Tensor:
        return self._inputs("train", index)

    def test_inputs(self, index: torch.Tensor) -> torch.Tensor:
        return self._inputs("test", index)

    def penalty_boxes(self, rng: np.random.Generator) -> tuple[Box, Box]:
        return sample_patch_pair(
            *self.input_hw, self.patch_size, rng, min_distance=self.reg_distance
        )


def pixel_mean_std(images: np.ndarray) -> tuple[float, float]:
    """Mean and std of uint8 pixels in [0, 1] units, exactly (from a histogram, no float sums over
    hundreds of millions of pixels)."""
    counts = np.bincount(np.ascontiguousarray(images).ravel(), minlength=256).astype(np.float64)
    values = np.arange(256) / 255
    total = counts.sum()
    mean = float(counts @ values / total)
    var = float(counts @ (values - mean) ** 2 / total)
    return mean, math.sqrt(var) if var > 0 else 1.0


def make_task(
    cfg: LocalityConfig, data: PathfinderData | IsSameClassImages, device: torch.device
) -> PathfinderTask | IsSameClassTask:
    expected = PathfinderData if cfg.task == "pathfinder" else IsSameClassImages
    if not isinstance(data, expected):
        raise ValueError(
            f"LocalityConfig.task = {cfg.task!r} needs {expected.__name__}, got {type(data).__name__}"
        )
    return (
        PathfinderTask(data, cfg, device)
        if cfg.task == "pathfinder"
        else IsSameClassTask(data, cfg, device)
    )


def data_fingerprint(data: PathfinderData | IsSameClassImages) -> str:
    """Digest of the data file's arrays and metadata (what a checkpoint was trained on)."""
    arrays = (
        (data.images, data.labels)
        if isinstance(data, PathfinderData)
        else (data.train_images, data.train_labels, data.test_images, data.test_labels)
    )
    return data_digest(*arrays, meta=data.meta)


# --- one epoch ---------------------------------------------------------------------------------


@dataclass
class _Step:
    """What one training step needs besides the batch."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    lam: float
    autocast: Callable[[], contextlib.AbstractContextManager]
    memory_format: torch.memory_format
    input_conv: nn.Conv2d | None = None  # the model's first layer (separation_penalty's input_conv)
    penalty_batch: int = 0  # the penalty on this many samples of the batch (0: all of them)


def task_loss(logits: torch.Tensor, y: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """BCE with logits on float32 logits of shape (B, 1)."""
    return F.binary_cross_entropy_with_logits(logits.float().squeeze(1), y, reduction=reduction)


def _train_step(
    step: _Step, x: torch.Tensor, y: torch.Tensor, boxes: tuple[Box, Box] | None
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
    """One SGD step; returns the batch's (BCE, penalty or None, logits), detached."""
    step.optimizer.zero_grad(set_to_none=True)
    x = x.contiguous(memory_format=step.memory_format)
    penalty = None
    with step.autocast():
        if boxes is None:  # lam == 0: one forward, no input gradients
            logits = step.model(x)
        elif (
            0 < step.penalty_batch < len(x)
        ):  # the task loss on the batch, the penalty on part of it
            logits = step.model(x)
            penalty = separation_penalty(
                step.model, x[: step.penalty_batch], *boxes, input_conv=step.input_conv
            ).penalty
        else:  # the penalty's first forward gives the logits too
            out = separation_penalty(step.model, x, *boxes, input_conv=step.input_conv)
            logits, penalty = out.logits, out.penalty
    bce = task_loss(logits, y)
    loss = bce if penalty is None else bce + step.lam * penalty
    loss.backward()
    step.optimizer.step()
    return bce.detach(), None if penalty is None else penalty.detach(), logits.detach()


def train_epoch(
    step: _Step,
    task,
    seed: int,
    epoch: int,
    batch_size: int,
    after_batch: Callable[[], None] | None = None,
) -> dict:
    """One pass over the train set in the seeded order; sums stay on the device until the end.
    ``after_batch`` is called after every step (``run``: stop there on SIGTERM)."""
    device = task.train_labels.device
    order = torch.as_tensor(epoch_order(seed, epoch, task.num_train), device=device)
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    penalty_sum = torch.zeros((), dtype=torch.float64, device=device)
    correct = torch.zeros((), dtype=torch.int64, device=device)
    step.model.train()
    for b, (start, stop) in enumerate(batch_bounds(task.num_train, batch_size)):
        index = order[start:stop]
        y = task.train_labels[index]
        boxes = task.penalty_boxes(patch_rng(seed, epoch, b)) if step.lam > 0 else None
        bce, penalty, logits = _train_step(step, task.train_inputs(index), y, boxes)
        loss_sum += bce.double() * len(index)
        if penalty is not None:
            penalty_sum += penalty.double() * len(index)
        correct += ((logits.squeeze(1) > 0) == (y > 0.5)).sum()
        if after_batch is not None:
            after_batch()
    n = task.num_train
    return dict(
        train_loss=loss_sum.item() / n,
        train_correct=int(correct.item()),
        train_penalty=penalty_sum.item() / n if step.lam > 0 else float("nan"),
    )


@torch.no_grad()
def evaluate(
    step: _Step, task, batch_size: int, after_batch: Callable[[], None] | None = None
) -> tuple[float, float]:
    """Test loss and accuracy in eval mode (BatchNorm's running statistics); ``after_batch`` as in
    ``train_epoch``."""
    device = task.test_labels.device
    step.model.eval()
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    correct = torch.zeros((), dtype=torch.int64, device=device)
    for start in range(0, task.num_test, batch_size):
        index = torch.arange(start, min(start + batch_size, task.num_test), device=device)
        y = task.test_labels[index]
        with step.autocast():
            logits = step.model(
                task.test_inputs(index).contiguous(memory_format=step.memory_format)
            )
        loss_sum += task_loss(logits, y, reduction="sum").double()
        correct += ((logits.squeeze(1) > 0) == (y > 0.5)).sum()
        if after_batch is not None:
            after_batch()
    step.model.train()
    return loss_sum.item() / task.num_test, correct.item() / task.num_test


def probe_penalty(
    step: _Step, task, size: int, after_batch: Callable[[], None] | None = None
) -> float:
    """The penalty in eval mode on the first ``size`` test samples, in batches of ``PROBE_BATCH``
    with patch pairs drawn from ``default_rng([PROBE_STREAM, batch])``: the same images and pairs
    for every run on the same data, whatever its seed or lambda (NaN when ``size`` is 0)."""
    size = min(size, task.num_test)
    if size < 2:
        return math.nan
    device = task.test_labels.device
    step.model.eval()
    total = 0.0
    for b, (start, stop) in enumerate(batch_bounds(size, PROBE_BATCH)):
        boxes = task.penalty_boxes(np.random.default_rng([PROBE_STREAM, b]))
        x = task.test_inputs(torch.arange(start, stop, device=device)).contiguous(
            memory_format=step.memory_format
        )
        with torch.enable_grad(), step.autocast():
            out = separation_penalty(
                step.model, x, *boxes, input_conv=step.input_conv, create_graph=False
            )
        total += out.penalty.item() * (stop - start)
        if after_batch is not None:
            after_batch()
    step.model.train()
    return total / size


# --- the run -----------------------------------------------------------------------------------


def _autocast_factory(
    cfg: LocalityConfig, device: torch.device
) -> Callable[[], contextlib.AbstractContextManager]:
    if cfg.amp == "none":
        return contextlib.nullcontext
    if device.type != "cuda":
        raise ValueError(
            f"LocalityConfig.amp = {cfg.amp!r} needs a CUDA device, but the run is on {device}; "
            f"use amp none on a CPU"
        )
    return lambda: torch.autocast("cuda", dtype=torch.bfloat16)


def _build_model(
    cfg: LocalityConfig, channels: int, device: torch.device, memory_format: torch.memory_format
) -> nn.Module:
    """Initialized on the CPU under the run's seed (the same weights on any device), without
    touching the caller's global generator."""
    from impreg.models.resnet import build_resnet  # torchvision, imported only by a training job

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        model = build_resnet(cfg.arch, in_channels=channels, width=cfg.width, num_outputs=1)
    return model.to(device=device, memory_format=memory_format)


def _epoch_line(row: dict, cfg: LocalityConfig, streak: int) -> str:
    penalty = "" if cfg.lam == 0 else f" penalty {row['train_penalty']:.4f}"
    probe = "" if math.isnan(row["probe_penalty"]) else f" probe penalty {row['probe_penalty']:.4f}"
    return (
        f"epoch {row['epoch']}/{cfg.max_epochs}: train loss {row['train_loss']:.4f} acc "
        f"{row['train_accuracy']:.4f}{penalty} | test loss {row['test_loss']:.4f} acc {row['test_accuracy']:.4f}{probe} "
        f"| {row['epoch_seconds']:.1f} s, {row['train_images_per_second']:.0f} img/s, perfect streak {streak}"
    )


def run_epoch(
    step: _Step,
    task,
    cfg: LocalityConfig,
    epoch: int,
    after_batch: Callable[[], None] | None = None,
) -> tuple[dict, int]:
    """Train epoch ``epoch`` (0-based) and evaluate: its metrics row and the exact number of train
    samples the training steps classified correctly (for the stopping rule). ``after_batch`` is
    called after every train step and test batch."""
    start = time.perf_counter()
    train = train_epoch(step, task, cfg.seed, epoch, cfg.batch_size, after_batch)
    train_seconds = time.perf_counter() - start
    test_loss, test_accuracy = evaluate(step, task, cfg.eval_batch_size, after_batch)
    probe = probe_penalty(step, task, cfg.probe_size, after_batch)
    row = dict(
        epoch=epoch + 1,
        train_loss=train["train_loss"],
        train_accuracy=train["train_correct"] / task.num_train,
        train_penalty=train["train_penalty"],
        test_loss=test_loss,
        test_accuracy=test_accuracy,
        probe_penalty=probe,
        epoch_seconds=round(time.perf_counter() - start, 4),
        train_images_per_second=round(task.num_train / max(train_seconds, 1e-9), 2),
    )
    return row, train["train_correct"]


def run(
    cfg: LocalityConfig,
    data: PathfinderData | IsSameClassImages,
    out_dir: str | Path,
    resume: bool = True,
    on_unit: Callable[[int], None] | None = None,
    stop_after: int | None = None,
    log: Callable[[str], None] = _log,
) -> dict:
    """Train to the stopping rule; write metrics.csv and summary.json into ``out_dir``.

    With ``resume``, a ``checkpoint.pt`` of the same settings and data is continued; ``on_unit`` and
    ``stop_after`` are the harness's (``harness.run_loop``: tests interrupt a run with them).
    Returns the summary (``{"status": "interrupted", "epochs": ...}`` when stopped early).
    On SIGTERM it raises ``Terminated`` (exit status 143) at the next batch boundary, leaving the
    checkpoint of the last completed epoch (see the module's docstring).
    """
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = resolve_device(cfg.device)
    autocast = _autocast_factory(cfg, device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = (
            False  # no run-to-run algorithm choice on top of cuDNN's own
        )
        torch.cuda.reset_peak_memory_stats(device)
    task = make_task(cfg, data, device)
    channels_last = uses_channels_last(cfg, device)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = _build_model(cfg, task.channels, device, fmt)
    optimizer = torch.optim.SGD(
        model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay
    )
    step = _Step(
        model,
        optimizer,
        cfg.lam,
        autocast,
        fmt,
        input_conv=model.conv1,
        penalty_batch=cfg.penalty_batch,
    )
    stand_in = bool(task.meta.get("stand_in", False))
    log(
        f"locality {cfg.task} x={cfg.x} lam={cfg.lam} seed={cfg.seed}{' [STAND-IN DATA]' if stand_in else ''}: "
        f"{cfg.arch} width {cfg.width} ({sum(p.numel() for p in model.parameters()):,} params) on "
        f"{device_description(device)}, input {task.channels}x{task.input_hw[0]}x{task.input_hw[1]}, "
        f"{task.num_train} train / {task.num_test} test, batch {cfg.batch_size}, up to {cfg.max_epochs} epochs, "
        f"amp {cfg.amp}, channels_last {channels_last}"
    )

    def advance(unit: UnitContext) -> str | None:
        """One epoch, abandoned at a batch boundary on SIGTERM (an epoch may outlast a grace period)."""
        state = unit.state
        row, correct = run_epoch(step, task, cfg, state.position, unit.interrupt)
        state.rows.append(row)
        state.position += 1
        state.counters["streak"] = next_streak(state.counters["streak"], correct, task.num_train)
        log(_epoch_line(row, cfg, state.counters["streak"]))
        if not all(math.isfinite(row[k]) for k in ("train_loss", "test_loss")) or (
            cfg.lam > 0 and not math.isfinite(row["train_penalty"])
        ):
            return "diverged"
        return None

    loop = Loop(
        experiment="locality",
        unit="epoch",
        total=cfg.max_epochs,
        checkpoint_format=CHECKPOINT_FORMAT,
        fingerprint=fingerprint(cfg, data_fingerprint(data)),
        saved={"model": model, "optimizer": optimizer},
        advance=advance,
        summary=lambda state, status: _summary(cfg, task, model, state),
        device=device,
        counters={"streak": 0},
        stop_rule=lambda state: stop_reason(state.position, state.counters["streak"], cfg),
        checkpoint_every=1,
        keep_checkpoint=cfg.keep_checkpoint,
        atomic_ops=ATOMIC_OPS,
        desc=f"locality {cfg.task} x={cfg.x} lam={cfg.lam:g} seed={cfg.seed}",
        mininterval=30,
    )
    return run_loop(
        loop, cfg, out_dir, resume=resume, log=log, on_unit=on_unit, stop_after=stop_after
    )


def uses_channels_last(cfg: LocalityConfig, device: torch.device) -> bool:
    """Channels-last only where it pays (CUDA): on CPU it is no faster, and torch 2.14's CPU kernels
    crash on it for narrow ResNets (widths 2 and 4, one thread) on some CPUs (AMD EPYC, AVX2)."""
    return cfg.channels_last and device.type == "cuda"


def _finite_or_none(value: float) -> float | None:
    """JSON has no NaN: a missing penalty (lam 0) or a diverged loss is written as null."""
    return value if math.isfinite(value) else None


def _summary(cfg: LocalityConfig, task, model: nn.Module, state: LoopState) -> dict:
    """The fields of summary.json besides the harness's: the final values, the model and the data."""
    last = state.rows[-1]
    return dict(
        final_test_accuracy=last["test_accuracy"],
        final_train_accuracy=last["train_accuracy"],
        final_test_loss=_finite_or_none(last["test_loss"]),
        final_train_loss=_finite_or_none(last["train_loss"]),
        final_train_penalty=_finite_or_none(last["train_penalty"]),
        final_probe_penalty=_finite_or_none(last["probe_penalty"]),
        probe_size=min(cfg.probe_size, task.num_test),
        perfect_train_streak=state.counters["streak"],
        num_parameters=sum(p.numel() for p in model.parameters()),
        channels_last_used=uses_channels_last(cfg, model.conv1.weight.device),
        num_train=task.num_train,
        num_test=task.num_test,
        input_shape=[task.channels, *task.input_hw],
        train_positive_fraction=float(task.train_labels.mean().item()),
        test_positive_fraction=float(task.test_labels.mean().item()),
        stand_in=bool(task.meta.get("stand_in", False)),
        data=task.meta,
    )
