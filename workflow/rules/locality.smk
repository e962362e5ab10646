# P2 Fig. C (ResNet18) and its ResNet34 twin: countering locality with the separation-rank
# regularizer on Is Same Class and Pathfinder. One training job per (task, arch, range, lambda, seed).

LOC = config["locality"]
LOC_TRAIN = LOC["train"]
LOC_ISC = LOC["is_same_class"]
LOC_PF = LOC["pathfinder"]
# figure id -> (arch, seeds); a figure with no seeds is left out
LOC_FIGURES = {f: spec for f, spec in LOC["figures"].items() if spec["seeds"]}
# task -> (its ranges, its lambdas); a task with no ranges is left out
LOC_TASKS = {
    task: (xs, lambdas)
    for task, xs, lambdas in [
        ("is_same_class", LOC_ISC["distances"], LOC_ISC["lambdas"]),
        ("pathfinder", LOC_PF["path_lengths"], LOC_PF["lambdas"]),
    ]
    if xs
}
LOC_ISC_IMAGES = "results/data/locality/is_same_class_{source}.npz"
LOC_PF_DATA = "results/data/locality/pathfinder_L{length}.npz"
LOC_RUN = "results/runs/locality/{task}_{arch}_x{x}_lam{lam}_seed{seed}"
LOC_WILDCARDS = {
    "task": "is_same_class|pathfinder",
    "arch": "resnet18|resnet34",
    "x": r"\d+",
    "lam": r"[0-9.e+-]+",
    "seed": r"\d+",
    "length": r"\d+",
}

LOC_RUNS = {
    figure: [
        LOC_RUN.format(task=task, arch=spec["arch"], x=x, lam=fmt_float(lam), seed=seed)
        for task, (xs, lambdas) in LOC_TASKS.items()
        for x in xs
        for lam in lambdas
        for seed in spec["seeds"]
    ]
    for figure, spec in LOC_FIGURES.items()
}
LOC_OUTPUTS = {
    figure: notebook_outputs(figure, OUT)
    | {f"table_{ext}": f"{OUT}/tables/{figure}.{ext}" for ext in ("csv", "md", "tex")}
    for figure in LOC_FIGURES
}
LOC_FIGURE_FILES = {
    figure: [out[k] for k in ("pdf", "png", "claims", "table_csv", "table_md", "table_tex")]
    for figure, out in LOC_OUTPUTS.items()
}
# Settings that change a run's numbers; passed as params so that a change reruns training.
LOC_COMMON_FLAGS = (
    f"--width {LOC['width']} --lr {LOC_TRAIN['lr']} --momentum {LOC_TRAIN['momentum']}"
    f" --batch-size {LOC_TRAIN['batch_size']} --max-epochs {LOC_TRAIN['max_epochs']}"
    f" --patience {LOC_TRAIN['patience']} --eval-batch-size {LOC_TRAIN['eval_batch_size']}"
    f" --amp {LOC_TRAIN['amp']} --channels-last {str(LOC_TRAIN['channels_last']).lower()}"
    f" --device {config['device']}"
)
LOC_TASK_FLAGS = {
    "is_same_class": (
        f"--num-train {LOC_ISC['num_train']} --num-test {LOC_ISC['num_test']}"
        f" --canvas-width {LOC_ISC['canvas_width']} --canvas-height {LOC_ISC['canvas_height']}"
    ),
    "pathfinder": (
        f"--patch-size {LOC_PF['patch_size']} --reg-distance {LOC_PF['reg_distance']}"
        f" --test-fraction {LOC_PF['test_fraction']} --split-seed {LOC_PF['split_seed']}"
    ),
}

for _figure in LOC_FIGURES:
    if FIGURE_RUNS.made(_figure, LOC_RUNS[_figure]):
        PAPER2_TARGETS += LOC_FIGURE_FILES[_figure]
        CLAIMS.append(LOC_OUTPUTS[_figure]["claims"])


# Reading CIFAR-10 into one file is light; Pathfinder generation and training are cluster jobs.
localrules:
    locality_is_same_class_images,
    locality_figure,


rule locality_is_same_class_images:
    wildcard_constraints:
        source="cifar10|digits",
    input:
        # stand-in CIFAR-10 files (smoke scale) come from rank_complexity's stand-in rule; the real
        # files are read (and, when missing, downloaded once) from the untracked image folder
        stand_in=STAND_IN_DIR if LOC_ISC["stand_in"] and LOC_ISC["source"] == "cifar10" else [],
    output:
        LOC_ISC_IMAGES,
    params:
        impreg=IMPREG,
        upsample=LOC_ISC["upsample"],
        source=lambda wc, input: (
            f"--data-dir {input.stand_in} --allow-stand-in" if input.stand_in else "--download"
        ),
    log:
        "results/logs/locality/is_same_class_{source}.log",
    conda:
        CONDA_ENV
    shell:
        "{params.impreg} make-data is-same-class-images --source {wildcards.source}"
        " --upsample {params.upsample} {params.source} --out {output} > {log} 2>&1"


rule locality_pathfinder_data:
    wildcard_constraints:
        **LOC_WILDCARDS,
    output:
        LOC_PF_DATA,
    params:
        impreg=IMPREG,
        # the generator's version: a params change, so that images drawn by an older generator
        # (joined strokes until "paddles-1") are made again
        generator="paddles-1",
        settings=lambda wc: (
            f"--num-samples {LOC_PF['num_samples']} --window {LOC_PF['window']}"
            f" --output-size {LOC_PF['output_size']} --seed {LOC_PF['data_seed'] + int(wc.length)}"
            + (f" --geometry-scale {LOC_PF['geometry_scale']}" if LOC_PF["geometry_scale"] else "")
        ),
    threads: LOC_PF["workers"]
    resources:
        runtime=RESOURCES["locality_pathfinder_data"]["runtime"],
        mem_mb=RESOURCES["locality_pathfinder_data"]["mem_mb"],
    log:
        "results/logs/locality/pathfinder_L{length}.log",
    benchmark:
        "results/benchmarks/locality/pathfinder_L{length}.tsv"
    conda:
        CONDA_ENV
    shell:
        "{params.impreg} make-data pathfinder --path-length {wildcards.length} {params.settings}"
        " --workers {threads} --out {output} > {log} 2>&1"


rule locality_train:
    wildcard_constraints:
        **LOC_WILDCARDS,
    input:
        # the task's source images, or the Pathfinder file of the run's path length
        lambda wc: (
            LOC_ISC_IMAGES.format(source=LOC_ISC["source"])
            if wc.task == "is_same_class"
            else LOC_PF_DATA.format(length=wc.x)
        ),
    output:
        metrics=os.path.join(LOC_RUN, "metrics.csv"),
        summary=os.path.join(LOC_RUN, "summary.json"),
    params:
        impreg=IMPREG,
        out_dir=lambda wildcards, output: os.path.dirname(output.summary),
        settings=lambda wc: f"{LOC_COMMON_FLAGS} {LOC_TASK_FLAGS[wc.task]}",
    threads: config["threads"]
    resources:
        gpu=1 if LOC["gpu"] else 0,
        runtime=RESOURCES["locality_train"]["runtime"],
        mem_mb=RESOURCES["locality_train"]["mem_mb"],
    log:
        "results/logs/locality/train_{task}_{arch}_x{x}_lam{lam}_seed{seed}.log",
    benchmark:
        "results/benchmarks/locality/train_{task}_{arch}_x{x}_lam{lam}_seed{seed}.tsv"
    conda:
        CONDA_ENV
    shell:
        # a killed job resumes from its run folder's checkpoint.pt (written every epoch) when rerun
        "OMP_NUM_THREADS={threads} {params.impreg} train locality --task {wildcards.task}"
        " --x {wildcards.x} --arch {wildcards.arch} --lam {wildcards.lam} --seed {wildcards.seed}"
        " --threads {threads} {params.settings} --data {input} --out-dir {params.out_dir} > {log} 2>&1"


rule locality_figure:
    input:
        notebook="notebooks/locality.ipynb",
        metrics=lambda wc: FIGURE_RUNS.files(LOC_RUNS[wc.figure], "metrics.csv"),
        summaries=lambda wc: FIGURE_RUNS.files(LOC_RUNS[wc.figure], "summary.json"),
    output:
        pdf=f"{OUT}/figures/{{figure}}.pdf",
        png=report(
            f"{OUT}/figures/{{figure}}.png",
            caption="../report/locality.rst",
            category="Paper 2",
        ),
        claims=f"{OUT}/claims/{{figure}}.json",
        notebook=f"{OUT}/notebooks/{{figure}}.ipynb",
        table_csv=f"{OUT}/tables/{{figure}}.csv",
        table_md=f"{OUT}/tables/{{figure}}.md",
        table_tex=f"{OUT}/tables/{{figure}}.tex",
    wildcard_constraints:
        figure="locality|locality_resnet34",
    params:
        papermill=PAPERMILL,
        # settings apart from paths, so that Snakemake's params trigger sees a changed claim rule
        settings=lambda wc: papermill_params(
            # only this figure's entry, so that the other figure's seeds never rerun it
            config=LOC | {"figures": {wc.figure: LOC_FIGURES[wc.figure]}},
            scale=config["scale"],
            figure=wc.figure,
            arch=LOC_FIGURES[wc.figure]["arch"],
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
        f"{OUT}/logs/locality/{{figure}}.log",
    conda:
        CONDA_ENV
    shell:
        "{params.papermill} {input.notebook} {output.notebook} -y {params.settings} -y {params.paths} > {log} 2>&1"


rule locality:
    input:
        LOC_FIGURE_FILES.get("locality", []),


rule locality_resnet34:
    input:
        LOC_FIGURE_FILES.get("locality_resnet34", []),
