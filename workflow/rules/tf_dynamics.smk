# P1 Figure 3: gradient descent on a CP factorization learns one component at a time. Its data
# files and runs are listed by impreg.experiments.tf_dynamics.
from impreg.experiments import tf_dynamics as tf_dynamics_experiment

DATA_RULES.append(DataRule.of("tf_dynamics", tf_dynamics_experiment.figure3_data_files(config)))

TRAIN_RULES.append(
    settings_train_rule("tf_dynamics", tf_dynamics_experiment.figure3_runs(config), RESULTS, gpu=ON_CUDA)
)
