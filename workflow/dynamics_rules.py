"""File names and command lines of the factorization-dynamics rules (tf_dynamics.smk,
tf_dynamics_variants.smk, incremental_rank.smk), kept out of the .smk files as Snakemake's
linter asks. Every function takes the experiment's validated config section; paths are relative to
the scale's results folder.
"""

from __future__ import annotations

import math

from rule_helpers import flags, fmt_float

from impreg.cli_args import flags_from_mapping

IRK_MODELS = ("mf", "tf", "htf")


# ---------------------------------------------------------------- tf_dynamics


def tfd_run(tfd: dict) -> str:
    """The run folder pattern, with wildcards {init} and {seed}."""
    return "runs/tf_dynamics/order{order}_dim{mode_dim}_R{num_components}_init{{init}}_seed{{seed}}".format(
        **tfd
    )


def tfd_run_dirs(tfd: dict) -> list[str]:
    return [tfd_run(tfd).format(init=fmt_float(i), seed=s) for i in tfd["init_stds"] for s in tfd["seeds"]]


# ---------------------------------------------------------------- tf_dynamics_variants


def tfv_data_path(tfv: dict, name: str, seed: int) -> str:
    """The data file of a variant and seed; variants with the same task and sizes share it."""
    v = tfv["variants"][name]
    return (
        f"data/tf_dynamics_variants/{v['task']}_order{v['order']}_dim{v['mode_dim']}_rank{v['target_rank']}"
        f"_norm{tfv['target_fro_norm']:g}_n{v['num_observations']}_seed{seed}.npz"
    )


def tfv_run_name(tfv: dict, name: str, init: float, seed: int) -> str:
    v = tfv["variants"][name]
    loss = v["loss"] if v["loss"] == "l2" else f"huber{v['huber_delta']:g}"
    return (
        f"{name}_{v['task']}_order{v['order']}_dim{v['mode_dim']}_n{v['num_observations']}_R{v['num_components']}"
        f"_{loss}_init{fmt_float(init)}_seed{seed}"
    )


def tfv_runs(tfv: dict) -> dict[str, tuple[str, float, int]]:
    """Run name -> (variant, init, seed) for every run of the figure."""
    return {
        tfv_run_name(tfv, name, init, seed): (name, init, seed)
        for name, v in tfv["variants"].items()
        for init in v["init_stds"]
        for seed in tfv["seeds"]
    }


def tfv_datasets(tfv: dict) -> dict[str, tuple[str, int]]:
    """Data file name (without .npz) -> (a variant using it, seed)."""
    out = {}
    for name in tfv["variants"]:
        for seed in tfv["seeds"]:
            path = tfv_data_path(tfv, name, seed)
            out[path.rsplit("/", 1)[1][: -len(".npz")]] = (name, seed)
    return out


def tfv_data_args(tfv: dict, name: str, seed: int) -> str:
    v = tfv["variants"][name]
    what = "tf-sensing" if v["task"] == "sensing" else "tf-dynamics"
    return (
        f"{what} --order {v['order']} --mode-dim {v['mode_dim']} --rank {v['target_rank']}"
        f" --fro-norm {tfv['target_fro_norm']} --num-observations {v['num_observations']} --seed {seed}"
    )


def tfv_train_args(tfv: dict, name: str, init: float, seed: int, device: str) -> str:
    v = tfv["variants"][name]
    return (
        f"{'tf-sensing' if v['task'] == 'sensing' else 'tf-dynamics'}"
        f" {flags_from_mapping({'init_std': fmt_float(init), 'seed': seed})}"
        f" {flags(v, 'num_components loss huber_delta stop_loss')}"
        f" {flags(tfv, 'lr alpha eps stop_patience max_iterations log_every top_k dtype', device=device)}"
    )


# ---------------------------------------------------------------- incremental_rank (and htf_detail)


def irk_data_name(irk: dict, model: str, seed: int) -> str:
    m = irk[model]
    common = f"rank{irk['target_rank']}_norm{irk['target_fro_norm']:g}_n{irk['num_observations']}_seed{seed}"
    if model == "mf":
        return f"mf_dim{m['dim']}_{common}"
    if model == "tf":
        return f"tf_order{m['order']}_dim{m['mode_dim']}_{common}"
    return f"htf_order{m['order']}_dim{m['mode_dim']}_{m['pool_pattern']}_{common}"


def irk_run_name(irk: dict, model: str, seed: int) -> str:
    m = irk[model]
    init = fmt_float(m["init_std"])
    if model == "mf":
        return f"mf_dim{m['dim']}_depth{m['depth']}_w{m['width'] or m['dim']}_init{init}_seed{seed}"
    if model == "tf":
        r = m["num_components"] or math.prod(sorted([m["mode_dim"]] * m["order"])[:-1])
        return f"tf_order{m['order']}_dim{m['mode_dim']}_R{r}_init{init}_seed{seed}"
    return f"htf_order{m['order']}_dim{m['mode_dim']}_w{m['width']}_{m['pool_pattern']}_init{init}_seed{seed}"


def irk_runs(irk: dict) -> dict[str, tuple[str, int]]:
    """Run name -> (model, seed)."""
    return {irk_run_name(irk, model, seed): (model, seed) for model in IRK_MODELS for seed in irk["seeds"]}


def irk_datasets(irk: dict) -> dict[str, tuple[str, int]]:
    """Data file name (without .npz) -> (model, seed)."""
    return {irk_data_name(irk, model, seed): (model, seed) for model in IRK_MODELS for seed in irk["seeds"]}


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


def irk_train_args(irk: dict, model: str, seed: int, device: str) -> str:
    m = irk[model]
    args = flags_from_mapping(
        {"model": model, "init_std": fmt_float(m["init_std"]), "seed": seed, "max_iterations": m["max_iterations"]}
    ) + " " + flags(irk, "lr alpha eps stop_loss stop_validations log_every top_k dtype", device=device,
                    checkpoint_every=irk["checkpoint_every"])
    # the CLI names the width per model
    if model == "mf":
        return f"{args} {flags_from_mapping({'depth': m['depth'], 'mf_width': m['width']})}"
    if model == "tf":
        return f"{args} {flags(m, 'num_components')}"
    return f"{args} " + flags_from_mapping({
        "htf_width": m["width"], "pool_pattern": m["pool_pattern"],
        "extra_matricizations": f"'{m['extra_matricizations']}'",  # ';'-separated: quoted for the shell
        "rank_rel_tol": m["rank_rel_tol"],
    })
