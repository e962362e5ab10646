# P2 Fig. A (incremental_rank): gradient descent from small initialization learns rank one
# step at a time in matrix (mf), tensor (tf) and hierarchical tensor (htf) factorization; its
# hierarchical runs also make P2 Fig. B (htf_detail, in the manifest workflow/figures.py).
# File names and command lines come from workflow/dynamics_rules.py.

from dynamics_rules import irk_data_args, irk_data_name, irk_datasets, irk_runs, irk_train_args

IRK = config["incremental_rank"]
IRK_DATA = irk_datasets(IRK)  # data file name -> (model, seed)
IRK_RUNS = irk_runs(IRK)  # run name -> (model, seed)

DATA_RULES.append(
    DataRule("incremental_rank", {name: irk_data_args(IRK, *what) for name, what in IRK_DATA.items()})
)

TRAIN_RULES.append(
    table_train_rule(
        "incremental_rank",
        IRK_RUNS,
        data=lambda *run: f"{RESULTS}/data/incremental_rank/{irk_data_name(IRK, *run)}.npz",
        args=lambda *run: irk_train_args(IRK, *run, config["device"]),
        command="incremental-rank {params.args} --data {input} --out-dir {params.out_dir}",
        gpu=ON_CUDA,
    )
)
