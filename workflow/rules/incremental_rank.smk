# P2 Fig. A (incremental_rank): gradient descent from small initialization learns rank one
# step at a time in matrix (mf), tensor (tf) and hierarchical tensor (htf) factorization; its
# hierarchical runs also make P2 Fig. B (htf_detail, in the manifest workflow/figures.py).
# File names and command lines come from workflow/dynamics_rules.py.

from dynamics_rules import irk_data_args, irk_datasets

from impreg.experiments import incremental_rank as incremental_rank_experiment

IRK = config["incremental_rank"]
IRK_DATA = irk_datasets(IRK)  # data file name -> (model, seed)

DATA_RULES.append(
    DataRule("incremental_rank", {name: irk_data_args(IRK, *what) for name, what in IRK_DATA.items()})
)

TRAIN_RULES.append(
    settings_train_rule("incremental_rank", incremental_rank_experiment.runs(config), RESULTS, gpu=ON_CUDA)
)
