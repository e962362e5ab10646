# P2 Fig. A (incremental_rank): gradient descent from small initialization learns rank one
# step at a time in matrix (mf), tensor (tf) and hierarchical tensor (htf) factorization; its
# hierarchical runs also make P2 Fig. B (htf_detail, in the manifest workflow/figures.py).
# File names and command lines come from workflow/dynamics_rules.py.
import re

from dynamics_rules import irk_data_args, irk_data_name, irk_datasets, irk_runs, irk_train_args

IRK = config["incremental_rank"]
IRK_DATA = irk_datasets(IRK)  # data file name -> (model, seed)
IRK_RUNS = irk_runs(IRK)  # run name -> (model, seed)

# Light jobs run where Snakemake runs, never as cluster jobs (profiles/slurm).
localrules:
    incremental_rank_data,

rule incremental_rank_data:
    output:
        "results/data/incremental_rank/{dataset}.npz",
    params:
        impreg=IMPREG,
        args=lambda wildcards: irk_data_args(IRK, *IRK_DATA[wildcards.dataset]),
    wildcard_constraints:
        dataset="|".join(re.escape(name) for name in IRK_DATA),
    log:
        "results/logs/incremental_rank/data_{dataset}.log",
    conda:
        CONDA_ENV
    shell:
        "{params.impreg} make-data {params.args} --out {output} > {log} 2>&1"


rule incremental_rank_train:
    input:
        lambda wildcards: f"results/data/incremental_rank/{irk_data_name(IRK, *IRK_RUNS[wildcards.run])}.npz",
    output:
        metrics="results/runs/incremental_rank/{run}/metrics.csv",
        summary="results/runs/incremental_rank/{run}/summary.json",
    params:
        impreg=IMPREG,
        out_dir=lambda wildcards, output: os.path.dirname(output.summary),
        args=lambda wildcards: irk_train_args(IRK, *IRK_RUNS[wildcards.run], config["device"]),
    wildcard_constraints:
        run="|".join(re.escape(run) for run in IRK_RUNS),
    threads: config["threads"]
    resources:
        gpu=1 if config["device"].startswith("cuda") else 0,
        runtime=RESOURCES["incremental_rank_train"]["runtime"],
        mem_mb=RESOURCES["incremental_rank_train"]["mem_mb"],
    log:
        "results/logs/incremental_rank/train_{run}.log",
    benchmark:
        "results/benchmarks/incremental_rank/train_{run}.tsv"
    conda:
        CONDA_ENV
    shell:
        "OMP_NUM_THREADS={threads} {params.impreg} train incremental-rank {params.args} --data {input}"
        " --out-dir {params.out_dir} > {log} 2>&1"

