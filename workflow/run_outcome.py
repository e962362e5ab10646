"""How a workflow run ends (plain Python, called from the Snakefile's onsuccess and onerror): one
line per figure with its verdict or why it was not made, one line per failed job with the key line
of its log (a training stopped by SIGTERM is said to be resumable), the dataset files that figures
wait for and how to provide them, and, after failed jobs, a REPLICATION.md that lists the figures
not made as such."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from impreg.claims import read_claims
from impreg.data.images import DOWNLOADABLE_LABELS, missing_raw_files, resolve_data_dir, source_url
from impreg.io import DataFileError
from impreg.report import write_replication_report
from impreg.verdicts import run_summary

# figure -> {dataset to download: the data files a job makes from it}
Downloads = dict[str, dict[str, list[str]]]
# what a job's log says last: our commands' one-line errors, a Python exception (a notebook's), or
# the training loop's note that it stopped on SIGTERM after writing its checkpoint
ERROR_LINE = re.compile(r"^(impreg: error: .*|SIGTERM: .*|(\w+\.)*\w*(Error|Exception)\b.*)$")


@dataclass(frozen=True)
class RunPlan:
    """What this run was to make and where (from the rule files)."""

    claims_files: list[str]  # the claims file of every figure this run makes
    replication: str  # REPLICATION.md
    landing: str  # the HTML report's first page
    figures_dir: str
    scale: str
    rerun: str  # the command that made this run (make replicate SCALE=... TARGET=...)
    # figure -> what it changes from the paper
    changes: dict[str, str] = field(default_factory=dict)
    elsewhere: dict[str, str] = field(default_factory=dict)  # figure -> its results at other scales
    # figures never to be made here, with why
    left_out: dict[str, str] = field(default_factory=dict)
    wants_gpu: tuple[str, ...] = ()  # figures whose runs want a GPU at this scale
    downloads: Downloads = field(default_factory=dict)
    data_dir: str | None = None  # the config's data_dir


@dataclass(frozen=True)
class FailedJob:
    rule: str
    wildcards: dict[str, str]
    log: str | None  # its log file


def unfinished_outputs(dag) -> set[str] | None:
    """Outputs of the jobs this run had to run but did not finish (failed, or waiting on a failed
    one); None when the DAG cannot say (a Snakemake without ``needrun_jobs``)."""
    jobs = getattr(dag, "needrun_jobs", None)
    if jobs is None:
        return None
    return {os.path.normpath(str(f)) for job in jobs() for f in job.output}


def figures_not_run(claims_files: Iterable[str], unfinished: set[str] | None) -> list[str]:
    """Figures whose claims file this run did not make (or that does not exist at all)."""
    return [
        Path(c).stem
        for c in claims_files
        if not Path(c).exists() or (unfinished is not None and os.path.normpath(c) in unfinished)
    ]


def waiting_for(
    figures: list[str], downloads: Downloads, data_dir: str | None
) -> dict[str, dict[str, list[Path]]]:
    """Per figure, the datasets it waits for and their missing files: a dataset counts when one of
    the data files made from it is absent and so are some of its raw files."""
    out: dict[str, dict[str, list[Path]]] = {}
    for figure in figures:
        for dataset, made in downloads.get(figure, {}).items():
            files = [f.absolute() for f in missing_raw_files(dataset, data_dir or None)]
            if files and not all(Path(m).exists() for m in made):
                out.setdefault(figure, {})[dataset] = files
    return out


def key_line(log_text: str) -> str:
    """The line of a job's log that says what went wrong (its last non-empty line when none does)."""
    lines = [line.strip() for line in log_text.splitlines() if line.strip()]
    errors = [line for line in lines if ERROR_LINE.match(line)]
    return (errors or lines or ["(its log is empty)"])[-1]


def failure_line(job: FailedJob) -> str:
    """One line on a failed job: which, what its log says, and where the log is."""
    what = job.rule + (
        f" ({', '.join(f'{k}={v}' for k, v in job.wildcards.items())})" if job.wildcards else ""
    )
    if job.log is None or not Path(job.log).exists():
        return f"  {what}: failed; it wrote no log"
    line = key_line(Path(job.log).read_text(errors="replace"))
    if line.startswith("SIGTERM:"):
        return f"  {what}: interrupted, and resumable: {line.removeprefix('SIGTERM: ')} (log: {job.log})"
    return f"  {what}: {line} (log: {job.log})"


def outcome_message(
    waiting: dict[str, dict[str, list[Path]]],
    failed: list[str],
    data_dir: Path,
    rerun: str,
    report: str | None,
) -> str:
    """One message: the figures waiting for files (which, where from, where to), the others not run."""
    lines = []
    if waiting:
        datasets = sorted(
            {d for need in waiting.values() for d in need}, key=list(DOWNLOADABLE_LABELS).index
        )
        lines.append(
            f"NOT RUN: {len(waiting)} figure(s) wait for dataset files that are not in the data folder "
            f"{data_dir} and could not be downloaded (no network?):"
        )
        for figure, need in waiting.items():
            lines.append(
                f"  {figure}: "
                + "; ".join(
                    f"{DOWNLOADABLE_LABELS[d]}: {', '.join(str(f.relative_to(data_dir)) for f in files)}"
                    for d, files in need.items()
                )
            )
        lines.append(
            f"Provide them in one of two ways, then run the same command again ({rerun}); only what is "
            "missing runs:"
        )
        lines.append(
            f"  - where there is network: python -m impreg fetch-data --datasets {' '.join(datasets)} "
            f"--data-dir DIR, then copy DIR's contents into {data_dir}"
        )
        lines.append(
            f"  - or download the files as they are published (.gz, .tar.gz) into {data_dir} at the paths "
            "above: "
            + "; ".join(f"{DOWNLOADABLE_LABELS[d]} from {source_url(d)}" for d in datasets)
        )
        lines.append("  (another folder: set data_dir in the config or $IMPREG_DATA_DIR)")
    if failed:
        lines.append(
            f"NOT RUN: {', '.join(failed)}: a job it needs failed (the failed jobs are listed above); fix "
            f"what they say and run the same command again ({rerun}): finished work is kept."
        )
    if report:
        lines.append(f"{report} lists these figures as not run.")
    return "\n".join(lines)


def _claims_by_figure(files: Iterable[str]) -> dict[str, list]:
    out = {}
    for path in files:
        try:
            out[Path(path).stem] = read_claims(path)
        except DataFileError:
            continue  # absent or unreadable: the figure is not made
    return out


def finish_successful_run(plan: RunPlan) -> str:
    """The end of a run without failed jobs: the verdict of every figure made so far at this scale."""
    claims = _claims_by_figure(plan.claims_files)
    not_made = {
        Path(c).stem: "not made yet at this scale"
        for c in plan.claims_files
        if Path(c).stem not in claims
    }
    return run_summary(
        claims,
        not_made | plan.left_out,
        plan.replication if Path(plan.replication).exists() else None,
    )


def finish_failed_run(plan: RunPlan, dag, failed_jobs: list[FailedJob]) -> str:
    """After failed jobs: rewrite the report (when the run was to make it) with the figures that did
    not run listed as such, and return the message for the user: the failed jobs, what the figures
    wait for, and every figure's verdict."""
    unfinished = unfinished_outputs(dag)
    missing = figures_not_run(plan.claims_files, unfinished)
    jobs = (
        [
            "Failed jobs (finished runs are kept; each line ends with the job's log):",
            *map(failure_line, failed_jobs),
        ]
        if failed_jobs
        else []
    )
    if not missing:
        return "\n".join([*jobs, finish_successful_run(plan)])
    waiting = waiting_for(missing, plan.downloads, plan.data_dir)
    failed = [f for f in missing if f not in waiting]
    folder = resolve_data_dir(plan.data_dir or None).absolute()
    wanted = unfinished is None or os.path.normpath(plan.replication) in unfinished
    reasons = {
        f: "waiting for the "
        + " and ".join(DOWNLOADABLE_LABELS[d] for d in waiting[f])
        + " files (no download "
        f"possible here); provide them in {folder} and run again"
        for f in waiting
    }
    reasons |= {
        f: "a job it needs failed (see the end of the run's output); its outputs on disk, if any, are "
        "from an earlier run"
        for f in failed
    }
    reasons |= plan.left_out
    ran = [c for c in plan.claims_files if Path(c).stem not in missing]
    if wanted:
        write_replication_report(
            [Path(c) for c in ran],
            Path(plan.replication),
            figures_dir=plan.figures_dir,
            changes=plan.changes,
            not_run=reasons,
            scale=plan.scale,
            elsewhere=plan.elsewhere,
            landing=Path(plan.landing),
            wants_gpu=plan.wants_gpu,
        )
    message = outcome_message(
        waiting, failed, folder, plan.rerun, plan.replication if wanted else None
    )
    summary = run_summary(
        _claims_by_figure(ran),
        {f: reasons[f] for f in missing} | plan.left_out,
        plan.replication if Path(plan.replication).exists() else None,
    )
    return "\n".join([*jobs, message, summary])
