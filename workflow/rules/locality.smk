# P2 Fig. C (ResNet18) and its ResNet34 twin: the rules that draw their images. Its runs, one
# training job per run, are declared by impreg.experiments.locality.
from impreg.experiments import locality as locality_experiment

LOC = config["locality"]
LOC_ISC = LOC["is_same_class"]
LOC_PF = LOC["pathfinder"]
LOC_PF_DATA = f"{RESULTS}/{locality_experiment.PATHFINDER_DATA}"

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
        f"{RESULTS}/{locality_experiment.IS_SAME_CLASS_IMAGES}",
    params:
        upsample=LOC_ISC["upsample"],
        source=lambda wc, input: (
            f"--data-dir {input.stand_in} --allow-stand-in" if input.stand_in else "--download"
        ),
    log:
        f"{RESULTS}/logs/locality/is_same_class_{{source}}.log",
    conda:
        CONDA_ENV
    shell:
        "{IMPREG} make-data is-same-class-images --source {wildcards.source}"
        " --upsample {params.upsample} {params.source} --out {output} > {log} 2>&1"


rule locality_pathfinder_data:
    wildcard_constraints:
        length=r"\d+",
    output:
        LOC_PF_DATA,
    params:
        # the generator's version: a params change, so that images drawn by an older generator
        # (joined strokes until "paddles-1") are made again
        generator="paddles-1",
        settings=lambda wc: locality_experiment.pathfinder_args(LOC, wc.length),
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
        "{IMPREG} make-data pathfinder --path-length {wildcards.length} {params.settings}"
        " --workers {threads} --out {output} > {log} 2>&1"
