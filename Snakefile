"""impreg: one workflow for every figure and table of Razin, Maman and Cohen (ICML 2021, 2022).

    snakemake                      # everything, at the scale of config/config.yaml (paper)
    snakemake --configfile config/quick.yaml tf_dynamics
    snakemake paper1 | paper2 | report
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
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        PAPER1_TARGETS,
        PAPER2_TARGETS,
        "results/REPLICATION.md",


rule paper1:
    input:
        PAPER1_TARGETS,


rule paper2:
    input:
        PAPER2_TARGETS,
