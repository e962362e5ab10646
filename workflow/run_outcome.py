"""What a run that ended with failed jobs leaves behind: the figures that did not run, the dataset
files they wait for, one message saying how to provide them, and a REPLICATION.md that lists them
as not run (plain Python, called from the Snakefile's onerror handler)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from impreg.data.images import DOWNLOADABLE_LABELS, missing_raw_files, source_url
from impreg.report import write_replication_report

# figure -> {dataset to download: the data files a job makes from it}
Downloads = dict[str, dict[str, list[str]]]


def unfinished_outputs(dag) -> set[str] | None:
    """Outputs of the jobs this run had to run but did not finish (failed, or waiting on a failed
    one); None when the DAG cannot say (a Snakemake without ``needrun_jobs``)."""
    jobs = getattr(dag, "needrun_jobs", None)
    if jobs is None:
        return None
    return {os.path.normpath(str(f)) for job in jobs() for f in job.output}


def figures_not_run(claims_files: Iterable[str], unfinished: set[str] | None) -> list[str]:
    """Figures whose claims file this run did not make (or that does not exist at all)."""
    return [Path(c).stem for c in claims_files
            if not Path(c).exists() or (unfinished is not None and os.path.normpath(c) in unfinished)]


def waiting_for(figures: list[str], downloads: Downloads, data_dir: str | None) -> dict[str, dict[str, list[Path]]]:
    """Per figure, the datasets it waits for and their missing files: a dataset counts when one of
    the data files made from it is absent and so are some of its raw files."""
    out: dict[str, dict[str, list[Path]]] = {}
    for figure in figures:
        for dataset, made in downloads.get(figure, {}).items():
            files = [f.absolute() for f in missing_raw_files(dataset, data_dir or None)]
            if files and not all(Path(m).exists() for m in made):
                out.setdefault(figure, {})[dataset] = files
    return out


def outcome_message(waiting: dict[str, dict[str, list[Path]]], failed: list[str], data_dir: Path, scale: str,
                    report: str | None) -> str:
    """One message: the figures waiting for files (which, where from, where to), the others not run."""
    lines = []
    if waiting:
        datasets = sorted({d for need in waiting.values() for d in need}, key=list(DOWNLOADABLE_LABELS).index)
        lines.append(f"NOT RUN: {len(waiting)} figure(s) wait for dataset files that are not in the data folder "
                     f"{data_dir} and could not be downloaded (no network?):")
        for figure, need in waiting.items():
            lines.append(f"  {figure}: " + "; ".join(
                f"{DOWNLOADABLE_LABELS[d]}: {', '.join(str(f.relative_to(data_dir)) for f in files)}" for d, files in need.items()))
        lines.append("Provide them in one of two ways, then run the same command again (make replicate "
                     f"SCALE={scale}); only what is missing runs:")
        lines.append(f"  - where there is network: python -m impreg fetch-data --datasets {' '.join(datasets)} "
                     f"--data-dir DIR, then copy DIR's contents into {data_dir}")
        lines.append(f"  - or download the files as they are published (.gz, .tar.gz) into {data_dir} at the paths "
                     "above: " + "; ".join(f"{DOWNLOADABLE_LABELS[d]} from {source_url(d)}" for d in datasets))
        lines.append("  (another folder: set data_dir in the config or $IMPREG_DATA_DIR)")
    if failed:
        lines.append(f"NOT RUN: {', '.join(failed)}: a job failed (its error and log are named above).")
    if report:
        lines.append(f"{report} lists these figures as not run.")
    return "\n".join(lines)


def finish_failed_run(dag, claims_files: list[str], downloads: Downloads, data_dir: str | None, scale: str,
                      report: str, changes: dict[str, str], figures_dir: str,
                      left_out: dict[str, str] | None = None) -> str:
    """After failed jobs: rewrite the report (when the run was to make it) with the figures that did
    not run listed as such, and return the message for the user ('' when no figure is missing).
    ``left_out``: figures this run was never to make, with why (from shipped runs: not shipped)."""
    unfinished = unfinished_outputs(dag)
    missing = figures_not_run(claims_files, unfinished)
    if not missing:
        return ""
    waiting = waiting_for(missing, downloads, data_dir)
    failed = [f for f in missing if f not in waiting]
    from impreg.data.images import resolve_data_dir

    folder = resolve_data_dir(data_dir or None).absolute()
    wanted = unfinished is None or os.path.normpath(report) in unfinished
    if wanted:
        reasons = {f: "waiting for the " + " and ".join(DOWNLOADABLE_LABELS[d] for d in waiting[f]) + " files (no download "
                   f"possible here); provide them in {folder} and run again" for f in waiting}
        reasons |= {f: "a job it needs failed (see the workflow's log)" for f in failed}
        reasons |= left_out or {}
        ran = [c for c in claims_files if Path(c).stem not in missing]
        write_replication_report([Path(c) for c in ran], Path(report), figures_dir=figures_dir, changes=changes,
                                 not_run=reasons)
    return outcome_message(waiting, failed, folder, scale, report if wanted else None)
