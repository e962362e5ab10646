# P1 appendix: the tensor factorization dynamics of Figure 3 for (a) an order-3 target, (b) a
# Huber loss and (c) tensor sensing with Gaussian measurement tensors; one row of four panels each.
# File names and command lines come from workflow/dynamics_rules.py.

from dynamics_rules import tfv_data_args, tfv_data_path, tfv_datasets, tfv_runs, tfv_train_args

TFV = config["tf_dynamics_variants"]
TFV_RUNS = tfv_runs(TFV)  # run name -> (variant, init, seed)
TFV_DATA = tfv_datasets(TFV)  # data file name -> (variant, seed)

DATA_RULES.append(
    DataRule("tf_dynamics_variants", {name: tfv_data_args(TFV, *what) for name, what in TFV_DATA.items()})
)

TRAIN_RULES.append(
    table_train_rule(
        "tf_dynamics_variants",
        TFV_RUNS,
        data=lambda variant, init, seed: f"{RESULTS}/{tfv_data_path(TFV, variant, seed)}",
        args=lambda *run: tfv_train_args(TFV, *run, config["device"]),
        command="{params.args} --data {input} --out-dir {params.out_dir}",
        gpu=ON_CUDA,
    )
)
