"""Helpers shared by the notebook and workflow tests."""

from __future__ import annotations

import os
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


def snakemake(workdir: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    cmd = [str(Path(sys.executable).parent / "snakemake"), *args]
    return subprocess.run(cmd, cwd=workdir, env=venv_env(), capture_output=True, text=True, timeout=timeout)


def papermill(notebook: Path, out: Path, params: dict, cwd: Path) -> subprocess.CompletedProcess:
    import json

    env = venv_env()
    env["PYTHONPATH"] = str(ROOT / "src")
    cmd = [str(Path(sys.executable).parent / "papermill"), str(notebook), str(out), "-k", "python3",
           "--log-output", "-y", json.dumps(params)]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def _sigmoid(t, center, width=30.0):
    return 1 / (1 + np.exp(-(t - center) / width))


def fake_dynamics_run(dirpath: Path, init: float, seed: int, escapes, finals, final_error: float) -> Path:
    """A fabricated tf_dynamics-style run: components rise at ``escapes`` to ``finals`` and the
    reconstruction error falls in matching steps to ``final_error`` (for notebook tests)."""
    import json

    import pandas as pd

    t = np.arange(0, 16000, 25)
    tops = np.full((len(t), 10), 1e-6)
    err = np.ones(len(t))
    for k, (c, f) in enumerate(zip(escapes, finals)):
        tops[:, k] = np.maximum(f * _sigmoid(t, c), 1e-6)
    for c, d in zip(escapes, np.diff(np.linspace(1.0, final_error, len(escapes) + 1))):
        err = err + d * _sigmoid(t, c)
    tops = -np.sort(-tops, axis=1)
    df = pd.DataFrame({"iteration": t, "train_loss": err**2 * 1e-4, "reconstruction_error": err})
    for k in range(10):
        df[f"top_component_{k}"] = tops[:, k]
    dirpath.mkdir(parents=True)
    df.to_csv(dirpath / "metrics.csv", index=False)
    summary = {"status": "converged", "iterations": int(t[-1]), "seed": seed, "wall_seconds": 1.0,
               "settings": {"init_std": init, "seed": seed}}
    (dirpath / "summary.json").write_text(json.dumps(summary))
    return dirpath
