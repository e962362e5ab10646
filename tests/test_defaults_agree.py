"""A run's settings have one list, its experiment's dataclass; the config (config/schema.yaml's
defaults are the paper scale) gives a run the values it differs in. A drift between the two never
changes a workflow run, but it changes what a direct CLI call or a test does, and what a reader
takes the default to be. These tests keep them in step over every run the paper-scale defaults ask
for, and the data commands' flags with theirs; a value that differs on purpose is listed in
EXCEPTIONS with its reason.
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

import pytest

from helpers import ROOT
from impreg.cli import build_parser
from impreg.cli_args import dataclass_from_args
from impreg.config import fill_defaults, load_schema
from impreg.data.pathfinder import PathfinderConfig
from impreg.data.tensorize import TensorizeConfig
from impreg.experiments import incremental_rank, locality, rank_complexity, tf_dynamics
from impreg.experiments.incremental_rank import IncrementalRankConfig
from impreg.experiments.locality import LocalityConfig
from impreg.experiments.rank_complexity import RankComplexityConfig
from impreg.experiments.tf_dynamics import TFDynamicsConfig

# what an empty config becomes: every default of the schema
SCHEMA_DEFAULTS = fill_defaults({}, load_schema(ROOT / "config" / "schema.yaml"))
RC_DATASETS = ("mnist", "fmnist", "cifar10", "digits", "mnist5k")


# Every run that an empty config (the schema's defaults: the paper scale) asks for, with the settings
# the workflow passes it (impreg.experiments): experiment -> (its dataclass, its listing of runs).
LISTINGS = {
    "tf_dynamics": (TFDynamicsConfig, tf_dynamics.figure3_runs),
    "tf_dynamics_variants": (TFDynamicsConfig, tf_dynamics.variant_runs),
    "incremental_rank": (IncrementalRankConfig, incremental_rank.runs),
    "rank_complexity": (RankComplexityConfig, rank_complexity.runs),
    "locality": (LocalityConfig, locality.runs),
}
# The settings that tell a figure's runs apart: their values are the figure's grid, not defaults.
GRID = {
    "tf_dynamics": {"init_std", "seed"},
    "tf_dynamics_variants": {"init_std", "seed"},
    "incremental_rank": {"model", "seed"},
    "rank_complexity": set(),
    "locality": {"task", "arch", "x", "lam", "seed"},
}


def _run_settings() -> dict[tuple[str, str], dict[str, Any]]:
    """(experiment, setting) -> run -> the value the config gives it, for every setting but the grid's."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for experiment, (_, listing) in LISTINGS.items():
        for name, run in listing(SCHEMA_DEFAULTS).items():
            for key, value in run.settings.items():
                if key not in GRID[experiment]:
                    out.setdefault((experiment, key), {})[name] = value
    return out


RUN_SETTINGS = _run_settings()


# The make-data commands' flags, which no dataclass holds: (flag's dest, config key) per command.
FLAG_KEYS: dict[str, list[tuple[str, str]]] = {
    "tf-dynamics": [
        ("order", "tf_dynamics.order"),
        ("mode_dim", "tf_dynamics.mode_dim"),
        ("rank", "tf_dynamics.target_rank"),
        ("fro_norm", "tf_dynamics.target_fro_norm"),
        ("num_observations", "tf_dynamics.num_observations"),
    ],
    "tf-sensing": [
        ("order", "tf_dynamics_variants.variants.sensing.order"),
        ("mode_dim", "tf_dynamics_variants.variants.sensing.mode_dim"),
        ("rank", "tf_dynamics_variants.variants.sensing.target_rank"),
        ("fro_norm", "tf_dynamics_variants.target_fro_norm"),
        ("num_observations", "tf_dynamics_variants.variants.sensing.num_observations"),
    ],
    # --ranks is left out: the rule passes one width (target_rank) for every layer, the flag spells each
    "ht-completion": [
        ("order", "incremental_rank.htf.order"),
        ("mode_dim", "incremental_rank.htf.mode_dim"),
        ("pattern", "incremental_rank.htf.pool_pattern"),
        ("fro_norm", "incremental_rank.target_fro_norm"),
        ("num_observations", "incremental_rank.num_observations"),
    ],
    "stand-in-images": [
        ("seed", "rank_complexity.data_seed"),
        ("num_train", "rank_complexity.stand_in_num_train"),
        ("num_test", "rank_complexity.stand_in_num_test"),
    ],
}
# the flags each command requires, with any value
REQUIRED = {
    ("make-data", "tf-dynamics"): ["--out", "x"],
    ("make-data", "tf-sensing"): ["--out", "x"],
    ("make-data", "ht-completion"): ["--out", "x"],
    ("make-data", "stand-in-images"): ["--out-dir", "x"],
    ("make-data", "pathfinder"): ["--path-length", "9", "--num-samples", "4", "--out", "x"],
    ("make-data", "rank-complexity"): ["--dataset", "digits", "--out", "x"],
    ("train", "tf-dynamics"): ["--data", "x", "--out-dir", "y"],
    ("train", "tf-sensing"): ["--data", "x", "--out-dir", "y"],
    ("train", "incremental-rank"): ["--data", "x", "--out-dir", "y"],
    ("train", "rank-complexity"): ["--data", "x", "--out-dir", "y"],
    ("train", "locality"): [
        "--data",
        "x",
        "--out-dir",
        "y",
        "--task",
        "pathfinder",
        "--x",
        "9",
        "--lam",
        "0",
        "--seed",
        "0",
    ],
}

# (experiment, setting, the runs it holds for: a run-name prefix, "" for all) -> why the config's
# value differs from the dataclass default on purpose
EXCEPTIONS: dict[tuple[str, str, str], str] = {
    (
        "tf_dynamics_variants",
        "dtype",
        "",
    ): "the variants' settings are not the paper's (the spec marks them unverified) and run in float64; "
    "the dataclass holds Figure 3's float32",
    (
        "tf_dynamics_variants",
        "num_components",
        "order3_",
    ): "order 3: the maximal rank of a 10^3 tensor, 100, where Figure 3 has 1000 for 10^4",
    (
        "tf_dynamics_variants",
        "stop_loss",
        "order3_",
    ): "order 3: Figure 3's 1e-8 relative to the mean squared entry, 10x larger",
    ("tf_dynamics_variants", "loss", "huber_"): "the Huber variant's own loss",
    (
        "tf_dynamics_variants",
        "huber_delta",
        "huber_",
    ): "the Huber variant's threshold, half the target's root-mean-square entry (1 would make it Figure 3)",
    (
        "tf_dynamics_variants",
        "stop_loss",
        "huber_",
    ): "the Huber loss's counterpart of 1e-8 in its quadratic zone",
    (
        "incremental_rank",
        "init_std",
        "htf_",
    ): "one field for three models: the default is the matrix and CP models' init (the paper's 1e-3), the "
    "hierarchical model's is the paper's 1e-2",
    (
        "incremental_rank",
        "max_iterations",
        "",
    ): "the dataclass holds P2's cap of 500000; the schema caps each model lower (see paper_settings)",
}
# (make-data command, flag, config key) -> why the defaults differ on purpose
FLAG_EXCEPTIONS: dict[tuple[str, str, str], str] = {
    (
        "ht-completion",
        "mode_dim",
        "incremental_rank.htf.mode_dim",
    ): "the flag holds the paper's mode dimension 16; the schema's 8 is explained in paper_settings",
}


def schema_default(key: str) -> Any:
    value = SCHEMA_DEFAULTS
    for part in key.split("."):
        value = value[part]
    return value


def _plain(value: Any) -> Any:
    """Tuples (dataclass defaults) compare equal to lists (YAML, argparse)."""
    return list(value) if isinstance(value, tuple) else value


def _flag_pairs() -> list[tuple[str, str, str]]:
    return [(command, dest, key) for command, pairs in FLAG_KEYS.items() for dest, key in pairs]


def _parse(group: str, command: str) -> argparse.Namespace:
    return build_parser().parse_args([group, command, *REQUIRED[(group, command)]])


def _exception(experiment: str, run: str, setting: str) -> str | None:
    return next(
        (
            why
            for (e, k, prefix), why in EXCEPTIONS.items()
            if (e, k) == (experiment, setting) and run.startswith(prefix)
        ),
        None,
    )


@pytest.mark.parametrize(
    ("experiment", "setting"), list(RUN_SETTINGS), ids=[f"{e}.{k}" for e, k in RUN_SETTINGS]
)
def test_the_settings_runs_are_given_are_their_dataclass_defaults(experiment, setting):
    """A run is given only the values that differ from its dataclass defaults (impreg.run_settings.pick),
    so each such value must be a listed exception (and one that still differs: else it is stale)."""
    default = _plain(getattr(LISTINGS[experiment][0](), setting))
    for run, value in RUN_SETTINGS[experiment, setting].items():
        if _exception(experiment, run, setting):
            assert _plain(value) != default, (
                f"stale exception, the values agree: {setting} of {run}"
            )
        else:
            assert _plain(value) == default, run


def test_every_exception_holds_for_some_run():
    used = {
        (e, k, prefix)
        for (e, k), runs in RUN_SETTINGS.items()
        for (e2, k2, prefix) in EXCEPTIONS
        if (e, k) == (e2, k2) and any(run.startswith(prefix) for run in runs)
    }
    assert sorted(set(EXCEPTIONS) - used) == []


@pytest.mark.parametrize(
    ("command", "dest", "key"), _flag_pairs(), ids=[f"{c}.{d}={k}" for c, d, k in _flag_pairs()]
)
def test_make_data_flag_defaults_are_the_schema_defaults(command, dest, key):
    value = getattr(_parse("make-data", command), dest)
    if (command, dest, key) in FLAG_EXCEPTIONS:
        assert value != schema_default(key), (
            f"stale exception, the defaults agree: {command} {dest}"
        )
    else:
        assert value == schema_default(key)


def test_every_flag_exception_names_a_compared_pair():
    assert sorted(set(FLAG_EXCEPTIONS) - set(_flag_pairs())) == []


def test_the_data_generators_defaults_are_the_schema_defaults():
    """The data settings the rules pass, which no training dataclass holds."""
    tensorize, pathfinder = TensorizeConfig(), PathfinderConfig()
    assert all(
        schema_default(f"rank_complexity.datasets.{d}.positive_class") == tensorize.positive_class
        for d in RC_DATASETS
    )
    assert schema_default("rank_complexity.data_seed") == tensorize.seed
    for name in ("window", "output_size", "geometry_scale", "paddle_thickness"):
        assert schema_default(f"locality.pathfinder.{name}") == getattr(pathfinder, name), name


@pytest.mark.parametrize(
    ("command", "cls"),
    [
        ("tf-dynamics", TFDynamicsConfig),
        ("tf-sensing", TFDynamicsConfig),
        ("incremental-rank", IncrementalRankConfig),
        ("rank-complexity", RankComplexityConfig),
        ("locality", LocalityConfig),
    ],
)
def test_train_flags_default_to_the_dataclass(command, cls):
    """A setting flag holds no default of its own: what a command runs with, unless told, is the dataclass."""
    args, required = _parse("train", command), REQUIRED[("train", command)]
    given = {flag[2:].replace("-", "_") for flag in required if flag.startswith("--")}
    cfg = dataclass_from_args(cls, args)
    defaults = cls()
    for f in dataclasses.fields(cls):
        if f.name not in given:
            assert _plain(getattr(cfg, f.name)) == _plain(getattr(defaults, f.name)), f.name


@pytest.mark.parametrize(
    ("command", "cls", "names"),
    [
        (
            "pathfinder",
            PathfinderConfig,
            ("window", "output_size", "geometry_scale", "paddle_thickness"),
        ),
        ("rank-complexity", TensorizeConfig, ("positive_class", "control", "seed")),
    ],
)
def test_make_data_flags_default_to_the_data_config(command, cls, names):
    args, defaults = _parse("make-data", command), cls()
    assert {n: getattr(args, n) for n in names} == {n: getattr(defaults, n) for n in names}
