# P2 Fig. A (incremental_rank): gradient descent from small initialization learns rank one
# step at a time in matrix (mf), tensor (tf) and hierarchical tensor (htf) factorization; its
# hierarchical runs also make P2 Fig. B (htf_detail, in the manifest workflow/figures.py).
# Its data files and runs are listed by impreg.experiments.incremental_rank.
from impreg.experiments import incremental_rank as incremental_rank_experiment

DATA_RULES.append(DataRule.of("incremental_rank", incremental_rank_experiment.data_files(config)))

TRAIN_RULES.append(
    settings_train_rule("incremental_rank", incremental_rank_experiment.runs(config), RESULTS, gpu=ON_CUDA)
)
