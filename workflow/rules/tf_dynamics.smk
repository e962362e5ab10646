# P1 Figure 3: gradient descent on a CP factorization learns one component at a time.

TFD = config["tf_dynamics"]
TFD_DATA = (
    "results/data/tf_dynamics/order{order}_dim{mode_dim}_rank{target_rank}_norm{target_fro_norm:g}"
    "_n{num_observations}_seed{{seed}}.npz".format(**TFD)
)
TFD_RUN = "results/runs/tf_dynamics/order{order}_dim{mode_dim}_R{num_components}_init{{init}}_seed{{seed}}".format(
    **TFD
)
TFD_RUNS = expand(TFD_RUN, init=[fmt_float(s) for s in TFD["init_stds"]], seed=TFD["seeds"])
TFD_FIGURE = notebook_outputs("tf_dynamics", OUT)

if FIGURE_RUNS.made("tf_dynamics", TFD_RUNS):
    PAPER1_TARGETS += [TFD_FIGURE["pdf"], TFD_FIGURE["png"], TFD_FIGURE["claims"]]
    CLAIMS.append(TFD_FIGURE["claims"])

# Light jobs run where Snakemake runs, never as cluster jobs (profiles/slurm).
localrules:
    tf_dynamics_data,
    tf_dynamics,


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
        "results/logs/tf_dynamics/data_seed{seed}.log",
    conda:
        CONDA_ENV
    shell:
        "{params.impreg} make-data tf-dynamics --order {params.order} --mode-dim {params.mode_dim} --rank {params.rank}"
        " --fro-norm {params.fro_norm} --num-observations {params.n} --seed {wildcards.seed}"
        " --out {output} > {log} 2>&1"


rule tf_dynamics_train:
    input:
        TFD_DATA,
    output:
        metrics=os.path.join(TFD_RUN, "metrics.csv"),
        summary=os.path.join(TFD_RUN, "summary.json"),
    params:
        impreg=IMPREG,
        out_dir=lambda wildcards, output: os.path.dirname(output.summary),
        settings=lambda wildcards: (
            f"--num-components {TFD['num_components']} --lr {TFD['lr']} --alpha {TFD['alpha']} --eps {TFD['eps']}"
            f" --stop-loss {TFD['stop_loss']} --stop-patience {TFD['stop_patience']}"
            f" --max-iterations {TFD['max_iterations']} --log-every {TFD['log_every']} --top-k {TFD['top_k']}"
            f" --dtype {TFD['dtype']} --device {config['device']}"
        ),
    threads: config["threads"]
    resources:
        gpu=1 if config["device"].startswith("cuda") else 0,
        runtime=RESOURCES["tf_dynamics_train"]["runtime"],
        mem_mb=RESOURCES["tf_dynamics_train"]["mem_mb"],
    log:
        "results/logs/tf_dynamics/train_init{init}_seed{seed}.log",
    benchmark:
        "results/benchmarks/tf_dynamics/train_init{init}_seed{seed}.tsv"
    conda:
        CONDA_ENV
    shell:
        "OMP_NUM_THREADS={threads} {params.impreg} train tf-dynamics --data {input} --out-dir {params.out_dir}"
        " --init-std {wildcards.init} --seed {wildcards.seed} {params.settings} > {log} 2>&1"


rule tf_dynamics:
    input:
        notebook="notebooks/tf_dynamics.ipynb",
        metrics=FIGURE_RUNS.files(TFD_RUNS, "metrics.csv"),
        summaries=FIGURE_RUNS.files(TFD_RUNS, "summary.json"),
    output:
        pdf=TFD_FIGURE["pdf"],
        png=report(TFD_FIGURE["png"], caption="../report/tf_dynamics.rst", category="Paper 1"),
        claims=TFD_FIGURE["claims"],
        notebook=TFD_FIGURE["notebook"],
    params:
        papermill=PAPERMILL,
        # settings apart from paths, so that Snakemake's params trigger sees a changed claim rule
        settings=papermill_params(config=TFD, scale=config["scale"]),
        paths=lambda wildcards, input, output: papermill_params(
            summaries=list(input.summaries),
            metrics=list(input.metrics),
            out_pdf=output.pdf,
            out_png=output.png,
            out_claims=output.claims,
        ),
    log:
        f"{OUT}/logs/tf_dynamics/figure.log",
    conda:
        CONDA_ENV
    shell:
        "{params.papermill} {input.notebook} {output.notebook} -y {params.settings} -y {params.paths} > {log} 2>&1"
