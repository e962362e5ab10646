"""impreg: one workflow for every figure and table of Razin, Maman and Cohen (ICML 2021, 2022).

    snakemake                      # everything, at the scale of config/config.yaml (paper)
    snakemake --configfile config/quick.yaml tf_dynamics
    snakemake paper1 | paper2 | report
    snakemake --config from_shipped=True   # figures and report from the shipped runs (make figures)
"""

import os
import shlex
import sys
from pathlib import Path

from snakemake.utils import min_version

min_version("9.19")

sys.path.insert(0, str(Path(workflow.basedir) / "src"))
sys.path.insert(0, str(Path(workflow.basedir) / "workflow"))
from impreg.config import ConfigError, validate_config  # noqa: E402
from run_outcome import FailedJob, RunPlan, finish_failed_run, finish_successful_run  # noqa: E402


configfile: "config/config.yaml"


try:
    validate_config(config, Path(workflow.basedir) / "config" / "schema.yaml")
except ConfigError as err:
    raise WorkflowError(str(err)) from None


include: "workflow/rules/common.smk"
include: "workflow/rules/experiments.smk"
include: "workflow/rules/jobs.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/report.smk"


# a job request for a rule that does not exist is a typo, never ignored
_UNKNOWN_RESOURCES = sorted(set(config["resources"]) - {r.name for r in workflow.rules})
if _UNKNOWN_RESOURCES:
    raise WorkflowError(
        f"config resources: {_UNKNOWN_RESOURCES} name no rule of this workflow; the keys are rule names"
        " such as locality_train (snakemake --list-rules lists them)"
    )


# The HTML report (snakemake --report) opens on the verdict that the report rule writes.
report: f"{OUT}/verdict.rst"


# Every run ends with one line per figure (its claims, or why it was not made) and where the report
# is. With keep-going (profiles/default), a failed job stops only what depends on it; the run then
# also lists the failed jobs with the key line of their logs and the dataset files that figures wait
# for (a download that failed without network), and REPLICATION.md lists those figures as not run.
# A failed training job's finished run files are put back by Snakemake (update() in jobs.smk); they
# are marked incomplete here, so that the next run reruns the job (rerun-incomplete, in the profiles)
# instead of taking the old files for the new job's.
RUN_PLAN = RunPlan(
    claims_files=CLAIMS,
    replication=f"{OUT}/REPLICATION.md",
    landing=f"{OUT}/verdict.rst",
    figures_dir=f"{OUT}/figures",
    scale=config["scale"],
    rerun=os.environ.get("IMPREG_RERUN") or shlex.join(["snakemake", *sys.argv[1:]]),
    changes=FIGURE_CHANGES,
    elsewhere=FIGURE_ELSEWHERE,
    left_out=NOT_RUN,
    wants_gpu=WANTS_GPU,
    downloads=FIGURE_DOWNLOADS,
    data_dir=config["data_dir"],
)


onsuccess:
    from snakemake.logging import logger

    logger.info(finish_successful_run(RUN_PLAN))


onerror:
    from snakemake.logging import logger

    failed = list(getattr(workflow.scheduler, "failed", ()))
    try:
        for job in failed:
            if all(os.path.exists(f) for f in job.output):  # put back: not made by this job
                workflow.persistence.started(job)
    except Exception as err:
        logger.error(f"could not mark the put-back outputs of failed jobs as incomplete ({err}); rerun those "
                     "jobs with --forcerun, or their old outputs count as new")
    try:
        message = finish_failed_run(
            RUN_PLAN,
            workflow.dag,
            [FailedJob(job.rule.name, dict(job.wildcards_dict), str(job.log[0]) if job.log else None) for job in failed],
        )
    except Exception as err:  # the failed jobs' own errors matter more than this summary
        message = f"(could not list the figures not run: {type(err).__name__}: {err})"
    logger.error(message)


rule all:
    default_target: True
    input:
        PAPER1_TARGETS,
        PAPER2_TARGETS,
        f"{OUT}/REPLICATION.md",
        f"{OUT}/verdict.rst",


rule paper1:
    input:
        PAPER1_TARGETS,


rule paper2:
    input:
        PAPER2_TARGETS,
