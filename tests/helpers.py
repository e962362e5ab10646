"""Helpers shared by the notebook and workflow tests."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

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
            shutil.copytree(
                src, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
            )
        else:
            shutil.copy2(src, dest / name)
    return dest


def snakemake(
    workdir: Path, *args: str, timeout: int = 600, path: str | None = None
) -> subprocess.CompletedProcess:
    """Run this venv's snakemake in ``workdir`` (``path``: the PATH it sees instead of the usual one)."""
    cmd = [str(Path(sys.executable).parent / "snakemake"), *args]
    env = venv_env() if path is None else {**venv_env(), "PATH": path}
    return subprocess.run(
        cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout
    )


def papermill(notebook: Path, out: Path, params: dict, cwd: Path) -> subprocess.CompletedProcess:
    import json

    env = venv_env()
    env["PYTHONPATH"] = str(ROOT / "src")
    cmd = [
        str(Path(sys.executable).parent / "papermill"),
        str(notebook),
        str(out),
        "-k",
        "python3",
        "--log-output",
        "-y",
        json.dumps(params),
    ]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def _sigmoid(t, center, width=30.0):
    return 1 / (1 + np.exp(-(t - center) / width))


FIGURE3_TARGET = {
    "kind": "cp_completion",
    "order": 4,
    "mode_dim": 10,
    "rank": 5,
    "fro_norm": 1.0,
    "num_observations": 2000,
}


def fake_dynamics_history(
    seed: int,
    escapes,
    final_error: float,
    meta: dict | None = None,
    order=None,
    finals=None,
    width: float = 30.0,
    blow_up: float = 0.0,
) -> tuple[dict, pd.DataFrame]:
    """A fabricated tf_dynamics-style run (summary, metrics) on a real target: the target of ``meta``
    (Figure 3's, drawn with ``seed``, by default) has its terms learned one each at ``escapes`` (the
    terms ``order``, largest first by default), each a sigmoid rise of ``width`` iterations, so the
    reconstruction error steps down exactly through the levels the target predicts, to ``final_error``
    (added in quadrature). ``finals`` replaces the learned norms the run ends with (its components then
    differ from the target's terms); ``blow_up`` grows one more component, in a direction of its own,
    from iteration 3000 to that norm. Components are logged as order statistics with their indices
    (term j is component 10 + j) and saved at the end as a run saves them."""

    from impreg.data.synthetic import cp_target_components
    from impreg.tensor_ranks import matricization_singular_values

    meta = dict(FIGURE3_TARGET if meta is None else meta, seed=seed)
    tensor, terms = cp_target_components(meta)
    rank, order = len(terms.norms), list(range(len(terms.norms))) if order is None else list(order)
    t = np.arange(0, 16000, 25)
    progress = np.zeros((len(t), rank))
    for j, c in zip(order, escapes):
        progress[:, j] = _sigmoid(t, c, width)
    cells = [f[:, :, None] * f[:, None, :] for f in terms.factors]  # (d, rank, rank) per mode
    gram = np.prod([c.sum(axis=0) for c in cells], axis=0) * np.outer(terms.norms, terms.norms)
    missing = 1.0 - progress
    resid = np.sqrt(np.einsum("ti,ij,tj->t", missing, gram, missing)) / np.linalg.norm(tensor)
    spurious = blow_up * _sigmoid(t, 3000.0, 300.0) if blow_up else np.zeros(len(t))
    err = np.sqrt(resid**2 + final_error**2 + (spurious / np.linalg.norm(tensor)) ** 2)
    end_norms = terms.norms if finals is None else np.asarray(finals, dtype=float)
    norms = np.concatenate(
        [
            np.maximum(progress * end_norms, 1e-6),
            spurious[:, None] + 1e-7,
            np.full((len(t), 9), 1e-6) * (1 - np.arange(9) / 100),
        ],
        axis=1,
    )
    index = np.array([10 + j for j in range(rank)] + [999] + list(range(9)))
    top = np.argsort(-norms, axis=1, kind="stable")[:, :10]
    df = pd.DataFrame({"iteration": t, "train_loss": err**2 * 1e-4, "reconstruction_error": err})
    for k in range(10):
        df[f"top_component_{k}"] = np.take_along_axis(norms, top[:, k : k + 1], axis=1)[:, 0]
    for k in range(10):
        df[f"top_index_{k}"] = index[top[:, k]]
    rng = np.random.default_rng(seed + 1000)
    unit = [
        np.concatenate([f, rng.standard_normal((f.shape[0], 10))], axis=1) for f in terms.factors
    ]
    unit = [u / np.linalg.norm(u, axis=0) for u in unit]
    last = top[-1]
    summary = {
        "seed": seed,
        "data": meta,
        "target_singular_values": matricization_singular_values(tensor, [0]).tolist(),
        "final_components": {
            "index": index[last].tolist(),
            "norm": norms[-1, last].tolist(),
            "factors": [u[:, last].tolist() for u in unit],
        },
    }
    return summary, df


def fake_dynamics_run(
    dirpath: Path,
    init: float,
    seed: int,
    escapes,
    final_error: float,
    diverge_at: int | None = None,
    **kw,
) -> Path:
    """``fake_dynamics_history`` written as a run folder (for notebook tests).

    With ``diverge_at``, the run is cut there as the training loop leaves a diverged run: its last
    row holds the non-finite loss (inf) and values (NaN) and summary.json says ``diverged``."""
    import json

    summary, df = fake_dynamics_history(seed, escapes, final_error, **kw)
    status, iterations = "converged", int(df["iteration"].iloc[-1])
    if diverge_at is not None:
        df = df[df["iteration"] <= diverge_at].copy()
        df.loc[df.index[-1], "train_loss"] = np.inf
        df.loc[df.index[-1], [c for c in df.columns[2:] if not c.startswith("top_index_")]] = np.nan
        status, iterations = "diverged", int(df["iteration"].iloc[-1])
    dirpath.mkdir(parents=True)
    df.to_csv(dirpath / "metrics.csv", index=False)
    summary |= {
        "status": status,
        "iterations": iterations,
        "wall_seconds": 1.0,
        "settings": {"init_std": init, "seed": seed},
    }
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
    proc = subprocess.Popen(
        [sys.executable, "-m", "impreg", *args],
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
        text=True,
    )
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
    assert still_running, (
        f"the job ended (status {proc.returncode}) before it could be interrupted:\n{out[-2000:]}"
    )
    return proc.returncode, out


RANK_COMPLEXITY_FIGURES = [
    "rank_complexity",
    "rank_complexity_cifar10",
    "rank_complexity_digits",
    "rank_complexity_mnist5k",
]
DYNAMICS_FIGURES = ["tf_dynamics_variants", "incremental_rank", "htf_detail"]
LOCALITY_FIGURES = ["locality", "locality_resnet34"]


def locality_runs(loc: dict) -> int:
    """Training jobs of the locality sweep: per figure, every range x (kept) lambda of each task x seed."""

    def kept(task: str, figure: dict) -> int:
        keep = figure.get("lambdas", {}).get(task)
        return sum(keep is None or lam in keep for lam in loc[task]["lambdas"])

    return sum(
        (
            len(loc["is_same_class"]["distances"]) * kept("is_same_class", f)
            + len(loc["pathfinder"]["path_lengths"]) * kept("pathfinder", f)
        )
        * len(f["seeds"])
        for f in loc["figures"].values()
    )


def planned_files(output: str, *kinds: str) -> set[str]:
    """The files a dry-run's job blocks name under ``kinds`` (output, log, benchmark, input)."""
    lines = re.findall(rf"^\s+(?:{'|'.join(kinds)}): (.*)$", output, re.M)
    return {f.strip() for line in lines for f in line.split(",")}


def job_counts(output: str) -> dict[str, int]:
    """Parse the 'Job stats' table of a dry-run."""
    table = output.split("Job stats:")[-1]
    return {
        m.group(1): int(m.group(2))
        for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)
        if m.group(1) != "total"
    }


def tiny_binary_images(n_train: int = 60, n_test: int = 30, pixels: int = 12, seed: int = 0):
    """Binary 'images' whose label (2 or 0) is mostly decided by two pixels (rank_complexity's tiny case)."""
    from impreg.data.tensorize import BinaryImageData

    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 2, (n_train + n_test, pixels), dtype=np.uint8)
    y = np.where(bits[:, 0] & bits[:, 1], 2.0, 0.0).astype(np.float32)
    meta = {
        "dataset": "tiny",
        "control": "natural",
        "variance_line": float(np.var(y[:n_train]) / 4),
    }
    return BinaryImageData(bits[:n_train], y[:n_train], bits[n_train:], y[n_train:], (3, 4), meta)
