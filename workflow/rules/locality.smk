# P2 Fig. C (ResNet18) and its ResNet34 twin: countering locality with the separation-rank
# regularizer on Is Same Class and Pathfinder. One training job per (task, arch, range, lambda, seed).
from image_rules import LOC_ISC_IMAGES, LOC_RUN, loc_tasks

LOC = config["locality"]
LOC_TRAIN = LOC["train"]
LOC_ISC = LOC["is_same_class"]
LOC_PF = LOC["pathfinder"]
LOC_TASKS = loc_tasks(LOC)  # task -> (its ranges, its lambdas)
LOC_PF_DATA = f"{RESULTS}/data/locality/pathfinder_L{{length}}.npz"
LOC_WILDCARDS = {
    "task": "is_same_class|pathfinder",
    "arch": "resnet18|resnet34",
    "x": r"\d+",
    "lam": r"[0-9.e+-]+",
    "seed": r"\d+",
    "length": r"\d+",
}
# Settings that change a run's numbers; passed as params so that a change reruns training.
LOC_COMMON_FLAGS = (
    flags(LOC, "width")
    + " "
    + flags(
        LOC_TRAIN,
        "lr momentum batch_size max_epochs patience penalty_batch probe_size eval_batch_size amp channels_last",
        device=config["device"],
    )
)
LOC_TASK_FLAGS = {
    "is_same_class": flags(LOC_ISC, "num_train num_test canvas_width canvas_height"),
    "pathfinder": flags(LOC_PF, "patch_size reg_distance test_fraction split_seed"),
}

# Reading CIFAR-10 into one file is light; Pathfinder generation and training are cluster jobs.
localrules:
    locality_is_same_class_images,


rule locality_is_same_class_images:
    wildcard_constraints:
        source="cifar10|digits",
    input:
        # stand-in CIFAR-10 files (smoke scale) come from rank_complexity's stand-in rule; the real
        # files are read (and, when missing, downloaded once) from the untracked image folder
        stand_in=STAND_IN_DIR if LOC_ISC["stand_in"] and LOC_ISC["source"] == "cifar10" else [],
    output:
        f"{RESULTS}/{LOC_ISC_IMAGES}",
    params:
        impreg=IMPREG,
        upsample=LOC_ISC["upsample"],
        source=lambda wc, input: (
            f"--data-dir {input.stand_in} --allow-stand-in" if input.stand_in else "--download"
        ),
    log:
        f"{RESULTS}/logs/locality/is_same_class_{{source}}.log",
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
        settings=lambda wc: flags(
            LOC_PF,
            "num_samples window output_size paddle_thickness",
            seed=LOC_PF["data_seed"] + int(wc.length),
            **({"geometry_scale": LOC_PF["geometry_scale"]} if LOC_PF["geometry_scale"] else {}),
        ),
    threads: LOC_PF["workers"]
    # before any training: it needs every core, and waiting for a free pair of cores behind the
    # training jobs leaves cores idle (about 9 minutes of a quick run)
    priority: 10
    resources:
        runtime=RESOURCES["locality_pathfinder_data"]["runtime"],
        mem_mb=RESOURCES["locality_pathfinder_data"]["mem_mb"],
    log:
        f"{RESULTS}/logs/locality/pathfinder_L{{length}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/locality/pathfinder_L{{length}}.tsv"
    conda:
        CONDA_ENV
    shell:
        "{params.impreg} make-data pathfinder --path-length {wildcards.length} {params.settings}"
        " --workers {threads} --out {output} > {log} 2>&1"


TRAIN_RULES.append(
    TrainRule(
        experiment="locality",
        run=LOC_RUN,
        label="{task}_{arch}_x{x}_lam{lam}_seed{seed}",
        # the task's source images, or the Pathfinder file of the run's path length
        input=lambda wc: (
            f"{RESULTS}/{LOC_ISC_IMAGES.format(source=LOC_ISC['source'])}"
            if wc.task == "is_same_class"
            else LOC_PF_DATA.format(length=wc.x)
        ),
        params={"settings": lambda wc: f"{LOC_COMMON_FLAGS} {LOC_TASK_FLAGS[wc.task]}"},
        command="locality --task {wildcards.task} --x {wildcards.x} --arch {wildcards.arch} --lam {wildcards.lam}"
        " --seed {wildcards.seed} --threads {threads} {params.settings} --data {input} --out-dir {params.out_dir}",
        gpu=LOC["gpu"],
        constraints=LOC_WILDCARDS,
    )
)
