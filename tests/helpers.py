"""Helpers shared by the notebook and workflow tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

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
