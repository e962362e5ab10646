# P2 Fig. A (incremental_rank): gradient descent from small initialization learns rank one
# step at a time in matrix (mf), tensor (tf) and hierarchical tensor (htf) factorization.
# P2 Fig. B (htf_detail): the hierarchical runs of Fig. A in detail (no runs of its own).
# File names and command lines come from workflow/dynamics_rules.py.
import re

from dynamics_rules import IRK_MODELS, irk_data_args, irk_data_name, irk_datasets, irk_run_name, irk_runs, irk_train_args

IRK = config["incremental_rank"]
IRK_DATA = irk_datasets(IRK)  # data file name -> (model, seed)
IRK_RUNS = irk_runs(IRK)  # run name -> (model, seed)
IRK_RUN_DIRS = {
    model: [f"results/runs/incremental_rank/{irk_run_name(IRK, model, seed)}" for seed in IRK["seeds"]]
    for model in IRK_MODELS
}
IRK_ALL_RUN_DIRS = [run for model in IRK_MODELS for run in IRK_RUN_DIRS[model]]
IRK_FIGURE = notebook_outputs("incremental_rank", OUT)
# the notebook's second figure: every panel over its full range, above the reconstruction errors
IRK_FULL = notebook_outputs("incremental_rank_full", OUT)
HTD = config["htf_detail"]
HTD_FIGURE = notebook_outputs("htf_detail", OUT)

if FIGURE_RUNS.made("incremental_rank", IRK_ALL_RUN_DIRS):
    PAPER2_TARGETS += [IRK_FIGURE["pdf"], IRK_FIGURE["png"], IRK_FIGURE["claims"], IRK_FULL["pdf"], IRK_FULL["png"]]
    CLAIMS.append(IRK_FIGURE["claims"])
if FIGURE_RUNS.made("htf_detail", IRK_RUN_DIRS["htf"]):
    PAPER2_TARGETS += [HTD_FIGURE["pdf"], HTD_FIGURE["png"], HTD_FIGURE["claims"]]
    CLAIMS.append(HTD_FIGURE["claims"])



# Light jobs run where Snakemake runs, never as cluster jobs (profiles/slurm).
localrules:
    incremental_rank_data,
    incremental_rank,
    htf_detail,

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


rule incremental_rank:
    input:
        notebook="notebooks/incremental_rank.ipynb",
        metrics=FIGURE_RUNS.files(IRK_ALL_RUN_DIRS, "metrics.csv"),
        summaries=FIGURE_RUNS.files(IRK_ALL_RUN_DIRS, "summary.json"),
    output:
        pdf=IRK_FIGURE["pdf"],
        png=report(IRK_FIGURE["png"], caption="../report/incremental_rank.rst", category="Paper 2"),
        full_pdf=IRK_FULL["pdf"],
        full_png=report(IRK_FULL["png"], caption="../report/incremental_rank_full.rst", category="Paper 2"),
        claims=IRK_FIGURE["claims"],
        notebook=IRK_FIGURE["notebook"],
    params:
        papermill=PAPERMILL,
        # settings apart from paths, so that Snakemake's params trigger sees a changed claim rule
        settings=papermill_params(config=IRK, scale=config["scale"]),
        paths=lambda wildcards, input, output: papermill_params(
            summaries=list(input.summaries),
            metrics=list(input.metrics),
            out_pdf=output.pdf,
            out_png=output.png,
            out_full_pdf=output.full_pdf,
            out_full_png=output.full_png,
            out_claims=output.claims,
        ),
    log:
        f"{OUT}/logs/incremental_rank/figure.log",
    conda:
        CONDA_ENV
    shell:
        "{params.papermill} {input.notebook} {output.notebook} -y {params.settings} -y {params.paths} > {log} 2>&1"


rule htf_detail:
    input:
        notebook="notebooks/htf_detail.ipynb",
        metrics=FIGURE_RUNS.files(IRK_RUN_DIRS["htf"], "metrics.csv"),
        summaries=FIGURE_RUNS.files(IRK_RUN_DIRS["htf"], "summary.json"),
    output:
        pdf=HTD_FIGURE["pdf"],
        png=report(HTD_FIGURE["png"], caption="../report/htf_detail.rst", category="Paper 2"),
        claims=HTD_FIGURE["claims"],
        notebook=HTD_FIGURE["notebook"],
    params:
        papermill=PAPERMILL,
        settings=papermill_params(config=HTD, htf=IRK["htf"], target_rank=IRK["target_rank"], scale=config["scale"]),
        paths=lambda wildcards, input, output: papermill_params(
            summaries=list(input.summaries),
            metrics=list(input.metrics),
            out_pdf=output.pdf,
            out_png=output.png,
            out_claims=output.claims,
        ),
    log:
        f"{OUT}/logs/htf_detail/figure.log",
    conda:
        CONDA_ENV
    shell:
        "{params.papermill} {input.notebook} {output.notebook} -y {params.settings} -y {params.paths} > {log} 2>&1"
