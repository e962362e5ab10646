"""The data files and make-data arguments of the factorization-dynamics rules (tf_dynamics.smk,
tf_dynamics_variants.smk, incremental_rank.smk), kept out of the .smk files as Snakemake's
linter asks. Their runs (names, data files, settings) are listed by impreg.experiments. Every
function takes the experiment's validated config section; paths are relative to the scale's
results folder.
"""

from __future__ import annotations

from impreg.experiments import incremental_rank, tf_dynamics

# ---------------------------------------------------------------- tf_dynamics_variants


def tfv_datasets(tfv: dict) -> dict[str, tuple[str, int]]:
    """Data file name (without .npz) -> (a variant using it, seed)."""
    out = {}
    for name in tfv["variants"]:
        for seed in tfv["seeds"]:
            path = tf_dynamics.variant_data(tfv, name, seed)
            out[path.rsplit("/", 1)[1][: -len(".npz")]] = (name, seed)
    return out


def tfv_data_args(tfv: dict, name: str, seed: int) -> str:
    v = tfv["variants"][name]
    what = "tf-sensing" if v["task"] == "sensing" else "tf-dynamics"
    return (
        f"{what} --order {v['order']} --mode-dim {v['mode_dim']} --rank {v['target_rank']}"
        f" --fro-norm {tfv['target_fro_norm']} --num-observations {v['num_observations']} --seed {seed}"
    )


# ---------------------------------------------------------------- incremental_rank (and htf_detail)


def irk_datasets(irk: dict) -> dict[str, tuple[str, int]]:
    """Data file name (without .npz) -> (model, seed)."""
    return {incremental_rank.data_name(irk, model, seed): (model, seed)
            for model in incremental_rank.MODELS for seed in irk["seeds"]}


def irk_data_args(irk: dict, model: str, seed: int) -> str:
    m = irk[model]
    common = f"--fro-norm {irk['target_fro_norm']} --num-observations {irk['num_observations']} --seed {seed}"
    if model == "mf":  # a rank-r matrix U V^T is an order-2 CP tensor
        return f"tf-dynamics --order 2 --mode-dim {m['dim']} --rank {irk['target_rank']} {common}"
    if model == "tf":
        return f"tf-dynamics --order {m['order']} --mode-dim {m['mode_dim']} --rank {irk['target_rank']} {common}"
    return (
        f"ht-completion --order {m['order']} --mode-dim {m['mode_dim']} --ranks {irk['target_rank']}"
        f" --pattern {m['pool_pattern']} {common}"
    )
