# P1 Figure 3: gradient descent on a CP factorization learns one component at a time.
from impreg.experiments import tf_dynamics as tf_dynamics_experiment

TFD = config["tf_dynamics"]
TFD_DATA = f"{RESULTS}/{tf_dynamics_experiment.figure3_data(TFD, '{seed}')}"

# Light jobs run where Snakemake runs, never as cluster jobs (profiles/slurm).
localrules:
    tf_dynamics_data,


rule tf_dynamics_data:
    output:
        TFD_DATA,
    params:
        order=TFD["order"],
        mode_dim=TFD["mode_dim"],
        rank=TFD["target_rank"],
        fro_norm=TFD["target_fro_norm"],
        n=TFD["num_observations"],
    log:
        f"{RESULTS}/logs/tf_dynamics/data_seed{{seed}}.log",
    conda:
        CONDA_ENV
    shell:
        "{IMPREG} make-data tf-dynamics --order {params.order} --mode-dim {params.mode_dim} --rank {params.rank}"
        " --fro-norm {params.fro_norm} --num-observations {params.n} --seed {wildcards.seed}"
        " --out {output} > {log} 2>&1"


TRAIN_RULES.append(
    settings_train_rule("tf_dynamics", tf_dynamics_experiment.figure3_runs(config), RESULTS, gpu=ON_CUDA)
)
