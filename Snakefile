"""impreg: one workflow for every figure and table of Razin, Maman and Cohen (ICML 2021, 2022).

    snakemake                      # everything, at the scale of config/config.yaml (paper)
    snakemake --configfile config/quick.yaml tf_dynamics
    snakemake paper1 | paper2 | report
    snakemake --config from_shipped=True   # figures and report from the shipped runs (make figures)
"""

import sys
from pathlib import Path

from snakemake.utils import min_version

min_version("9.19")

sys.path.insert(0, str(Path(workflow.basedir) / "src"))
sys.path.insert(0, str(Path(workflow.basedir) / "workflow"))
from impreg.config import ConfigError, validate_config  # noqa: E402


configfile: "config/config.yaml"


try:
    validate_config(config, Path(workflow.basedir) / "config" / "schema.yaml")
except ConfigError as err:
    raise WorkflowError(str(err)) from None


include: "workflow/rules/common.smk"
include: "workflow/rules/tf_dynamics.smk"
include: "workflow/rules/tf_dynamics_variants.smk"
include: "workflow/rules/incremental_rank.smk"
include: "workflow/rules/rank_complexity.smk"
include: "workflow/rules/locality.smk"
include: "workflow/rules/jobs.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/report.smk"


# With keep-going (profiles/default), a failed job stops only what depends on it. The run then ends
# with one message naming the figures not run and the dataset files they wait for (a download that
# failed without network) and how to provide them; REPLICATION.md lists those figures as not run.
onerror:
    from snakemake.logging import logger
    from run_outcome import finish_failed_run

    try:
        message = finish_failed_run(
            workflow.dag,
            CLAIMS,
            FIGURE_DOWNLOADS,
            config["data_dir"],
            config["scale"],
            f"{OUT}/REPLICATION.md",
            FIGURE_CHANGES,
            f"{OUT}/figures",
            NOT_RUN,
        )
    except Exception as err:  # the failed jobs' own errors matter more than this summary
        message = f"(could not list the figures not run: {type(err).__name__}: {err})"
    if message:
        logger.error(message)


rule all:
    default_target: True
    input:
        PAPER1_TARGETS,
        PAPER2_TARGETS,
        f"{OUT}/REPLICATION.md",


rule paper1:
    input:
        PAPER1_TARGETS,


rule paper2:
    input:
        PAPER2_TARGETS,
