"""Plain-Python helpers of the rule files (kept out of the .smk files, as Snakemake's linter asks)."""

from __future__ import annotations

import json
import os
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from impreg.claims import read_claims
from impreg.run_settings import Run, settings_text
from impreg.shipped import SCALES, shipped_name
from impreg.verdicts import FigureVerdict

# Paths here are relative to a scale's results folder (results/<scale>, the RESULTS of
# workflow/rules/common.smk), or to a shipped folder laid out the same way (results/shipped/<scale>).
RUNS = "runs"  # where the training rules write their run folders
RUN_FILES = ("metrics.csv", "summary.json")  # what a figure notebook reads of a run
# each scale's config file (paper: Snakemake's default, config/config.yaml)
CONFIG_FILES = {
    "paper": "config/config.yaml",
    "quick": "config/quick.yaml",
    "smoke": "config/smoke.yaml",
}


@dataclass(frozen=True)
class TrainRule:
    """What differs between the training rules; workflow/rules/jobs.smk writes each one's rule with
    the parts they share (run files, the run folder, threads, resources, log, benchmark, env)."""

    experiment: str  # rule <experiment>_train, under {runs,logs,benchmarks}/<experiment>/
    # the run folder pattern (relative, like every path here); its wildcards are the rule's
    run: str
    label: str  # the log and benchmark file name: train_<label>
    input: Any  # the data file: a pattern, or a function of the wildcards
    params: dict  # the rule's settings (Snakemake reruns the job when one changes)
    command: str  # the command line after `impreg train`, before the log redirection
    gpu: bool  # ask a cluster for a GPU
    constraints: dict = field(default_factory=dict)  # the wildcards' patterns

    @property
    def name(self) -> str:
        return f"{self.experiment}_train"

    def shell(self) -> str:
        return f"OMP_NUM_THREADS={{threads}} {{IMPREG}} train {self.command} > {{log}} 2>&1"

    def file(self, kind: str, ext: str) -> str:
        """The job's log or benchmark file (``kind``: logs, benchmarks)."""
        return f"{kind}/{self.experiment}/train_{self.label}.{ext}"


def settings_train_rule(
    experiment: str, runs: dict[str, Run], results: str, gpu: bool
) -> TrainRule:
    """The training rule of an experiment whose package module lists its runs (run name -> its data
    file, settings and command): a job runs ``impreg train <command> --settings <the run's settings>``.
    The settings are a param, so that a changed setting reruns the runs it changes, and only those."""
    return TrainRule(
        experiment=experiment,
        run=f"{RUNS}/{experiment}/{{run}}",
        label="{run}",
        input=lambda wildcards: f"{results}/{runs[wildcards.run].data}",
        params={
            "command": lambda wildcards: runs[wildcards.run].command,
            "settings": lambda wildcards: shlex.quote(settings_text(runs[wildcards.run].settings)),
        },
        command="{params.command} --settings {params.settings} --data {input} --out-dir {params.out_dir}",
        gpu=gpu,
        constraints={"run": "|".join(re.escape(run) for run in runs)},
    )


@dataclass(frozen=True)
class DataRule:
    """A data rule that writes data/<experiment>/<name>.npz with ``impreg make-data
    <args>``, one file per name; workflow/rules/jobs.smk writes it."""

    experiment: str  # rule <experiment>_data
    args: dict[str, str]  # data file name (without .npz) -> its make-data arguments

    @property
    def name(self) -> str:
        return f"{self.experiment}_data"

    @classmethod
    def of(cls, experiment: str, files: dict[str, str]) -> DataRule:
        """The rule of an experiment's data files, as its package module lists them (path under the
        results folder -> make-data arguments); every path is data/<experiment>/<name>.npz."""
        prefix = f"data/{experiment}/"
        wrong = [path for path in files if not (path.startswith(prefix) and path.endswith(".npz"))]
        if wrong:
            raise ValueError(f"{experiment}'s data files must be {prefix}<name>.npz, not {wrong}")
        return cls(
            experiment, {path[len(prefix) : -len(".npz")]: args for path, args in files.items()}
        )


def notebook_outputs(name: str, out: str) -> dict[str, str]:
    """The standard outputs of a figure notebook, under ``out``."""
    return {
        "pdf": f"{out}/figures/{name}.pdf",
        "png": f"{out}/figures/{name}.png",
        "claims": f"{out}/claims/{name}.json",
        "notebook": f"{out}/notebooks/{name}.ipynb",
    }


def run_files(run_dirs: list[str], name: str, root: str) -> list[str]:
    """File ``name`` of each run folder (relative, runs/<experiment>/<run>) under the folder ``root``."""
    return [os.path.join(root, d, name) for d in run_dirs]


class FigureRuns:
    """Where the figure rules read their runs: the scale's results folder, or the shipped copies
    (from_shipped), where a figure whose runs are not all there is not made; ``not_run`` says why."""

    def __init__(self, root: str, from_shipped: bool, scale: str) -> None:
        self.root = root
        self.scale = scale
        self.runs_dir = os.path.join(root, RUNS)
        self.from_shipped = from_shipped
        self.not_run: dict[str, str] = {}

    def files(self, run_dirs: list[str], name: str) -> list[str]:
        return run_files(run_dirs, shipped_name(name) if self.from_shipped else name, self.root)

    def made(self, figure: str, run_dirs: list[str]) -> bool:
        """Whether this run makes ``figure`` (always, except from shipped runs when some are missing)."""
        if not self.from_shipped:
            return True
        missing = [
            f for name in RUN_FILES for f in self.files(run_dirs, name) if not os.path.isfile(f)
        ]
        total = len(RUN_FILES) * len(run_dirs)
        if missing:
            self.not_run[figure] = (
                f"its runs are not shipped ({self.runs_dir} holds none of its {len(run_dirs)} runs)"
                if len(missing) == total
                else f"its runs are shipped in part ({len(missing)} of its {total} run files are missing in"
                f" {self.runs_dir})"
            ) + f"; make replicate SCALE={self.scale} TARGET={figure} trains them"
        return not missing


def report_extras(figure_runs: FigureRuns, shipped_dir: str, scale: str) -> str:
    """The report's --scale, and its --source and --not-run arguments when made from shipped runs."""
    if not figure_runs.from_shipped:
        return f"--scale {scale}"
    source = (
        f"Made without training from the runs shipped in {figure_runs.runs_dir}; {shipped_dir}/ORIGIN.json"
        " names the commit and config that made them."
        if os.path.isfile(f"{shipped_dir}/ORIGIN.json")
        else f"Made from the shipped runs, but none is shipped at this scale ({shipped_dir})."
    )
    not_run = key_values(figure_runs.not_run)
    return f"--scale {scale} --source {shlex.quote(source)}" + (
        f" --not-run {not_run}" if not_run else ""
    )


def elsewhere(
    figures: list, scale: str, configs: dict[str, dict], shipped_root: str = "results/shipped"
) -> dict[str, str]:
    """Figure -> where its results at the other shipped scales are: their verdict and report, or that
    they are not shipped (and whether its runs want a GPU there). ``figures``: the manifest's figures;
    ``configs``: scale -> its validated config."""
    out = {}
    for figure in figures:
        parts = []
        for other in (s for s in SCALES if s != scale):
            claims = os.path.join(shipped_root, other, "claims", f"{figure.id}.json")
            if os.path.isfile(claims):
                verdict = FigureVerdict.of(read_claims(claims)).text()
                parts.append(f"{other}: {verdict} ({shipped_root}/{other}/REPLICATION.md)")
            else:
                gpu = figure.runs(configs[other]) and figure.wants_gpu(configs[other])
                parts.append(f"{other}: not shipped" + (" (its runs want a GPU)" if gpu else ""))
        out[figure.id] = "; ".join(parts)
    return out


def key_values(mapping: dict[str, str]) -> str:
    """``KEY=VALUE`` arguments, each shell-quoted (the report's --changes, --not-run, --elsewhere)."""
    return " ".join(shlex.quote(f"{key}={value}") for key, value in mapping.items())


def figure_changes(
    claims_files: list[str], manifest: dict, config: dict, origin: dict | None = None
) -> dict[str, str]:
    """Figure -> what its config section says it changes from the paper (one line), for every
    figure of ``claims_files`` whose section says anything. With ``origin`` (a shipped folder's
    ORIGIN.json), a shipped figure's text is the one recorded with its runs: the config may have
    changed since they were made."""
    out = {}
    for path in claims_files:
        figure = os.path.splitext(os.path.basename(path))[0]
        section = manifest[figure].experiment if figure in manifest else None
        # what the figure's notebook was given; a figure that reads another experiment's runs
        # (htf_detail) records no changes_from_paper of its own
        recorded = (origin or {}).get("figures", {}).get(figure, {}).get("config", {})
        text = recorded.get(
            "changes_from_paper", config.get(section, {}).get("changes_from_paper", "")
        )
        text = " ".join(str(text).split())
        if text:
            out[figure] = text
    return out


def papermill_params(**values) -> str:
    """Notebook parameters as one shell-quoted YAML (JSON) string for papermill -y."""
    return shlex.quote(json.dumps(values))


def src_pythonpath(basedir: str) -> str:
    """Shell prefix that puts the checkout's src/ first on PYTHONPATH."""
    return f"PYTHONPATH={shlex.quote(basedir + '/src')}${{PYTHONPATH:+:$PYTHONPATH}}"
