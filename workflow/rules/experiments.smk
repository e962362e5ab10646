# Every experiment's jobs, as its module declares them (impreg.experiments): per config section, a
# training rule and, for the data files that `impreg make-data` alone makes, a data rule (jobs.smk
# writes them). An experiment's own rule file adds what these do not cover (drawn images, downloads).
from impreg.experiments import EXPERIMENTS

for _experiment in EXPERIMENTS:
    for _jobs in _experiment.jobs:
        _files = _jobs.data_files(config)
        if _files:
            DATA_RULES.append(DataRule.of(_jobs.section, _files))
        TRAIN_RULES.append(settings_train_rule(_jobs.section, _jobs.runs(config), RESULTS, gpu=_jobs.gpu(config)))
    if _experiment.rule_file:

        include: _experiment.rule_file
