# P1 appendix: the tensor factorization dynamics of Figure 3 for (a) an order-3 target, (b) a
# Huber loss and (c) tensor sensing with Gaussian measurement tensors; one row of four panels each.
# File names and command lines come from workflow/dynamics_rules.py.
import re

from dynamics_rules import tfv_data_args, tfv_data_path, tfv_datasets, tfv_runs, tfv_train_args

TFV = config["tf_dynamics_variants"]
TFV_RUNS = tfv_runs(TFV)  # run name -> (variant, init, seed)
TFV_DATA = tfv_datasets(TFV)  # data file name -> (variant, seed)
TFV_RUN_DIRS = [f"results/runs/tf_dynamics_variants/{run}" for run in TFV_RUNS]
TFV_FIGURE = notebook_outputs("tf_dynamics_variants", OUT)

if FIGURE_RUNS.made("tf_dynamics_variants", TFV_RUN_DIRS):
    PAPER1_TARGETS += [TFV_FIGURE["pdf"], TFV_FIGURE["png"], TFV_FIGURE["claims"]]
    CLAIMS.append(TFV_FIGURE["claims"])



# Light jobs run where Snakemake runs, never as cluster jobs (profiles/slurm).
localrules:
    tf_dynamics_variants_data,
    tf_dynamics_variants,

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


rule tf_dynamics_variants:
    input:
        notebook="notebooks/tf_dynamics_variants.ipynb",
        metrics=FIGURE_RUNS.files(TFV_RUN_DIRS, "metrics.csv"),
        summaries=FIGURE_RUNS.files(TFV_RUN_DIRS, "summary.json"),
    output:
        pdf=TFV_FIGURE["pdf"],
        png=report(TFV_FIGURE["png"], caption="../report/tf_dynamics_variants.rst", category="Paper 1"),
        claims=TFV_FIGURE["claims"],
        notebook=TFV_FIGURE["notebook"],
    params:
        papermill=PAPERMILL,
        # settings apart from paths, so that Snakemake's params trigger sees a changed claim rule
        settings=papermill_params(config=TFV, scale=config["scale"]),
        paths=lambda wildcards, input, output: papermill_params(
            summaries=list(input.summaries),
            metrics=list(input.metrics),
            variants=[TFV_RUNS[os.path.basename(os.path.dirname(path))][0] for path in input.summaries],
            out_pdf=output.pdf,
            out_png=output.png,
            out_claims=output.claims,
        ),
    log:
        f"{OUT}/logs/tf_dynamics_variants/figure.log",
    conda:
        CONDA_ENV
    shell:
        "{params.papermill} {input.notebook} {output.notebook} -y {params.settings} -y {params.paths} > {log} 2>&1"
