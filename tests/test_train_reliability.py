"""The harness's promises, checked once over every registered training (impreg.experiments) on
tiny cases: the same seed gives the same numbers and another seed others; a killed run resumes
from its last checkpoint to the uninterrupted numbers; SIGTERM checkpoints and exits 143; a
checkpoint of other settings, or one that cannot be read, means a fresh start; divergence is
recorded; a bad data file is named; and the command line under real SIGTERM and SIGKILL.
(What only one loop does - locality abandoning an epoch on SIGTERM - is in its own test file.)"""

from __future__ import annotations

import dataclasses
import json
import math
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

from helpers import tiny_binary_images
from impreg.cli import main
from impreg.data.locality_sources import make_is_same_class_images
from impreg.data.pathfinder import PathfinderConfig, generate_pathfinder
from impreg.data.synthetic import make_cp_completion, make_cp_sensing, make_ht_completion
from impreg.data.tensorize import BinaryImageData
from impreg.experiments import REGISTRY
from impreg.train import locality
from impreg.train.reliability import CHECKPOINT, TERMINATED_EXIT_CODE

# what may differ between two runs of the same settings: timings, memory, and where a run resumed
UNSTABLE = {
    "wall_seconds",
    "wall_seconds_this_call",
    "iterations_per_second",
    "epochs_per_second",
    "peak_memory",
    "resumed_from",
    "versions",
}


def _nan_target(data: BinaryImageData) -> BinaryImageData:
    targets = data.train_targets.copy()
    targets[3] = np.nan
    return dataclasses.replace(data, train_targets=targets)


def _nan_loss(monkeypatch: pytest.MonkeyPatch) -> None:
    real = locality.task_loss
    monkeypatch.setattr(
        locality,
        "task_loss",
        lambda logits, y, reduction="mean": real(logits, y, reduction) * math.nan,
    )


@dataclass(frozen=True)
class Case:
    """One tiny run of a registered training, and how to interrupt it and make it diverge."""

    experiment: str  # its name in the registry
    command: str  # `impreg train <command>`
    settings: dict[str, Any]  # the config's fields for a whole run of `units` units
    make_data: Callable[[], Any]
    unit: str  # "iteration" or "epoch"
    units: int
    checkpoint_every: int
    other_seed: dict[str, Any]
    other_settings: dict[str, Any]  # a change that changes the fingerprint
    loss_column: str  # the metrics.csv column that a divergence makes non-finite
    diverge: dict[str, Any] = field(default_factory=dict)  # settings that blow the run up...
    corrupt_data: Callable[[Any], Any] | None = None  # ... or data that does
    patch_loss: Callable[[pytest.MonkeyPatch], None] | None = None  # ... or a loss that does
    keeps_checkpoint: bool = True
    # settings of a run long enough to be signalled
    long: dict[str, Any] = field(default_factory=dict)

    def config(self, **overrides: Any):
        return REGISTRY.trainings[self.experiment].config_class()(**(self.settings | overrides))

    @property
    def kill_at(self) -> int:
        return self.units - 1

    def last_checkpoint_before(self, position: int) -> int:
        """Where a run killed after unit ``position`` resumes: the last periodic checkpoint before it."""
        return (position - 1) // self.checkpoint_every * self.checkpoint_every


TF = dict(
    num_components=16,
    init_std=0.05,
    max_iterations=60,
    log_every=5,
    top_k=5,
    device="cpu",
    checkpoint_every=7,
)
IRK = dict(
    init_std=0.1,
    htf_width=4,
    max_iterations=60,
    log_every=5,
    top_k=3,
    device="cpu",
    stop_validations=3,
    checkpoint_every=7,
)
RC = dict(
    ranks=(1, 2),
    seeds=(0, 1),
    epochs=6,
    batch_size=16,
    lr=1e-2,
    eval_every=2,
    checkpoint_every=2,
    device="cpu",
)
LOC = dict(
    x=3, width=2, lam=1.0, seed=0, batch_size=4, max_epochs=3, patience=50, device="cpu", threads=1
)
ITERATIONS = dict(
    unit="iteration",
    units=60,
    checkpoint_every=7,
    other_seed={"seed": 4},
    loss_column="train_loss",
    # a huge step blows the parameters up to inf: the loss (and mf/htf's spectra) become non-finite
    diverge={"lr": 1e30, "init_std": 3.0},
)
LONG_ITERATIONS = {
    "max_iterations": 1500,
    "log_every": 50,
    "stop_loss": 0.0,
    "checkpoint_every": 50,
}


def _pathfinder():
    return generate_pathfinder(
        PathfinderConfig(path_length=3, window=64, output_size=32, geometry_scale=0.5), 16, seed=1
    )


CASES = [
    Case(
        "tf_dynamics",
        "tf-dynamics",
        TF | {"seed": 3},
        lambda: make_cp_completion(
            order=3, mode_dim=4, rank=2, fro_norm=1.0, num_observations=40, seed=0
        ),
        other_settings={"lr": 5e-3},
        long=LONG_ITERATIONS,
        **ITERATIONS,
    ),
    Case(
        "tf_dynamics",
        "tf-sensing",
        TF | {"seed": 3},
        lambda: make_cp_sensing(
            order=3, mode_dim=4, rank=2, fro_norm=1.0, num_measurements=40, seed=0
        ),
        other_settings={"lr": 5e-3},
        **ITERATIONS,
    ),
    Case(
        "incremental_rank",
        "incremental-rank",
        IRK | {"model": "mf", "seed": 3},
        lambda: make_cp_completion(
            order=2, mode_dim=8, rank=2, fro_norm=8.0, num_observations=40, seed=0
        ),
        other_settings={"lr": 5e-3},
        long=LONG_ITERATIONS,
        **ITERATIONS,
    ),
    Case(
        "incremental_rank",
        "incremental-rank",
        IRK | {"model": "tf", "seed": 3},
        lambda: make_cp_completion(
            order=3, mode_dim=4, rank=2, fro_norm=8.0, num_observations=40, seed=0
        ),
        other_settings={"lr": 5e-3},
        **ITERATIONS,
    ),
    Case(
        "incremental_rank",
        "incremental-rank",
        IRK | {"model": "htf", "seed": 3},
        lambda: make_ht_completion(
            order=4,
            mode_dim=3,
            ranks=[2, 2],
            pattern="adjacent",
            fro_norm=9.0,
            num_observations=60,
            seed=0,
        ),
        other_settings={"lr": 5e-3},
        **ITERATIONS,
    ),
    Case(
        "rank_complexity",
        "rank-complexity",
        RC,
        tiny_binary_images,
        unit="epoch",
        units=6,
        checkpoint_every=2,
        other_seed={"seeds": (2, 3)},
        other_settings={"lr": 5e-3},
        loss_column="train_error",
        corrupt_data=_nan_target,
        long={"epochs": 300, "eval_every": 100, "checkpoint_every": 10},
    ),
    Case(
        "locality",
        "locality",
        LOC | {"task": "pathfinder"},
        _pathfinder,
        unit="epoch",
        units=3,
        checkpoint_every=1,
        other_seed={"seed": 1},
        other_settings={"lr": 0.02},
        loss_column="train_loss",
        patch_loss=_nan_loss,
        keeps_checkpoint=False,
        long={"max_epochs": 12},
    ),
    Case(
        "locality",
        "locality",
        LOC
        | {
            "task": "is_same_class",
            "x": 8,
            "batch_size": 8,
            "num_train": 24,
            "num_test": 16,
            "canvas_width": 24,
            "canvas_height": 24,
        },
        lambda: make_is_same_class_images("digits"),
        unit="epoch",
        units=3,
        checkpoint_every=1,
        other_seed={"seed": 1},
        other_settings={"lr": 0.02},
        loss_column="train_loss",
        patch_loss=_nan_loss,
        keeps_checkpoint=False,
    ),
]
IDS = [
    f"{c.command}-{c.settings.get('model') or c.settings.get('task') or c.experiment}"
    for c in CASES
]
# Is Same Class runs the same locality loop as Pathfinder on other data, at several seconds a run:
# make test checks it for determinism only, make test-slow for everything else
PARAMS = [
    pytest.param(
        c, id=i, marks=pytest.mark.slow if c.settings.get("task") == "is_same_class" else ()
    )
    for c, i in zip(CASES, IDS)
]


@pytest.fixture(scope="module")
def datasets():
    built: dict[int, Any] = {}

    def get(case: Case):
        if id(case) not in built:
            built[id(case)] = case.make_data()
        return built[id(case)]

    return get


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, datasets):
    """The uninterrupted run of a case, made once for every test that compares against it:
    (its summary, its run folder)."""
    made: dict[int, tuple[dict, Any]] = {}

    def get(case: Case):
        if id(case) not in made:
            out = tmp_path_factory.mktemp("whole")
            made[id(case)] = _run(case, datasets(case), out), out
        return made[id(case)]

    return get


def _run(case: Case, data: Any, out_dir, config=None, **hooks: Any) -> dict:
    """A run of ``case`` (its settings, or ``config``); ``hooks`` are run's resume, on_unit and stop_after."""
    training = REGISTRY.trainings[case.experiment]
    return training.run(
        config or case.config(), data, out_dir, log=hooks.pop("log", lambda *_: None), **hooks
    )


def _metrics(run_dir) -> str:
    """metrics.csv without its timing columns (locality logs each epoch's seconds)."""
    table = pd.read_csv(run_dir / "metrics.csv", dtype=str, keep_default_na=False)
    return table.drop(columns=[c for c in locality.TIMING_COLUMNS if c in table]).to_csv(
        index=False
    )


def _stable(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k not in UNSTABLE}


def _run_files(case: Case) -> list[str]:
    return sorted([*([CHECKPOINT] if case.keeps_checkpoint else []), "metrics.csv", "summary.json"])


class _Killed(Exception):
    """Stands for a SIGKILL: the loop is left at once, with no chance to write anything."""


def _kill_at(position: int):
    def hook(done: int) -> None:
        if done == position:
            raise _Killed

    return hook


def _sigterm_at(position: int):
    def hook(done: int) -> None:
        if done == position:
            # only while the loop's handler is installed: SIGTERM would otherwise end the test session
            assert signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, signal.SIG_IGN, None)
            signal.raise_signal(signal.SIGTERM)

    return hook


def test_every_registered_training_has_a_case_here_and_keeps_the_plug_in_contract():
    assert {case.experiment for case in CASES} == set(REGISTRY.trainings)
    assert {name: t.problems() for name, t in REGISTRY.trainings.items()} == {
        name: [] for name in REGISTRY.trainings
    }


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_same_seed_same_numbers_other_seed_other_numbers(tmp_path, datasets, case):
    data = datasets(case)
    a = _run(case, data, tmp_path / "a")
    b = _run(case, data, tmp_path / "b")
    _run(case, data, tmp_path / "c", config=case.config(**case.other_seed))
    metrics = {x: _metrics(tmp_path / x) for x in "abc"}
    assert metrics["a"] == metrics["b"] and metrics["a"] != metrics["c"]
    on_disk = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert _stable(on_disk) == _stable(json.loads((tmp_path / "b" / "summary.json").read_text()))
    # the run records: deterministic on the CPU, the peak memory, and where it (did not) resume
    assert (
        a["deterministic"] is True
        and "CPU" in a["deterministic_reason"]
        and on_disk["deterministic"] is True
    )
    assert (
        on_disk["peak_memory"]["host_rss_mb"] > 0
        and "cuda_allocated_mb" not in on_disk["peak_memory"]
    )
    assert a["resumed_from"] is None and b[f"{case.unit}s"] == a[f"{case.unit}s"] == case.units
    assert on_disk["loop_unit"] == case.unit and on_disk["experiment"] == case.experiment


@pytest.mark.parametrize("case", PARAMS)
def test_a_killed_run_resumes_from_its_last_checkpoint_to_the_same_numbers(
    tmp_path, datasets, uninterrupted, case
):
    data = datasets(case)
    whole, whole_dir = uninterrupted(case)
    cut = tmp_path / "cut"
    with pytest.raises(_Killed):
        _run(case, data, cut, on_unit=_kill_at(case.kill_at))
    assert sorted(p.name for p in cut.iterdir()) == [CHECKPOINT]  # nothing else was written
    kept = case.last_checkpoint_before(case.kill_at)
    assert torch.load(cut / CHECKPOINT, weights_only=False)[case.unit] == kept
    messages: list[str] = []
    resumed = _run(case, data, cut, log=messages.append)
    assert resumed["resumed_from"] == kept and any("resuming" in m for m in messages)
    assert _metrics(cut) == _metrics(whole_dir)
    assert _stable(resumed) == _stable(whole)
    # one checkpoint file, overwritten in place (or dropped once the run is done)
    assert sorted(p.name for p in cut.iterdir()) == _run_files(case)


@pytest.mark.parametrize("case", PARAMS)
def test_a_run_stopped_after_some_units_writes_no_run_files_and_resumes(
    tmp_path, datasets, uninterrupted, case
):
    data = datasets(case)
    whole, whole_dir = uninterrupted(case)
    stop = case.units - 1
    assert _run(case, data, tmp_path / "cut", stop_after=stop) == {
        "status": "interrupted",
        f"{case.unit}s": stop,
    }
    assert (
        not (tmp_path / "cut" / "metrics.csv").exists()
        and not (tmp_path / "cut" / "summary.json").exists()
    )
    resumed = _run(case, data, tmp_path / "cut")
    assert resumed["resumed_from"] == case.last_checkpoint_before(stop + 1) and _stable(
        resumed
    ) == _stable(whole)


@pytest.mark.parametrize("case", PARAMS)
def test_sigterm_writes_a_checkpoint_and_exits_143_and_the_rerun_ends_as_uninterrupted(
    tmp_path, datasets, uninterrupted, case
):
    data = datasets(case)
    before = signal.getsignal(signal.SIGTERM)
    whole, whole_dir = uninterrupted(case)
    at = case.units // 2  # tf and incremental_rank: between periodic checkpoints
    with pytest.raises(SystemExit) as info:
        _run(case, data, tmp_path / "cut", on_unit=_sigterm_at(at))
    assert info.value.code == TERMINATED_EXIT_CODE == 143 and "SIGTERM" in str(info.value)
    assert signal.getsignal(signal.SIGTERM) is before  # the loop's handler is gone again
    assert torch.load(tmp_path / "cut" / CHECKPOINT, weights_only=False)[case.unit] == at  # at once
    assert not (tmp_path / "cut" / "summary.json").exists() and not list(
        (tmp_path / "cut").glob(".*.tmp")
    )
    resumed = _run(case, data, tmp_path / "cut")
    assert resumed["resumed_from"] == at and _stable(resumed) == _stable(whole)
    assert _metrics(tmp_path / "cut") == _metrics(whole_dir)


@pytest.mark.parametrize("case", PARAMS)
def test_stale_temporaries_are_removed_and_foreign_or_corrupt_checkpoints_ignored(
    tmp_path, datasets, case
):
    data = datasets(case)
    other = (
        case.config(**case.other_settings, keep_checkpoint=True)
        if not case.keeps_checkpoint
        else case.config(**case.other_settings)
    )
    fresh = _run(case, data, tmp_path / "fresh", config=other)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / f".{CHECKPOINT}.x1y2.tmp").write_bytes(b"half a checkpoint")  # a kill during a write
    _run(case, data, run_dir, stop_after=case.checkpoint_every)
    assert sorted(p.name for p in run_dir.iterdir()) == [CHECKPOINT]
    # a checkpoint of other settings is not resumed
    messages: list[str] = []
    summary = _run(case, data, run_dir, config=other, log=messages.append)
    assert summary["resumed_from"] is None and any("other settings" in m for m in messages)
    assert _stable(summary) == _stable(fresh)
    # one of the right run whose optimizer state is broken: the model weights it loaded before
    # failing must not survive into the fresh start
    # (its run files go, as a killed run has none: a finished run of these settings is kept unread)
    payload = torch.load(run_dir / CHECKPOINT, weights_only=False)
    torch.save(payload | {"optimizer": {"broken": True}}, run_dir / CHECKPOINT)
    (run_dir / "summary.json").unlink()
    messages.clear()
    again = _run(case, data, run_dir, config=other, log=messages.append)
    assert again["resumed_from"] is None and any("unreadable" in m for m in messages)
    assert _stable(again) == _stable(fresh)
    # and a file that is no checkpoint at all
    (run_dir / CHECKPOINT).write_bytes(b"not a checkpoint")
    (run_dir / "summary.json").unlink()
    messages.clear()
    assert _run(case, data, run_dir, config=other, log=messages.append)["resumed_from"] is None
    assert any("unreadable" in m for m in messages)
    # checkpoint_every = 0 writes none (locality checkpoints every epoch: it has no such setting)
    if "checkpoint_every" in case.settings:
        _run(case, data, tmp_path / "none", config=case.config(checkpoint_every=0))
        assert not (tmp_path / "none" / CHECKPOINT).exists()


@pytest.mark.parametrize("case", PARAMS)
def test_divergence_stops_the_run_and_is_recorded(tmp_path, datasets, case, monkeypatch):
    data = datasets(case)
    if case.corrupt_data is not None:
        data = case.corrupt_data(data)
    if case.patch_loss is not None:
        case.patch_loss(monkeypatch)
    summary = _run(case, data, tmp_path, config=case.config(**case.diverge))
    assert summary["status"] == "diverged" and summary[f"{case.unit}s"] < case.units
    metrics = pd.read_csv(tmp_path / "metrics.csv")
    assert metrics[case.unit].iloc[-1] == summary[f"{case.unit}s"]
    assert not math.isfinite(metrics[case.loss_column].iloc[-1])
    assert json.loads((tmp_path / "summary.json").read_text())["status"] == "diverged"
    assert not (tmp_path / CHECKPOINT).exists() or case.keeps_checkpoint


@pytest.mark.parametrize("case", PARAMS)
def test_a_bad_data_file_is_named_and_nothing_is_written(tmp_path, case, capsys):
    bad = tmp_path / "data.npz"
    bad.write_bytes(b"not an npz file")
    flags = _flags(case.settings)
    for data in (bad, tmp_path / "missing.npz"):
        assert (
            main(
                [
                    "train",
                    case.command,
                    "--data",
                    str(data),
                    "--out-dir",
                    str(tmp_path / "run"),
                    *flags,
                ]
            )
            == 2
        )
        assert str(data) in capsys.readouterr().err
    assert not (tmp_path / "run" / "summary.json").exists()


def _flags(settings: dict[str, Any]) -> list[str]:
    """The command-line flags of these settings (cli_args spells every field --field-name)."""

    def words(value: Any) -> list[str]:
        if isinstance(value, tuple):
            return [str(v) for v in value]
        return [str(value).lower() if isinstance(value, bool) else str(value)]

    return [
        w for key, value in settings.items() for w in (f"--{key.replace('_', '-')}", *words(value))
    ]


def _real_signal_cases() -> list:
    """Every case with a long setting; all but incremental_rank's are slow (interpreter starts and
    runs of minutes), so `make test` keeps one and `make test-slow` runs the rest."""
    return [
        pytest.param(c, id=i, marks=() if c.experiment == "incremental_rank" else pytest.mark.slow)
        for c, i in zip(CASES, IDS)
        if c.long
    ]


@pytest.mark.parametrize("case", _real_signal_cases())
def test_a_real_sigterm_then_sigkill_and_a_rerun_give_the_uninterrupted_numbers(
    tmp_path, datasets, case
):
    """The command line under real signals: SIGTERM (status 143, a checkpoint), a rerun killed with
    SIGKILL after its next checkpoint, and a last rerun that ends as an uninterrupted run (the last
    rerun and the reference run in-process: the same code without another interpreter start)."""
    from helpers import signal_when, start_cli

    data = datasets(case)
    data.save(tmp_path / "d.npz")
    settings = case.settings | case.long
    command = [
        "train",
        case.command,
        "--data",
        str(tmp_path / "d.npz"),
        "--out-dir",
        str(tmp_path / "killed"),
        *_flags(settings),
    ]
    ckpt = tmp_path / "killed" / CHECKPOINT

    def position():
        return torch.load(ckpt, weights_only=False)[case.unit] if ckpt.exists() else None

    status, out = signal_when(start_cli(command), ckpt.exists, signal.SIGTERM)
    assert status == 143 and "SIGTERM: stopped" in out, out[-2000:]
    after_term = position()
    assert after_term and not (tmp_path / "killed" / "summary.json").exists()
    status, out = signal_when(
        start_cli(command), lambda: (position() or 0) > after_term, signal.SIGKILL
    )
    assert (
        status == -signal.SIGKILL and f"resuming from {ckpt} after {case.unit} {after_term}" in out
    ), out[-2000:]
    after_kill = position()
    assert not (tmp_path / "killed" / "summary.json").exists() and after_kill > after_term
    assert torch.get_num_threads() == 1  # the CLI's runs used one thread too
    killed = _run(case, data, tmp_path / "killed", config=case.config(**case.long))
    whole = _run(case, data, tmp_path / "whole", config=case.config(**case.long))
    assert killed["resumed_from"] == after_kill and _stable(killed) == _stable(whole)
    assert _metrics(tmp_path / "killed") == _metrics(tmp_path / "whole")
    assert sorted(p.name for p in (tmp_path / "killed").iterdir()) == _run_files(case)


def test_checkpointed_rows_come_back_exactly():
    from impreg.train.reliability import pack_rows, unpack_rows

    rows = [
        {
            "iteration": 25 * i,
            "loss": 0.1 * i + 1e-17,
            "rank_0-1": i % 3,
            "x": float("nan") if i == 2 else 1 / 3,
        }
        for i in range(4)
    ]
    rows[-1]["loss"] = float("inf")
    back = unpack_rows(pack_rows(rows))
    assert [list(r) for r in back] == [list(r) for r in rows]
    assert [type(v) for r in back for v in r.values()] == [
        type(v) for r in rows for v in r.values()
    ]
    assert repr(back) == repr(rows)  # every value, NaN and inf included, as it was
    ragged = [{"a": 1}, {"a": 2, "b": 3.0}]
    assert unpack_rows(pack_rows(ragged)) == ragged and unpack_rows(pack_rows([])) == []


@pytest.mark.gpu
@pytest.mark.parametrize(
    "case", [CASES[0], CASES[4], CASES[5], CASES[6]], ids=[IDS[0], IDS[4], IDS[5], IDS[6]]
)
def test_cuda_runs_record_their_determinism_and_gpu_memory(tmp_path, datasets, case):
    """On a GPU the summary says whether reruns give the same bits, and why not (never run here: no GPU)."""
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    summary = _run(case, datasets(case), tmp_path, config=case.config(device="cuda"))
    assert isinstance(summary["deterministic"], bool) and summary["deterministic_reason"]
    if not summary["deterministic"]:
        assert (
            "CUBLAS_WORKSPACE_CONFIG" in summary["deterministic_reason"]
            or "atomic" in summary["deterministic_reason"]
        )
    assert summary["peak_memory"]["cuda_allocated_mb"] >= 0
