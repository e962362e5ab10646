"""Numbers read off the papers' figures (see the spec beside the project), in one place so
the notebooks and the report compare against the same values."""

# P1 Figure 3 (tensor factorization dynamics), read off the authors' example plots.
TF_DYNAMICS = {
    "settings": {"order": 4, "mode_dim": 10, "target_rank": 5, "target_fro_norm": 1.0,
                 "num_observations": 2000, "num_components": 1000, "init_stds": [0.05, 0.01, 0.005]},
    "final_reconstruction_error": {0.005: 0.005, 0.01: 0.03, 0.05: 0.08},
    "escape_iterations_init_0.005": [4200, 5300, 7000, 9800, 11300],
    "plateau_norms_init_0.005": [0.63, 0.59, 0.40, 0.31, 0.21],
    "error_steps_init_0.005": [1.0, 0.82, 0.56, 0.39, 0.22, 0.005],
    "learned_components_init_0.005": 5,
}

# P2 Fig. A (incremental rank learning) and Fig. B (HTF detail), read off the authors' example
# plot mf_tf_htf_dyn.png and the repository defaults (spec, paper 2, sections 1-2.1).
_P2_COMMON = {"target_rank": 5, "target_fro_norm": 64.0, "num_observations": 2048, "lr": 0.01,
              "stop_loss": 5e-5, "stop_validations": 100}
INCREMENTAL_RANK = {
    "settings": {
        "mf": _P2_COMMON | {"dim": 64, "depth": 3, "width": 0, "init_std": 0.001},
        "tf": _P2_COMMON | {"order": 3, "mode_dim": 16, "num_components": 0, "init_std": 0.001},
        # mode_dim 16 is the generator's default; the repository does not pin the HTF figure's value
        "htf": _P2_COMMON | {"order": 4, "mode_dim": 16, "width": 512, "init_std": 0.01, "pool_pattern": "adjacent"},
    },
    "escapes": {"mf": [0, 1100, 2300, 3000, 4400], "tf": [0, 1200, 2200, 4700, 6000],
                "htf": [10000, 13000, 16000, 20000, 30500]},
    "plateaus": {"mf": [37, 32, 28, 23, 20], "tf": [38, 36, 24, 22, 17], "htf": [9.5, 4.8, 2.5, 1.5, 0.8]},
    "learned": {"mf": 5, "tf": 5, "htf": 5},
}

# P1 Figure 4 (tensor rank as a measure of complexity), read off the authors' example plot
# (example_plots/nat/mnist_fmnist_rank.png): mean error (MSE / 4) at R = 1, 5, 10, 15.
# Series are "<control>_<split>"; where the plot shows one value for both random controls'
# test errors (F-MNIST, and MNIST at R = 1), it is given for both.
RANK_COMPLEXITY = {
    "settings": {"positive_class": 6, "positive_value": 2.0, "negative_value": 0.0, "threshold": 0.5,
                 "ranks": list(range(1, 16)), "epochs": 10000, "batch_size": 5000, "lr": 5e-4,
                 "init_mean": 1.0, "init_std": 1e-3, "max_test_sample_loss": 4.0, "train_subset": 0},
    "variance_line": 0.09,  # drawn at a fixed 0.09 by the original plotter; computed from the data here
    "values": {
        "mnist": {
            "natural_train": {1: 0.022, 5: 0.008, 10: 0.004, 15: 0.003},
            "natural_test": {1: 0.024, 5: 0.022, 10: 0.027, 15: 0.029},
            "random_image_train": {1: 0.088, 5: 0.059, 10: 0.031, 15: 0.015},
            "random_label_train": {1: 0.089, 5: 0.074, 10: 0.057, 15: 0.044},
            "random_image_test": {1: 0.092, 5: 0.13, 10: 0.147, 15: 0.150},
            "random_label_test": {1: 0.092, 5: 0.11, 10: 0.13, 15: 0.139},
        },
        "fmnist": {
            "natural_train": {1: 0.033, 5: 0.017, 10: 0.010, 15: 0.009},
            "natural_test": {1: 0.037, 5: 0.046, 10: 0.055, 15: 0.057},
            "random_image_train": {1: 0.088, 5: 0.059, 10: 0.031, 15: 0.015},
            "random_label_train": {1: 0.089, 5: 0.069, 10: 0.048, 15: 0.035},
            "random_image_test": {1: 0.092, 5: 0.13, 10: 0.145, 15: 0.15},
            "random_label_test": {1: 0.092, 5: 0.13, 10: 0.145, 15: 0.15},
        },
    },
}
