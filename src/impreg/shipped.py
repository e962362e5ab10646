"""The measured outcome shipped in the repository, results/shipped/<scale>/: the run files of the
finished figures (summary.json, and metrics.csv gzip-compressed as metrics.csv.gz; never
checkpoints), the figures, tables, claims, executed notebooks and REPLICATION.md regenerated from
them (``make figures``), and ORIGIN.json, which names per figure the commit and config that made
its runs.

A figure's runs are the files its executed notebook read: papermill records the notebook's
parameters, so nothing here needs the workflow. Refreshing is two steps around ``make figures``:
``ship_runs`` copies the runs of a finished workflow run in, ``ship_outputs`` copies the regenerated
outputs over the shipped ones and checks the folder (no checkpoints, at most LIMIT_BYTES)."""

from __future__ import annotations

import datetime as dt
import filecmp
import gzip
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from impreg.io import DataFileError, read_json, write_json

SHIPPED = Path("results/shipped")
OUTPUT_DIRS = ("figures", "claims", "tables", "notebooks")
REPORT = "REPLICATION.md"
ORIGIN = "ORIGIN.json"
LIMIT_BYTES = 50 * 10**6  # what a clone may carry (all scales together)
SCALES = ("paper", "quick")  # smoke runs use stand-in data: never shipped
COMMIT = re.compile(r"^[0-9a-f]{40}$")
# run files shipped compressed (the long hierarchical runs' metrics are tens of MB as text), as
# the figure rules read them from the shipped folder; gzip keeps every byte and pandas reads it
COMPRESSED = {"metrics.csv": "metrics.csv.gz"}


def shipped_name(name: str) -> str:
    """The name a run file ``name`` has in the shipped folder."""
    return COMPRESSED.get(name, name)


def _shipped_path(rel: Path) -> Path:
    return rel.with_name(shipped_name(rel.name))


def _same_content(src: Path, shipped: Path) -> bool:
    """Whether the shipped copy of ``src`` holds its bytes (decompressed where it is compressed)."""
    if not shipped.is_file():
        return False
    if shipped.name == src.name:
        return filecmp.cmp(src, shipped, shallow=False)
    return gzip.decompress(shipped.read_bytes()) == src.read_bytes()


def _copy_run_file(src: Path, dest: Path) -> None:
    """Copy, compressing where the shipped name says so: reproducible bytes (no name, no mtime in
    the gzip header), and a fresh file mtime, so that the figure rule sees new runs."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.name == src.name:
        shutil.copyfile(src, dest)
        return
    with (
        dest.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz,
    ):
        gz.write(src.read_bytes())


def notebook_parameters(path: str | Path) -> dict:
    """The parameters papermill ran an executed notebook with; an error if it failed or never ran."""
    meta = read_json(path).get("metadata", {}).get("papermill")
    if not meta or "parameters" not in meta:
        raise DataFileError(f"{path} is not a notebook executed by papermill")
    if meta.get("exception"):
        raise DataFileError(f"{path} stopped with an error; rerun its figure rule")
    return meta["parameters"]


def run_files(params: dict) -> list[str]:
    """The run files (summary.json, metrics.csv) a figure notebook read, as its parameters name them."""
    return [*params.get("summaries", []), *params.get("metrics", [])]


def _stand_in(obj: Any) -> bool:
    if isinstance(obj, dict):
        return obj.get("stand_in") is True or any(_stand_in(v) for v in obj.values())
    return isinstance(obj, list) and any(_stand_in(v) for v in obj)


def _git(*args: str) -> str:
    try:
        out = subprocess.run(["git", *args], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as err:
        raise ValueError(
            f"git {' '.join(args)} failed ({err}); name the commit explicitly"
        ) from err
    return out.stdout


def resolve_commit(rev: str | None) -> str:
    """The full hash of ``rev`` (default HEAD)."""
    if rev and COMMIT.match(rev):
        return rev
    return _git("rev-parse", "--verify", f"{rev or 'HEAD'}^{{commit}}").strip()


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _mtime(path: Path) -> str:
    return dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def read_origin(dest: Path, scale: str) -> dict:
    path = dest / ORIGIN
    return read_json(path) if path.exists() else {"scale": scale, "figures": {}}


def _finished_runs(
    notebook: Path, runs_root: Path, scale: str, named: bool
) -> dict[Path, Path] | None:
    """Run file -> its path under ``runs_root``, for a figure finished at ``scale`` from real data;
    None for a figure of another scale or whose notebook failed (an error when it was ``named``)."""
    try:
        params = notebook_parameters(notebook)
    except DataFileError:
        if named:
            raise
        return None
    if params.get("scale") != scale:
        if named:
            raise ValueError(
                f"{notebook.stem} was made at scale {params.get('scale')!r}, not {scale!r}"
            )
        return None
    files = [Path(f) for f in run_files(params)]
    rel = {f: Path(os.path.relpath(f.resolve(), runs_root)) for f in files}
    if (
        not files
        or any(r.parts[0] == ".." for r in rel.values())
        or not all(f.is_file() for f in files)
    ):
        raise DataFileError(
            f"{notebook.stem}: its run files are not all under {runs_root} ({files[:2]} ...)"
        )
    if any(_stand_in(read_json(f)) for f in files if f.name == "summary.json"):
        raise ValueError(
            f"{notebook.stem}: some of its runs were made from stand-in data; they are never shipped"
        )
    return rel


def _run_dirs(rel: dict[Path, Path]) -> list[str]:
    return sorted({str(r.parent) for r in rel.values()})


def ship_runs(
    results: Path,
    dest: Path,
    scale: str,
    runs_commit: str | None = None,
    config_file: str = "",
    figures: list[str] | None = None,
    note: str = "",
) -> list[str]:
    """Copy the run files of every figure that a workflow run under ``results`` finished at ``scale``
    (or only ``figures``) into ``dest``/runs, and record their origin; returns the figures shipped.
    A figure whose runs are shipped already, unchanged, keeps its recorded origin."""
    if scale not in SCALES:
        raise ValueError(f"scale {scale!r} is never shipped (only {', '.join(SCALES)})")
    notebooks = {p.stem: p for p in sorted((results / "notebooks").glob("*.ipynb"))}
    unknown = sorted(set(figures or []) - set(notebooks))
    if unknown:
        raise DataFileError(f"no executed notebook for {unknown} in {results}/notebooks")
    runs_root = (results / "runs").resolve()
    origin = read_origin(dest, scale)
    commit = resolve_commit(runs_commit)
    shipped = []
    for figure, notebook in notebooks.items():
        if figures and figure not in figures:
            continue
        rel = _finished_runs(notebook, runs_root, scale, named=bool(figures))
        if rel is None:
            continue
        if origin["figures"].get(figure, {}).get("runs") == _run_dirs(rel) and all(
            _same_content(f, dest / "runs" / _shipped_path(r)) for f, r in rel.items()
        ):
            continue  # shipped already, with its recorded origin
        for src, r in rel.items():
            _copy_run_file(src, dest / "runs" / _shipped_path(r))
        finished = sorted(_mtime(f) for f in rel if f.name == "summary.json")
        origin["figures"][figure] = {
            "runs": _run_dirs(rel),
            "runs_commit": commit,
            "runs_finished": [finished[0], finished[-1]],
            "config_file": config_file,
            "config": notebook_parameters(notebook).get("config", {}),
            "shipped": _now(),
            "note": " ".join(note.split()),
        }
        shipped.append(figure)
    write_json(dest / ORIGIN, origin)
    return shipped


def ship_outputs(
    made: Path,
    dest: Path,
    scale: str,
    runs_commit: str | None = None,
    config_file: str = "",
    note: str = "",
) -> list[str]:
    """Copy what ``make figures`` made from the shipped runs (``made``) over the shipped outputs in
    ``dest``. Every figure made must have its runs' origin recorded (by ship_runs), or, for runs
    copied into ``dest``/runs by hand, ``runs_commit`` names the commit that made them. Returns the
    figures shipped."""
    if not (made / REPORT).is_file():
        raise DataFileError(f"{made / REPORT} does not exist; run make figures SCALE={scale} first")
    origin = read_origin(dest, scale)
    figures = sorted(p.stem for p in (made / "claims").glob("*.json"))
    for figure in figures:
        params = notebook_parameters(made / "notebooks" / f"{figure}.ipynb")
        files = [Path(f) for f in run_files(params)]
        runs = sorted(
            {os.path.relpath(f.parent.resolve(), (dest / "runs").resolve()) for f in files}
        )
        if not all(f.is_file() for f in files):
            raise DataFileError(
                f"{figure}: made from runs no longer in {dest / 'runs'}; run make figures again"
            )
        if origin["figures"].get(figure, {}).get("runs") == runs:
            continue
        if not runs_commit:
            raise ValueError(
                f"{figure}: its runs in {dest / 'runs'} are not those ORIGIN.json records; name the "
                "commit that made them (RUNS_COMMIT=...), or ship them with ship-runs"
            )
        origin["figures"][figure] = {
            "runs": runs,
            "runs_commit": resolve_commit(runs_commit),
            "runs_finished": None,
            "config_file": config_file,
            "config": params.get("config", {}),
            "shipped": _now(),
            "note": " ".join(note.split()),
        }
    for sub in OUTPUT_DIRS:
        if (dest / sub).exists():
            shutil.rmtree(dest / sub)  # outputs of figures no longer made go too
        if (made / sub).exists():
            shutil.copytree(made / sub, dest / sub)
    shutil.copyfile(made / REPORT, dest / REPORT)
    # the code that made the outputs: HEAD, and any file of it not committed yet
    changed = _git(
        "status", "--porcelain", "--", "Snakefile", "src", "notebooks", "workflow", "config"
    )
    origin["outputs"] = {
        "commit": resolve_commit(None),
        "uncommitted": [line[3:] for line in changed.splitlines()],
        "made": _now(),
        "how": f"make figures SCALE={scale}, from the runs in runs/",
    }
    write_json(dest / ORIGIN, origin)
    check_shipped(dest.parent)
    return figures


def shipped_size(root: Path = SHIPPED) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def check_shipped(root: Path = SHIPPED) -> None:
    """No checkpoint files, and at most LIMIT_BYTES in all."""
    checkpoints = [
        str(p)
        for p in root.rglob("*")
        if p.is_file() and (p.suffix == ".pt" or "checkpoint" in p.name)
    ]
    if checkpoints:
        raise ValueError(f"checkpoints are never shipped: {checkpoints}")
    size = shipped_size(root)
    if size > LIMIT_BYTES:
        raise ValueError(
            f"{root} holds {size / 1e6:.1f} MB, over the {LIMIT_BYTES / 1e6:.0f} MB limit; "
            "ship fewer figures or thin their metrics"
        )
