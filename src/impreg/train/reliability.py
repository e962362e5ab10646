"""What makes a long training run safe to interrupt and honest about itself.

- **Checkpoints** (``checkpoint.pt`` in the run folder): one file, overwritten atomically
  (``common.save_checkpoint``), stamped with a fingerprint of the settings and the data, so a
  rerun resumes only a run that would have computed the same numbers. A kill during a write
  leaves at most a temporary file beside it, which the next run deletes.
- **SIGTERM** (what SLURM, a container runtime or ``kill`` send before ``SIGKILL``): instead of
  dying mid-step, the loop finishes its current step, writes a checkpoint and exits with status
  143 (128 + 15, the shell's "terminated"). (A loop that can resume only at an epoch boundary,
  like locality's, abandons the epoch in progress instead and keeps the last epoch's checkpoint.) SIGKILL cannot be caught: the rerun then resumes
  from the last periodic checkpoint. Either way the resumed run ends with the numbers of an
  uninterrupted one (bit for bit on CPU).
- **Determinism**: every summary says whether rerunning the same settings gives the same bits,
  and if not, why (CUDA's atomic adds, cuBLAS workspaces).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import torch

from impreg.train.common import save_checkpoint

CHECKPOINT = "checkpoint.pt"
TERMINATED_EXIT_CODE = 128 + signal.SIGTERM
# CUBLAS_WORKSPACE_CONFIG values under which cuBLAS gives the same bits run after run (PyTorch's
# reproducibility notes): without them it may split a product over workspaces differently.
DETERMINISTIC_CUBLAS = (":4096:8", ":16:8")


# --- fingerprints ------------------------------------------------------------------------------


def data_digest(*arrays: Any, meta: dict | None = None) -> str:
    """SHA-1 of the arrays' bytes, shapes and dtypes (and of ``meta``): which data a checkpoint was trained on."""
    h = hashlib.sha1()
    for arr in arrays:
        arr = np.ascontiguousarray(arr)
        h.update(f"{arr.dtype}{arr.shape}".encode())
        h.update(arr.tobytes())
    h.update(json.dumps(meta or {}, sort_keys=True, default=str).encode())
    return h.hexdigest()


def fingerprint(cfg: Any, data: str) -> str:
    """One hash of everything that changes the numbers: the settings dataclass ``cfg`` but its fields
    named in ``NOT_IN_FINGERPRINT`` (device, checkpoint period and the like), and the data digest."""
    settings = {
        k: v for k, v in dataclasses.asdict(cfg).items() if k not in type(cfg).NOT_IN_FINGERPRINT
    }
    text = json.dumps({"settings": settings, "data": data}, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()


# --- checkpoint files ----------------------------------------------------------------------------


def remove_stale_temporaries(path: str | Path) -> list[Path]:
    """Delete ``.checkpoint.pt.*.tmp`` files beside ``path``: what a SIGKILL during a checkpoint write
    leaves behind (``atomic_path``'s temporary). Keeps a run folder at one checkpoint file."""
    path = Path(path)
    stale = sorted(path.parent.glob(f".{path.name}.*.tmp")) if path.parent.is_dir() else []
    for tmp in stale:
        tmp.unlink(missing_ok=True)
    return stale


def write_checkpoint(path: str | Path, fmt: int, fingerprint_: str, state: dict[str, Any]) -> None:
    """Overwrite ``path`` atomically with ``state`` plus its format and fingerprint."""
    save_checkpoint(path, {"format": fmt, "fingerprint": fingerprint_, **state})


def read_checkpoint(
    path: str | Path, fmt: int, fingerprint_: str, log: Callable[[str], Any]
) -> dict | None:
    """The checkpoint's payload when it exists, is readable, has format ``fmt`` and was written for
    ``fingerprint_``; otherwise None, with a line in the log saying why the run starts over."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        payload = torch.load(path, map_location="cpu", weights_only=False)
        if not isinstance(payload, dict) or payload.get("format") != fmt:
            found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
            raise ValueError(f"format {found!r}, expected {fmt}")
    except Exception as err:  # noqa: BLE001 - any unreadable checkpoint means: start over
        log(f"checkpoint {path} is unreadable ({err}); starting from scratch")
        return None
    if payload.get("fingerprint") != fingerprint_:
        log(f"checkpoint {path} was written with other settings or data; starting from scratch")
        return None
    return payload


def cpu_state(module_or_optimizer: Any) -> dict:
    """A state dict with every tensor on the CPU, so a checkpoint loads on any device."""

    def to_cpu(value: Any) -> Any:
        if isinstance(value, torch.Tensor):
            return value.detach().cpu()
        if isinstance(value, dict):
            return {k: to_cpu(v) for k, v in value.items()}
        if isinstance(value, list):
            return [to_cpu(v) for v in value]
        return value

    return to_cpu(module_or_optimizer.state_dict())


# --- SIGTERM -------------------------------------------------------------------------------------


class Terminated(SystemExit):
    """Raised by a loop that stopped on SIGTERM after writing its checkpoint: exit status 143."""

    def __init__(self, message: str) -> None:
        super().__init__(TERMINATED_EXIT_CODE)
        self.message = message

    def __str__(self) -> str:
        return self.message


def terminate(message: str, log: Callable[[str], Any]) -> NoReturn:
    """End a loop that has acted on a SIGTERM: log ``message`` and raise ``Terminated`` with it."""
    log(message)
    raise Terminated(message)


class TerminationRequest:
    """While active, SIGTERM only sets ``requested``; the loop checks it after every step.

    Installed only in the main thread (Python allows signal handlers nowhere else); the previous
    handler comes back on exit, so a library call never leaves a changed process behind.
    """

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None
        self._installed = False

    def _handle(self, signum, frame) -> None:  # noqa: ARG002 - signal handler signature
        self.requested = True

    def __enter__(self) -> TerminationRequest:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGTERM, self._handle)
            self._installed = True
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._installed:
            signal.signal(signal.SIGTERM, self._previous)
            self._installed = False


# --- determinism ---------------------------------------------------------------------------------


def determinism(device: torch.device, atomic_ops: str = "") -> dict[str, Any]:
    """``{"deterministic": bool, "deterministic_reason": str}`` for summary.json.

    On the CPU the loops' kernels have a fixed reduction order for a given thread count, so a
    rerun gives the same bits (tested). On CUDA that needs cuBLAS's fixed workspace setting and,
    where the backward pass accumulates with atomic adds (``atomic_ops``, e.g. the backward of an
    index), ``torch.use_deterministic_algorithms(True)``; the loops do not switch that on (it is
    slower), so such runs are recorded as not deterministic, with the reason.
    """
    if device.type != "cuda":
        return {
            "deterministic": True,
            "deterministic_reason": f"CPU with {torch.get_num_threads()} thread(s): fixed reduction order, "
            "the same settings and seed give bit-identical numbers",
        }
    problems = []
    if os.environ.get("CUBLAS_WORKSPACE_CONFIG") not in DETERMINISTIC_CUBLAS:
        problems.append(
            "cuBLAS matrix products without CUBLAS_WORKSPACE_CONFIG=:4096:8 may reduce in a "
            "different order from run to run"
        )
    if atomic_ops and not torch.are_deterministic_algorithms_enabled():
        problems.append(
            f"{atomic_ops} accumulate with CUDA atomic adds (torch.use_deterministic_algorithms "
            "is off), whose order varies"
        )
    if problems:
        return {"deterministic": False, "deterministic_reason": "; ".join(problems)}
    return {
        "deterministic": True,
        "deterministic_reason": "CUDA with a fixed cuBLAS workspace"
        + (" and deterministic algorithms" if atomic_ops else "")
        + ": reruns give the same bits",
    }


# --- metrics rows in a checkpoint -------------------------------------------------------------


def pack_rows(rows: list[dict]) -> dict:
    """Metrics rows as one float64 array plus their column names (and which hold integers).

    Pickling the rows as dicts made a paper-scale hierarchical checkpoint (8000 rows x 119
    columns) 12 MB and ~4 s to write; the array is smaller and fast. Integers and floats come
    back exactly (float64 holds every integer below 2^53), so a resumed metrics.csv is
    byte-identical. Rows that do not share one set of columns are kept as they are.
    """
    columns = list(rows[0]) if rows else []
    if not rows or any(list(r) != columns for r in rows):
        return {"rows": list(rows)}
    ints = [c for c in columns if isinstance(rows[0][c], int) and not isinstance(rows[0][c], bool)]
    if any(not isinstance(r[c], int) for r in rows for c in ints):
        return {"rows": list(rows)}
    # a tensor, not a numpy array: torch.save stores its bytes raw (pickle protocol 2 would re-encode them)
    values = torch.tensor([[r[c] for c in columns] for r in rows], dtype=torch.float64)
    return {"columns": columns, "ints": ints, "values": values}


def unpack_rows(packed: dict | list[dict]) -> list[dict]:
    """The inverse of ``pack_rows`` (a plain list of rows, as older checkpoints hold, comes back as it is)."""
    if isinstance(packed, list):
        return list(packed)
    if "rows" in packed:
        return list(packed["rows"])
    columns, ints = packed["columns"], set(packed["ints"])
    return [
        {c: int(v) if c in ints else v for c, v in zip(columns, values)}
        for values in packed["values"].tolist()
    ]
