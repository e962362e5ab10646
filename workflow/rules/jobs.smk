# Rules made from TRAIN_RULES and DATA_RULES, which workflow/rules/experiments.smk fills from each
# experiment's declared jobs (workflow/rule_helpers.py: TrainRule, DataRule).
import re

# Each rule is written in a function: a rule's shell command is evaluated when its job runs, and
# inside a function it sees that call's spec, where a loop's variable would hold the last one.


# Data files made by `impreg make-data <args>` alone; light jobs run where Snakemake runs, never as
# cluster jobs (profiles/slurm).
def data_rule(spec):
    rule:
        name:
            spec.name
        localrule: True
        output:
            f"{RESULTS}/data/{spec.experiment}/{{dataset}}.npz",
        params:
            args=lambda wildcards: spec.args[wildcards.dataset],
        wildcard_constraints:
            dataset="|".join(re.escape(name) for name in spec.args),
        log:
            f"{RESULTS}/logs/{spec.experiment}/data_{{dataset}}.log",
        conda:
            CONDA_ENV
        shell:
            "{IMPREG} make-data {params.args} --out {output} > {log} 2>&1"


# One training rule per experiment: a job trains one run folder from its data file. A killed job
# resumes from the run folder's checkpoint.pt when rerun (every training writes one). The run files
# are update() outputs: Snakemake keeps a finished run's files while it reruns the job and puts them
# back when the job fails (a corrupt data file, a stopped job), so that a failure never costs a
# finished run; the Snakefile's onerror then marks them incomplete, so that the job runs again.
def train_rule(spec):
    rule:
        name:
            spec.name
        input:
            spec.input,
        output:
            metrics=update(f"{RESULTS}/{spec.run}/metrics.csv"),
            summary=update(f"{RESULTS}/{spec.run}/summary.json"),
        wildcard_constraints:
            **spec.constraints,
        params:
            out_dir=lambda wildcards, output: os.path.dirname(output.summary),
            **spec.params,
        threads: config["threads"]
        resources:
            gpu=1 if spec.gpu and CLAIM_GPU else 0,
            runtime=RESOURCES[spec.name]["runtime"],
            mem_mb=RESOURCES[spec.name]["mem_mb"],
        log:
            f"{RESULTS}/{spec.file('logs', 'log')}",
        benchmark:
            f"{RESULTS}/{spec.file('benchmarks', 'tsv')}"
        conda:
            CONDA_ENV
        shell:
            spec.shell()


for _spec in DATA_RULES:
    data_rule(_spec)
for _spec in TRAIN_RULES:
    train_rule(_spec)
