# P1 appendix: the tensor factorization dynamics of Figure 3 for (a) an order-3 target, (b) a
# Huber loss and (c) tensor sensing with Gaussian measurement tensors; one row of four panels each.
# File names and command lines come from workflow/dynamics_rules.py.
import re

from dynamics_rules import tfv_data_args, tfv_data_path, tfv_datasets, tfv_runs, tfv_train_args

TFV = config["tf_dynamics_variants"]
TFV_RUNS = tfv_runs(TFV)  # run name -> (variant, init, seed)
TFV_DATA = tfv_datasets(TFV)  # data file name -> (variant, seed)

# Light jobs run where Snakemake runs, never as cluster jobs (profiles/slurm).
localrules:
    tf_dynamics_variants_data,

rule tf_dynamics_variants_data:
    output:
        "results/data/tf_dynamics_variants/{dataset}.npz",
    params:
        impreg=IMPREG,
        args=lambda wildcards: tfv_data_args(TFV, *TFV_DATA[wildcards.dataset]),
    wildcard_constraints:
        dataset="|".join(re.escape(name) for name in TFV_DATA),
    log:
        "results/logs/tf_dynamics_variants/data_{dataset}.log",
    conda:
        CONDA_ENV
    shell:
        "{params.impreg} make-data {params.args} --out {output} > {log} 2>&1"


rule tf_dynamics_variants_train:
    input:
        lambda wildcards: tfv_data_path(TFV, TFV_RUNS[wildcards.run][0], TFV_RUNS[wildcards.run][2]),
    output:
        metrics="results/runs/tf_dynamics_variants/{run}/metrics.csv",
        summary="results/runs/tf_dynamics_variants/{run}/summary.json",
    params:
        impreg=IMPREG,
        out_dir=lambda wildcards, output: os.path.dirname(output.summary),
        args=lambda wildcards: tfv_train_args(TFV, *TFV_RUNS[wildcards.run], config["device"]),
    wildcard_constraints:
        run="|".join(re.escape(run) for run in TFV_RUNS),
    threads: config["threads"]
    resources:
        gpu=1 if config["device"].startswith("cuda") else 0,
        runtime=RESOURCES["tf_dynamics_variants_train"]["runtime"],
        mem_mb=RESOURCES["tf_dynamics_variants_train"]["mem_mb"],
    log:
        "results/logs/tf_dynamics_variants/train_{run}.log",
    benchmark:
        "results/benchmarks/tf_dynamics_variants/train_{run}.tsv"
    conda:
        CONDA_ENV
    shell:
        "OMP_NUM_THREADS={threads} {params.impreg} train {params.args} --data {input} --out-dir {params.out_dir}"
        " > {log} 2>&1"

