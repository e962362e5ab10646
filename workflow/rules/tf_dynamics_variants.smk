# P1 appendix: the tensor factorization dynamics of Figure 3 for (a) an order-3 target, (b) a
# Huber loss and (c) tensor sensing with Gaussian measurement tensors; one row of four panels each.
# Its data files and runs are listed by impreg.experiments.tf_dynamics.
from impreg.experiments import tf_dynamics as tf_dynamics_experiment

DATA_RULES.append(DataRule.of("tf_dynamics_variants", tf_dynamics_experiment.variant_data_files(config)))

TRAIN_RULES.append(
    settings_train_rule("tf_dynamics_variants", tf_dynamics_experiment.variant_runs(config), RESULTS, gpu=ON_CUDA)
)
