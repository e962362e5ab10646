"""The training harness: what every long training loop does, written once.

An experiment describes its loop as a ``Loop``: the objects whose state a checkpoint holds, its
own counters, one unit of work (an iteration or an epoch: the boundary at which a run can
resume) and the fields its summary adds. ``run_loop`` does the rest, in this order:

1. out-dir hygiene: old final outputs and the temporaries of killed writes are deleted, so a
   run never looks complete before it is;
2. resume: a run folder that already holds this run, finished with the same fingerprint (the
   settings and the data), is kept as it is; otherwise a checkpoint of the same format and
   fingerprint is loaded; one that fails to load half-way leaves the model and optimizer as they
   were and the run starts over;
3. the driver: the stop rule, one unit, divergence (a unit returns a status), periodic
   checkpoints (atomic, one file) and SIGTERM at the unit boundary (``reliability``), with a
   tqdm progress bar;
4. the run files: metrics.csv (the rows) and summary.json (``summary_fields`` plus the
   experiment's fields), then the checkpoint is dropped unless the loop keeps it.
"""

from __future__ import annotations

import copy
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from impreg.train.common import device_description, peak_memory_mb, write_metrics_csv, write_summary
from impreg.train.reliability import (
    CHECKPOINT,
    TerminationRequest,
    cpu_state,
    determinism,
    pack_rows,
    read_checkpoint,
    remove_stale_temporaries,
    terminate,
    unpack_rows,
    write_checkpoint,
)

OUTPUTS = ("metrics.csv", "summary.json")
Log = Callable[[str], Any]


@dataclass
class LoopState:
    """Where a loop stands: everything a resumed run needs besides the saved objects' own state."""

    position: int = 0  # completed units: iterations (= optimizer steps) or epochs
    # the experiment's own (stop-rule streaks, steps)
    counters: dict[str, int] = field(default_factory=dict)
    rows: list[dict] = field(default_factory=list)  # metrics rows logged so far
    elapsed: float = 0.0  # training seconds spent by earlier processes (resumed runs)
    resumed_from: int | None = None  # the position this process resumed at


@dataclass
class UnitContext:
    """What one unit of work gets from the harness besides the loop state."""

    state: LoopState
    progress: tqdm
    interrupt: Callable[[], None]  # call between batches to abandon the unit on a pending SIGTERM


@dataclass
class Loop:
    """An experiment's loop, as the harness drives it."""

    experiment: str
    unit: str  # "iteration" or "epoch": the boundary where a run checkpoints, resumes and stops on SIGTERM
    total: int  # units at most (the progress bar's total)
    checkpoint_format: int
    fingerprint: str  # reliability.fingerprint of the settings and data
    saved: dict[str, Any]  # objects with state_dict/load_state_dict, saved under these names
    # one unit; returns a status to end the run there, else None
    advance: Callable[[UnitContext], str | None]
    # the experiment's summary fields from the final state and status
    summary: Callable[[LoopState, str], dict]
    device: torch.device
    counters: dict[str, int] = field(default_factory=dict)  # the counters' initial values
    stop_rule: Callable[[LoopState], str | None] = lambda state: None  # checked before each unit
    checkpoint_every: int = (
        1  # units between checkpoints (0: none); the last unit of a stopped run too
    )
    keep_checkpoint: bool = True  # False: delete it once the run files are written
    atomic_ops: str = ""  # see reliability.determinism
    desc: str = ""  # the progress bar's label
    mininterval: float = 5.0  # seconds between progress bar refreshes


def clear_outputs(out_dir: Path) -> None:
    """Old final outputs (a new run must not look complete before it is) and the temporary files
    that a killed write leaves behind (SIGKILL skips clean-up)."""
    for name in OUTPUTS:
        (out_dir / name).unlink(missing_ok=True)
    for name in (CHECKPOINT, *OUTPUTS):
        remove_stale_temporaries(out_dir / name)


def save_state(path: Path, loop: Loop, state: LoopState, elapsed: float) -> None:
    """Overwrite the checkpoint atomically: position, counters, rows, elapsed time and the saved objects."""
    write_checkpoint(
        path,
        loop.checkpoint_format,
        loop.fingerprint,
        {
            loop.unit: state.position,
            **state.counters,
            "rows": pack_rows(state.rows),
            "elapsed": elapsed,
            **{name: cpu_state(obj) for name, obj in loop.saved.items()},
        },
    )


def load_state(path: Path, loop: Loop, log: Log) -> LoopState:
    """The state of a matching checkpoint, its objects loaded; a fresh state when there is none,
    it does not match, or it fails to load (then every object is as it was before)."""
    fresh = LoopState(counters=dict(loop.counters))
    payload = read_checkpoint(path, loop.checkpoint_format, loop.fingerprint, log)
    if payload is None:
        return fresh
    before = {name: copy.deepcopy(obj.state_dict()) for name, obj in loop.saved.items()}
    try:
        for name, obj in loop.saved.items():
            obj.load_state_dict(payload[name])
        position = int(payload[loop.unit])
        state = LoopState(
            position=position,
            counters={k: int(payload[k]) for k in loop.counters},
            rows=unpack_rows(payload["rows"]),
            elapsed=float(payload["elapsed"]),
            resumed_from=position,
        )
    except Exception as err:  # noqa: BLE001 - any unreadable checkpoint means: start over
        for (
            name,
            obj,
        ) in loop.saved.items():  # a load that failed half-way must not leave its state behind
            obj.load_state_dict(before[name])
        log(f"checkpoint {path} is unreadable ({type(err).__name__}: {err}); starting from scratch")
        return fresh
    log(f"resuming from {path} after {loop.unit} {state.position}")
    return state


def summary_fields(loop: Loop, state: LoopState, status: str, wall: float, units: int) -> dict:
    """The fields every summary.json shares (one spelling for all experiments)."""
    return {
        "experiment": loop.experiment,
        "status": status,
        "loop_unit": loop.unit,
        f"{loop.unit}s": state.position,
        "resumed_from": state.resumed_from,
        "wall_seconds": round(state.elapsed + wall, 3),
        "wall_seconds_this_call": round(wall, 3),
        f"{loop.unit}s_per_second": round(units / wall, 3) if wall > 0 and units else None,
        "device": device_description(loop.device),
        **determinism(loop.device, loop.atomic_ops),
        "peak_memory": peak_memory_mb(loop.device),
        "fingerprint": loop.fingerprint,
    }


def finished_run(out_dir: Path, fingerprint_: str) -> dict | None:
    """The summary fields of the run that ``out_dir`` holds when it finished with this fingerprint, else None.

    Rerunning a finished run's command (a moved checkout, a workflow whose rule text changed, a
    forced job) then costs seconds, not the training: what changes a run's numbers is in the
    fingerprint. Its files are touched, so that a workflow that compares times sees them as new.
    """
    files = [out_dir / name for name in OUTPUTS]
    if not all(f.is_file() for f in files):
        return None
    try:
        summary = json.loads((out_dir / "summary.json").read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(summary, dict) or summary.get("fingerprint") != fingerprint_:
        return None
    for f in files:
        os.utime(f)
    # as run_loop returns it
    return {k: v for k, v in summary.items() if k not in ("settings", "versions")}


def run_loop(
    loop: Loop,
    settings: Any,
    out_dir: str | Path,
    resume: bool = True,
    log: Log = print,
    on_unit: Callable[[int], None] | None = None,
    stop_after: int | None = None,
) -> dict:
    """Drive ``loop`` to its end and write its run files into ``out_dir``; returns the summary.

    ``on_unit`` is called with the position after every completed unit (tests interrupt a run
    with it at an exact point). ``stop_after`` ends this call after that many units, as a kill
    would (no checkpoint beyond the periodic ones, no run files), returning
    ``{"status": "interrupted", "<unit>s": position}``. On SIGTERM the run raises
    ``reliability.Terminated`` (exit status 143), at the unit boundary or, where the unit calls
    ``interrupt``, abandoning the unit in progress.
    """
    if loop.checkpoint_every < 0:
        raise ValueError(f"checkpoint_every must be >= 0, got {loop.checkpoint_every}")
    out_dir = Path(out_dir)
    if resume and (kept := finished_run(out_dir, loop.fingerprint)) is not None:
        log(
            f"{out_dir} already holds this run, finished with the same settings and data: kept "
            "(delete the folder, or pass resume=False, to train it again)"
        )
        return kept
    out_dir.mkdir(parents=True, exist_ok=True)
    clear_outputs(out_dir)
    ckpt = out_dir / CHECKPOINT
    # installed before the resume, and kept while the run files are written: a SIGTERM from then on
    # is ignored, and the job ends as complete
    with TerminationRequest() as term:
        state = load_state(ckpt, loop, log) if resume else LoopState(counters=dict(loop.counters))

        def interrupt() -> None:
            if term.requested:
                kept = f"checkpoint {ckpt} kept" if ckpt.exists() else "no checkpoint yet"
                terminate(
                    f"SIGTERM: stopped during {loop.unit} {state.position + 1}, which is abandoned; {kept}; "
                    "run the same command to resume",
                    log,
                )

        first, start = state.position, time.perf_counter()
        progress = tqdm(
            total=loop.total,
            initial=first,
            desc=loop.desc or loop.experiment,
            unit=loop.unit,
            mininterval=loop.mininterval,
            dynamic_ncols=False,
        )
        try:
            while (status := loop.stop_rule(state)) is None:
                if stop_after is not None and state.position - first >= stop_after:
                    log(
                        f"stopped after {loop.unit} {state.position}; a rerun resumes from the last checkpoint"
                    )
                    return {"status": "interrupted", f"{loop.unit}s": state.position}
                status = loop.advance(UnitContext(state, progress, interrupt))
                progress.update(state.position - progress.n)
                if status is not None:  # diverged or stopped: nothing more to checkpoint
                    break
                if on_unit is not None:
                    on_unit(state.position)
                _checkpoint_or_stop(
                    loop, state, ckpt, term, state.elapsed + time.perf_counter() - start, log
                )
        finally:
            progress.close()
        wall = time.perf_counter() - start
        return _write_run_files(
            loop, settings, out_dir, state, status, wall, state.position - first
        )


def _checkpoint_or_stop(
    loop: Loop, state: LoopState, ckpt: Path, term: TerminationRequest, elapsed: float, log: Log
) -> None:
    """After a unit: the periodic checkpoint (and the last one of a run that stops here); on a
    pending SIGTERM, the checkpoint now and the end of the process, unless the run is done anyway."""
    every = loop.checkpoint_every
    finished = loop.stop_rule(state) is not None
    if every and (state.position % every == 0 or finished or term.requested):
        save_state(ckpt, loop, state, elapsed)
    if (
        term.requested and not finished
    ):  # read again: a SIGTERM during the write stops the run here too
        kept = f"checkpoint {ckpt} written" if every else "no checkpoint (checkpoint_every = 0)"
        terminate(
            f"SIGTERM: stopped after {loop.unit} {state.position}; {kept}; run the same command to resume",
            log,
        )


def _write_run_files(
    loop: Loop, settings: Any, out_dir: Path, state: LoopState, status: str, wall: float, units: int
) -> dict:
    """metrics.csv and summary.json (the command line prints the outcome), then the checkpoint's clean-up."""
    if not state.rows:  # a failed run must never look complete
        raise RuntimeError(f"no {loop.unit} was logged; nothing to write")
    summary = summary_fields(loop, state, status, wall, units) | loop.summary(state, status)
    write_metrics_csv(out_dir / "metrics.csv", state.rows)
    write_summary(out_dir / "summary.json", settings, **summary)
    if not loop.keep_checkpoint:
        (out_dir / CHECKPOINT).unlink(missing_ok=True)
    return summary
