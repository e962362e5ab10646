# P1 Figure 4, extended: tensor rank as a measure of complexity. CP models of rank 1..15 fitted to
# MNIST, Fashion-MNIST (the paper's panels), CIFAR-10, 8x8 digits and 5000 MNIST training images
# (mnist5k, offline) posed as tensor completion, and to two random controls. The rules that make
# its data files; its runs, one packed training job per dataset and control, are declared by
# impreg.experiments.rank_complexity.
from impreg.experiments import rank_complexity as rank_complexity_experiment
from impreg.experiments.rank_complexity import DATA as RC_DATA
from impreg.experiments.rank_complexity import FIGURE_DATASETS as RC_FIGURES
from impreg.experiments.rank_complexity import OFFLINE as RC_OFFLINE

RC = config["rank_complexity"]
RC_STAND_IN_DATASETS = [d for ds in RC_FIGURES.values() for d in ds if d not in RC_OFFLINE]
RC_WILDCARDS = {"dataset": "mnist5k|mnist|fmnist|cifar10|digits", "control": "natural|random_image|random_label"}

# The image folder is read from $IMPREG_DATA_DIR by the jobs (config data_dir, when set, overrides
# it), so that moving the cache neither changes a rule's code nor its params: nothing reruns.
if config["data_dir"]:
    os.environ.update(IMPREG_DATA_DIR=os.path.abspath(config["data_dir"]))

# Light jobs run where Snakemake runs, never as cluster jobs (profiles/slurm).
localrules:
    rank_complexity_stand_in,
    rank_complexity_data,

rule rank_complexity_stand_in:
    output:
        directory(STAND_IN_DIR),
    params:
        settings=rank_complexity_experiment.stand_in_args(RC, RC_STAND_IN_DATASETS),
    log:
        f"{RESULTS}/logs/rank_complexity/stand_in.log",
    conda:
        CONDA_ENV
    shell:
        "{IMPREG} make-data stand-in-images --out-dir {output} {params.settings} > {log} 2>&1"


rule rank_complexity_data:
    wildcard_constraints:
        **RC_WILDCARDS,
    input:
        # stand-in files (smoke scale) are made by the rule above; real data is read (and, when
        # missing, downloaded once) from the image folder, which Snakemake does not track; digits
        # and mnist5k come with the environment
        stand_in=lambda wc: STAND_IN_DIR if RC["stand_in"] and wc.dataset not in RC_OFFLINE else [],
    output:
        f"{RESULTS}/{RC_DATA}",
    params:
        settings=lambda wc: rank_complexity_experiment.data_args(RC, wc.dataset),
        source=lambda wc, input: (
            f"--data-dir {input.stand_in} --allow-stand-in"
            if input.stand_in
            else ("" if wc.dataset in RC_OFFLINE else "--download")
        ),
    log:
        f"{RESULTS}/logs/rank_complexity/data_{{dataset}}_{{control}}.log",
    conda:
        CONDA_ENV
    shell:
        "{IMPREG} make-data rank-complexity --dataset {wildcards.dataset} --control {wildcards.control}"
        " {params.settings} {params.source} --out {output} > {log} 2>&1"
