"""Helpers shared by the notebook and workflow tests."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW_FILES = ["Snakefile", "config", "workflow", "notebooks", "profiles", "envs", "src"]


def venv_env() -> dict[str, str]:
    """Environment whose PATH starts with this interpreter's bin (python, papermill, snakemake)."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["OMP_NUM_THREADS"] = "1"
    env.pop("PYTHONPATH", None)
    return env


def copy_workflow(dest: Path) -> Path:
    """A fresh copy of the workflow (no results) to run in isolation."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in WORKFLOW_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(src, dest / name)
    return dest


def snakemake(workdir: Path, *args: str, timeout: int = 600, path: str | None = None) -> subprocess.CompletedProcess:
    """Run this venv's snakemake in ``workdir`` (``path``: the PATH it sees instead of the usual one)."""
    cmd = [str(Path(sys.executable).parent / "snakemake"), *args]
    env = venv_env() if path is None else {**venv_env(), "PATH": path}
    return subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout)


def papermill(notebook: Path, out: Path, params: dict, cwd: Path) -> subprocess.CompletedProcess:
    import json

    env = venv_env()
    env["PYTHONPATH"] = str(ROOT / "src")
    cmd = [str(Path(sys.executable).parent / "papermill"), str(notebook), str(out), "-k", "python3",
           "--log-output", "-y", json.dumps(params)]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def _sigmoid(t, center, width=30.0):
    return 1 / (1 + np.exp(-(t - center) / width))


def fake_dynamics_run(dirpath: Path, init: float, seed: int, escapes, finals, final_error: float,
                      diverge_at: int | None = None, width: float = 30.0) -> Path:
    """A fabricated tf_dynamics-style run: components rise at ``escapes`` to ``finals`` and the
    reconstruction error falls in matching steps to ``final_error`` (for notebook tests); each rise is
    a sigmoid of ``width`` iterations.

    With ``diverge_at``, the run is cut there as the training loop leaves a diverged run: its last
    row holds the non-finite loss (inf) and values (NaN) and summary.json says ``diverged``."""
    import json

    import pandas as pd

    t = np.arange(0, 16000, 25)
    tops = np.full((len(t), 10), 1e-6)
    err = np.ones(len(t))
    for k, (c, f) in enumerate(zip(escapes, finals)):
        tops[:, k] = np.maximum(f * _sigmoid(t, c, width), 1e-6)
    for c, d in zip(escapes, np.diff(np.linspace(1.0, final_error, len(escapes) + 1))):
        err = err + d * _sigmoid(t, c, width)
    tops = -np.sort(-tops, axis=1)
    df = pd.DataFrame({"iteration": t, "train_loss": err**2 * 1e-4, "reconstruction_error": err})
    for k in range(10):
        df[f"top_component_{k}"] = tops[:, k]
    status, iterations = "converged", int(t[-1])
    if diverge_at is not None:
        df = df[df["iteration"] <= diverge_at].copy()
        df.loc[df.index[-1], "train_loss"] = np.inf
        df.loc[df.index[-1], df.columns[2:]] = np.nan
        status, iterations = "diverged", int(df["iteration"].iloc[-1])
    dirpath.mkdir(parents=True)
    df.to_csv(dirpath / "metrics.csv", index=False)
    summary = {"status": status, "iterations": iterations, "seed": seed, "wall_seconds": 1.0,
               "settings": {"init_std": init, "seed": seed}}
    (dirpath / "summary.json").write_text(json.dumps(summary))
    return dirpath


def start_cli(args: list[str]) -> subprocess.Popen:
    """``python -m impreg <args>`` in a subprocess (the package from src/, one thread).

    Its output goes to a temporary file (``proc.output``), not a pipe: a pipe nobody reads while
    the test waits could fill up and stall the job.
    """
    import tempfile

    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), OMP_NUM_THREADS="1")
    output = tempfile.TemporaryFile(mode="w+")
    proc = subprocess.Popen([sys.executable, "-m", "impreg", *args], env=env, stdout=output,
                            stderr=subprocess.STDOUT, text=True)
    proc.output = output
    return proc


def signal_when(proc: subprocess.Popen, ready, sig: int, timeout: float = 120.0) -> tuple[int, str]:
    """Send ``sig`` to ``proc`` (from ``start_cli``) as soon as ``ready()`` holds; returns its exit
    status and output. Fails the test if the process ends first (too short to be interrupted)."""
    import time

    deadline = time.time() + timeout
    while not ready() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    still_running = proc.poll() is None
    if still_running:
        proc.send_signal(sig)
    proc.wait(timeout=timeout)
    proc.output.seek(0)
    out = proc.output.read()
    proc.output.close()
    assert still_running, f"the job ended (status {proc.returncode}) before it could be interrupted:\n{out[-2000:]}"
    return proc.returncode, out


RANK_COMPLEXITY_FIGURES = ["rank_complexity", "rank_complexity_cifar10", "rank_complexity_digits",
                           "rank_complexity_mnist5k"]
DYNAMICS_FIGURES = ["tf_dynamics_variants", "incremental_rank", "htf_detail"]
LOCALITY_FIGURES = ["locality", "locality_resnet34"]


def locality_runs(loc: dict) -> int:
    """Training jobs of the locality sweep: per figure, every range x (kept) lambda of each task x seed."""
    def kept(task: str, figure: dict) -> int:
        keep = figure.get("lambdas", {}).get(task)
        return sum(keep is None or lam in keep for lam in loc[task]["lambdas"])

    return sum((len(loc["is_same_class"]["distances"]) * kept("is_same_class", f)
                + len(loc["pathfinder"]["path_lengths"]) * kept("pathfinder", f)) * len(f["seeds"])
               for f in loc["figures"].values())


def planned_files(output: str, *kinds: str) -> set[str]:
    """The files a dry-run's job blocks name under ``kinds`` (output, log, benchmark, input)."""
    lines = re.findall(rf"^\s+(?:{'|'.join(kinds)}): (.*)$", output, re.M)
    return {f.strip() for line in lines for f in line.split(",")}


def job_counts(output: str) -> dict[str, int]:
    """Parse the 'Job stats' table of a dry-run."""
    table = output.split("Job stats:")[-1]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M) if m.group(1) != "total"}


def tiny_binary_images(n_train: int = 60, n_test: int = 30, pixels: int = 12, seed: int = 0):
    """Binary 'images' whose label (2 or 0) is mostly decided by two pixels (rank_complexity's tiny case)."""
    from impreg.data.tensorize import BinaryImageData

    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 2, (n_train + n_test, pixels), dtype=np.uint8)
    y = np.where(bits[:, 0] & bits[:, 1], 2.0, 0.0).astype(np.float32)
    meta = {"dataset": "tiny", "control": "natural", "variance_line": float(np.var(y[:n_train]) / 4)}
    return BinaryImageData(bits[:n_train], y[:n_train], bits[n_train:], y[n_train:], (3, 4), meta)
