# P1 appendix: the tensor factorization dynamics of Figure 3 for (a) an order-3 target, (b) a
# Huber loss and (c) tensor sensing with Gaussian measurement tensors; one row of four panels each.
# File names and command lines come from workflow/dynamics_rules.py.

from dynamics_rules import tfv_data_args, tfv_datasets

from impreg.experiments import tf_dynamics as tf_dynamics_experiment

TFV = config["tf_dynamics_variants"]
TFV_DATA = tfv_datasets(TFV)  # data file name -> (variant, seed)

DATA_RULES.append(
    DataRule("tf_dynamics_variants", {name: tfv_data_args(TFV, *what) for name, what in TFV_DATA.items()})
)

TRAIN_RULES.append(
    settings_train_rule("tf_dynamics_variants", tf_dynamics_experiment.variant_runs(config), RESULTS, gpu=ON_CUDA)
)
