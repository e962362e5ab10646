# P1 Figure 3: gradient descent on a CP factorization learns one component at a time.
from dynamics_rules import tfd_run

TFD = config["tf_dynamics"]
TFD_DATA = f"{RESULTS}/" + (
    "data/tf_dynamics/order{order}_dim{mode_dim}_rank{target_rank}_norm{target_fro_norm:g}"
    "_n{num_observations}_seed{{seed}}.npz".format(**TFD)
)
TFD_RUN = tfd_run(TFD)

# Light jobs run where Snakemake runs, never as cluster jobs (profiles/slurm).
localrules:
    tf_dynamics_data,


rule tf_dynamics_data:
    output:
        TFD_DATA,
    params:
        impreg=IMPREG,
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
        "{params.impreg} make-data tf-dynamics --order {params.order} --mode-dim {params.mode_dim} --rank {params.rank}"
        " --fro-norm {params.fro_norm} --num-observations {params.n} --seed {wildcards.seed}"
        " --out {output} > {log} 2>&1"


TRAIN_RULES.append(
    TrainRule(
        experiment="tf_dynamics",
        run=TFD_RUN,
        label="init{init}_seed{seed}",
        input=TFD_DATA,
        params={
            "settings": flags(
                TFD,
                "num_components lr alpha eps stop_loss stop_patience max_iterations log_every top_k dtype",
                device=config["device"],
            )
        },
        command="tf-dynamics --data {input} --out-dir {params.out_dir} --init-std {wildcards.init}"
        " --seed {wildcards.seed} {params.settings}",
        gpu=ON_CUDA,
    )
)
