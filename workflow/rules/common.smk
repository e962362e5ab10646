# Shared settings of the rule files: how rules call the package and the notebooks, and the
# per-paper target lists that figures.smk fills from the figure manifest.
import os
import shutil
from collections import defaultdict
from pathlib import Path

from impreg.config import fill_defaults, load_schema
from rule_helpers import (
    DataRule,
    FigureRuns,
    TrainRule,
    figure_changes,
    papermill_params,
    report_extras,
    settings_train_rule,
    src_pythonpath,
)

# Rules call the package from this checkout, so a conda environment made by --sdm conda
# (which holds the dependencies but not the package) runs the same code as the venv. Shell commands
# name them as {IMPREG} and {PAPERMILL}, never as params: they hold this checkout's path, and a
# params change would plan every finished job again once the checkout is moved or cloned.
IMPREG = f"{src_pythonpath(workflow.basedir)} python -m impreg"
PAPERMILL = f"{src_pythonpath(workflow.basedir)} papermill --log-output --kernel python3 --cwd ."
CONDA_ENV = "../../envs/environment.yaml"

# Whether a training rule whose config says `gpu: true` claims a GPU slot. A cluster job asks for a
# GPU; a local job claims this machine's GPU, whose slots profiles/default caps at one so that two
# trainings never share it. On a local machine without one a job claims none, so that those jobs
# (which then train on the CPU) run side by side on the cores instead of one at a time.
CLAIM_GPU = not workflow.local_exec or shutil.which("nvidia-smi") is not None

# Per heavy rule: the wall time and memory a cluster job asks for (config `resources`, per scale);
# a rule the config does not list (a new experiment's) asks for the schema's defaults of one job.
RESOURCES = defaultdict(
    lambda: fill_defaults({}, load_schema(Path(workflow.basedir, "config/schema.yaml"))["properties"]["resources"]["additionalProperties"]),
    config["resources"],
)

# Everything a run at this scale writes lies under its own folder (data, runs, figures, claims,
# tables, notebooks, logs, benchmarks, the reports), so that no scale overwrites or deletes another's
# work. The helpers of workflow/*.py name paths relative to it.
RESULTS = f"results/{config['scale']}"

# Generated STAND-IN image files (tests and the smoke scale): made by rank_complexity's stand-in
# rule, read by the rank_complexity data rule and by locality's Is Same Class images rule.
STAND_IN_DIR = f"{RESULTS}/data/rank_complexity/stand_in_images"

# The training rules, one per config section of an experiment, and the data rules that only call
# make-data: experiments.smk adds them from the experiments' declarations, jobs.smk makes them.
TRAIN_RULES = []
DATA_RULES = []

# The files of the figures, tables and claims this run makes (figures.smk).
PAPER1_TARGETS = []
PAPER2_TARGETS = []
CLAIMS = []

# from_shipped (make figures): the figure and report rules read the runs shipped in the repository
# and write under results/from_shipped/<scale>, so that neither the shipped files nor a measured
# run's outputs are touched; a figure whose runs are not all shipped is left out, listed as not run.
FROM_SHIPPED = config["from_shipped"]
SHIPPED_DIR = f"results/shipped/{config['scale']}"
OUT = f"results/from_shipped/{config['scale']}" if FROM_SHIPPED else RESULTS
# the run files each figure rule reads (FIGURE_RUNS.files) and whether a figure is made (.made)
FIGURE_RUNS = FigureRuns(SHIPPED_DIR if FROM_SHIPPED else RESULTS, FROM_SHIPPED, config["scale"])
NOT_RUN = FIGURE_RUNS.not_run  # figure -> why it is not made (from_shipped only)
