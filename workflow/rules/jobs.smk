# Rules made from what each experiment's rule file adds to TRAIN_RULES and DATA_RULES
# (workflow/rule_helpers.py).
import re

# Data files made by `impreg make-data <args>` alone; light jobs run where Snakemake runs, never as
# cluster jobs (profiles/slurm).
for _data in DATA_RULES:

    rule:
        name:
            _data.name
        localrule: True
        output:
            f"results/data/{_data.experiment}/{{dataset}}.npz",
        params:
            impreg=IMPREG,
            args=lambda wildcards, d=_data: d.args[wildcards.dataset],
        wildcard_constraints:
            dataset="|".join(re.escape(name) for name in _data.args),
        log:
            f"results/logs/{_data.experiment}/data_{{dataset}}.log",
        conda:
            CONDA_ENV
        shell:
            "{params.impreg} make-data {params.args} --out {output} > {log} 2>&1"


# One training rule per experiment: a job trains one run folder from its data file. A killed job
# resumes from the run folder's checkpoint.pt when rerun (every training writes one).
for _train in TRAIN_RULES:

    rule:
        name:
            _train.name
        input:
            _train.input,
        output:
            metrics=os.path.join(_train.run, "metrics.csv"),
            summary=os.path.join(_train.run, "summary.json"),
        wildcard_constraints:
            **_train.constraints,
        params:
            impreg=IMPREG,
            out_dir=lambda wildcards, output: os.path.dirname(output.summary),
            **_train.params,
        threads: config["threads"]
        resources:
            gpu=1 if _train.gpu else 0,
            runtime=RESOURCES[_train.name]["runtime"],
            mem_mb=RESOURCES[_train.name]["mem_mb"],
        log:
            _train.file("logs", "log"),
        benchmark:
            _train.file("benchmarks", "tsv")
        conda:
            CONDA_ENV
        shell:
            _train.shell()
