"""What every training loop shares: device choice, run records and progress reporting."""

from __future__ import annotations

import csv
import platform
import resource
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

import impreg
from impreg.io import atomic_path, write_json
from impreg.run_settings import DTYPE_NAMES

# the run settings' dtype names as torch types
DTYPES = {name: getattr(torch, name) for name in DTYPE_NAMES}


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA when present; otherwise the named device, checked to exist."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            f"device '{name}' was requested but no CUDA device is available; use device: auto or cpu"
        )
    return device


def device_description(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda:{torch.cuda.get_device_name(device)}"
    return f"cpu:{torch.get_num_threads()} threads"


def versions() -> dict[str, str | None]:
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "impreg": impreg.__version__,
        "impreg_commit": source_commit(),
        "numpy": sys.modules["numpy"].__version__ if "numpy" in sys.modules else "?",
    }


def source_commit() -> str | None:
    """The commit of the package's source tree, with ``+dirty`` when its files have uncommitted
    changes; None outside a git checkout (an installed wheel). The package version alone cannot say
    which code made a run."""
    src = str(Path(impreg.__file__).resolve().parent)

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", src, *args], capture_output=True, text=True, timeout=30, check=True
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no", "--", ".")
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("+dirty" if dirty else "")


def write_metrics_csv(path: str | Path, rows: list[dict[str, Any]]) -> None:
    """Write tidy history rows (one per logged step) atomically."""
    if not rows:
        raise ValueError(f"no metric rows to write to {path}")
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def write_summary(path: str | Path, settings: Any, **fields: Any) -> None:
    """summary.json: final values, the resolved settings and the software versions."""
    summary = dict(fields)
    summary["settings"] = (
        asdict(settings) if hasattr(settings, "__dataclass_fields__") else dict(settings)
    )
    summary["versions"] = versions()
    write_json(path, summary)


def peak_memory_mb(device: torch.device | None = None) -> dict[str, float]:
    """Peak resident memory of this process (and the peak CUDA allocation on a GPU), in MiB.

    ``ru_maxrss`` is KiB on Linux (bytes on macOS); it covers the whole process lifetime, so it is
    the figure a scheduler's memory limit must allow for.
    """
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak = {"host_rss_mb": round(rss / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)}
    if device is not None and device.type == "cuda":
        peak["cuda_allocated_mb"] = round(torch.cuda.max_memory_allocated(device) / 2**20, 1)
    return peak


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> None:
    """torch.save through a temporary file: a kill mid-write never leaves a truncated checkpoint."""
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
