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
