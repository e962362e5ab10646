"""Defaults have three homes: config/schema.yaml (the paper scale), the experiments' config
dataclasses, and the CLI's flags. The rules pass every setting they control, so a drift never
changes a workflow run, but it changes what a direct CLI call or a test does, and what a reader
takes the default to be. These tests keep the three in step; a default that differs on purpose is
listed in EXCEPTIONS with its reason.
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
from impreg.train.incremental_rank import IncrementalRankConfig
from impreg.train.locality import LocalityConfig
from impreg.train.rank_complexity import RankComplexityConfig
from impreg.train.tf_dynamics import TFDynamicsConfig

# what an empty config becomes: every default of the schema
SCHEMA_DEFAULTS = fill_defaults({}, load_schema(ROOT / "config" / "schema.yaml"))
VARIANTS = ("order3", "huber", "sensing")
IRK_MODELS = ("mf", "tf", "htf")
RC_DATASETS = ("mnist", "fmnist", "cifar10", "digits", "mnist5k")


def _keys(section: str, names: tuple[str, ...]) -> list[tuple[str, str]]:
    """(field, config key) pairs for fields spelled as their config keys."""
    return [(name, f"{section}.{name}") for name in names]


# Per dataclass: (field, config key) for each config key whose value the rules pass as the field's flag
# (workflow/rules/*.smk, workflow/dynamics_rules.py); one field may take several keys (one per model).
SCHEMA_KEYS: dict[type, list[tuple[str, str]]] = {
    TFDynamicsConfig: [
        *_keys("tf_dynamics", ("num_components", "lr", "alpha", "eps", "stop_loss", "stop_patience",
                               "max_iterations", "log_every", "top_k", "dtype")),
        *_keys("tf_dynamics_variants", ("lr", "alpha", "eps", "stop_patience", "max_iterations", "log_every",
                                        "top_k", "dtype")),
        *[pair for v in VARIANTS for pair in _keys(f"tf_dynamics_variants.variants.{v}",
                                                   ("num_components", "loss", "huber_delta", "stop_loss"))],
        ("device", "device"),
    ],
    IncrementalRankConfig: [
        *_keys("incremental_rank", ("lr", "alpha", "eps", "stop_loss", "stop_validations", "log_every", "top_k",
                                    "dtype", "checkpoint_every")),
        *[pair for m in IRK_MODELS for pair in _keys(f"incremental_rank.{m}", ("init_std", "max_iterations"))],
        ("depth", "incremental_rank.mf.depth"),
        ("mf_width", "incremental_rank.mf.width"),
        ("num_components", "incremental_rank.tf.num_components"),
        ("htf_width", "incremental_rank.htf.width"),
        *_keys("incremental_rank.htf", ("pool_pattern", "extra_matricizations", "rank_rel_tol")),
        ("device", "device"),
    ],
    RankComplexityConfig: [
        *[pair for d in RC_DATASETS for pair in _keys(f"rank_complexity.datasets.{d}",
                                                      ("ranks", "seeds", "epochs", "batch_size", "lr"))],
        *_keys("rank_complexity", ("init_mean", "init_std", "max_test_sample_loss", "eval_every",
                                   "checkpoint_every")),
        ("device", "device"),
    ],
    LocalityConfig: [
        ("arch", "locality.figures.locality.arch"),
        ("width", "locality.width"),
        *_keys("locality.train", ("lr", "momentum", "batch_size", "max_epochs", "patience", "penalty_batch",
                                  "probe_size", "eval_batch_size",
                                  "amp", "channels_last")),
        *_keys("locality.is_same_class", ("num_train", "num_test", "canvas_width", "canvas_height")),
        *_keys("locality.pathfinder", ("patch_size", "reg_distance", "test_fraction", "split_seed")),
        ("threads", "threads"),
        ("device", "device"),
    ],
    # the data generators' settings
    TensorizeConfig: [*[("positive_class", f"rank_complexity.datasets.{d}.positive_class") for d in RC_DATASETS],
                      ("seed", "rank_complexity.data_seed")],
    PathfinderConfig: _keys("locality.pathfinder", ("window", "output_size", "geometry_scale",
                                                         "paddle_thickness")),
}

# Training fields without a schema default of their own: set per run from a list in the config (the
# run's wildcards), or left at the dataclass default by the rules.
PER_RUN_OR_UNSET: dict[type, dict[str, str]] = {
    TFDynamicsConfig: {"init_std": "one run per entry of init_stds", "seed": "one run per entry of seeds",
                       "checkpoint_every": "not passed by the rules"},
    IncrementalRankConfig: {"model": "one run per model (mf, tf, htf)", "seed": "one run per entry of seeds"},
    RankComplexityConfig: {"eval_batch_size": "memory only, not passed by the rules",
                           "dtype": "not passed by the rules"},
    LocalityConfig: {"task": "one run per task", "x": "one run per distance or path length",
                     "lam": "one run per entry of lambdas", "seed": "one run per entry of the figure's seeds",
                     "keep_checkpoint": "not passed by the rules"},
}

# The make-data commands' flags, which no dataclass holds: (flag's dest, config key) per command.
FLAG_KEYS: dict[str, list[tuple[str, str]]] = {
    "tf-dynamics": [("order", "tf_dynamics.order"), ("mode_dim", "tf_dynamics.mode_dim"),
                    ("rank", "tf_dynamics.target_rank"), ("fro_norm", "tf_dynamics.target_fro_norm"),
                    ("num_observations", "tf_dynamics.num_observations")],
    "tf-sensing": [("order", "tf_dynamics_variants.variants.sensing.order"),
                   ("mode_dim", "tf_dynamics_variants.variants.sensing.mode_dim"),
                   ("rank", "tf_dynamics_variants.variants.sensing.target_rank"),
                   ("fro_norm", "tf_dynamics_variants.target_fro_norm"),
                   ("num_observations", "tf_dynamics_variants.variants.sensing.num_observations")],
    # --ranks is left out: the rule passes one width (target_rank) for every layer, the flag spells each
    "ht-completion": [("order", "incremental_rank.htf.order"), ("mode_dim", "incremental_rank.htf.mode_dim"),
                      ("pattern", "incremental_rank.htf.pool_pattern"),
                      ("fro_norm", "incremental_rank.target_fro_norm"),
                      ("num_observations", "incremental_rank.num_observations")],
    "stand-in-images": [("seed", "rank_complexity.data_seed"), ("num_train", "rank_complexity.stand_in_num_train"),
                        ("num_test", "rank_complexity.stand_in_num_test")],
}
# the flags each command requires, with any value
REQUIRED = {
    ("make-data", "tf-dynamics"): ["--out", "x"], ("make-data", "tf-sensing"): ["--out", "x"],
    ("make-data", "ht-completion"): ["--out", "x"], ("make-data", "stand-in-images"): ["--out-dir", "x"],
    ("make-data", "pathfinder"): ["--path-length", "9", "--num-samples", "4", "--out", "x"],
    ("make-data", "rank-complexity"): ["--dataset", "digits", "--out", "x"],
    ("train", "tf-dynamics"): ["--data", "x", "--out-dir", "y"],
    ("train", "tf-sensing"): ["--data", "x", "--out-dir", "y"],
    ("train", "incremental-rank"): ["--data", "x", "--out-dir", "y"],
    ("train", "rank-complexity"): ["--data", "x", "--out-dir", "y"],
    ("train", "locality"): ["--data", "x", "--out-dir", "y", "--task", "pathfinder", "--x", "9", "--lam", "0",
                            "--seed", "0"],
}

# (dataclass or make-data command, field or flag, config key) -> why the defaults differ on purpose
EXCEPTIONS: dict[tuple[str, str, str], str] = {
    ("TFDynamicsConfig", "dtype", "tf_dynamics_variants.dtype"):
        "the variants' settings are not the paper's (the spec marks them unverified) and run in float64; "
        "the dataclass holds Figure 3's float32",
    ("TFDynamicsConfig", "num_components", "tf_dynamics_variants.variants.order3.num_components"):
        "order 3: the maximal rank of a 10^3 tensor, 100, where Figure 3 has 1000 for 10^4",
    ("TFDynamicsConfig", "stop_loss", "tf_dynamics_variants.variants.order3.stop_loss"):
        "order 3: Figure 3's 1e-8 relative to the mean squared entry, 10x larger",
    ("TFDynamicsConfig", "loss", "tf_dynamics_variants.variants.huber.loss"): "the Huber variant's own loss",
    ("TFDynamicsConfig", "huber_delta", "tf_dynamics_variants.variants.huber.huber_delta"):
        "the Huber variant's threshold, half the target's root-mean-square entry (1 would make it Figure 3)",
    ("TFDynamicsConfig", "stop_loss", "tf_dynamics_variants.variants.huber.stop_loss"):
        "the Huber loss's counterpart of 1e-8 in its quadratic zone",
    ("IncrementalRankConfig", "init_std", "incremental_rank.htf.init_std"):
        "one field for three models: the default is the matrix and CP models' init (the paper's 1e-3), the "
        "hierarchical model's is the paper's 1e-2",
    **{("IncrementalRankConfig", "max_iterations", f"incremental_rank.{m}.max_iterations"):
       "the dataclass holds P2's cap of 500000; the schema caps each model lower (see paper_settings)"
       for m in IRK_MODELS},
    ("LocalityConfig", "threads", "threads"):
        "the rule passes its job's threads; the dataclass's 0 leaves torch's own default to a direct call",
    ("ht-completion", "mode_dim", "incremental_rank.htf.mode_dim"):
        "the flag holds the paper's mode dimension 16; the schema's 8 is explained in paper_settings",
}


def schema_default(key: str) -> Any:
    value = SCHEMA_DEFAULTS
    for part in key.split("."):
        value = value[part]
    return value


def _plain(value: Any) -> Any:
    """Tuples (dataclass defaults) compare equal to lists (YAML, argparse)."""
    return list(value) if isinstance(value, tuple) else value


def _dataclass_pairs() -> list[tuple[str, str, str, object]]:
    return [(cls.__name__, name, key, cls()) for cls, pairs in SCHEMA_KEYS.items() for name, key in pairs]


def _flag_pairs() -> list[tuple[str, str, str]]:
    return [(command, dest, key) for command, pairs in FLAG_KEYS.items() for dest, key in pairs]


def _parse(group: str, command: str) -> argparse.Namespace:
    return build_parser().parse_args([group, command, *REQUIRED[(group, command)]])


def _agree(pair: tuple[str, str, str], value: Any) -> None:
    """Equal defaults, or a listed exception whose defaults still differ (else it is stale: delete it)."""
    if pair in EXCEPTIONS:
        assert value != schema_default(pair[2]), f"stale exception, the defaults agree: {pair}"
    else:
        assert value == schema_default(pair[2])


@pytest.mark.parametrize(("owner", "field", "key", "instance"), _dataclass_pairs(),
                         ids=[f"{o}.{f}={k}" for o, f, k, _ in _dataclass_pairs()])
def test_dataclass_defaults_are_the_schema_defaults(owner, field, key, instance):
    _agree((owner, field, key), _plain(getattr(instance, field)))


@pytest.mark.parametrize(("command", "dest", "key"), _flag_pairs(), ids=[f"{c}.{d}={k}" for c, d, k in _flag_pairs()])
def test_make_data_flag_defaults_are_the_schema_defaults(command, dest, key):
    _agree((command, dest, key), getattr(_parse("make-data", command), dest))


def test_every_exception_names_a_compared_pair():
    compared = {(o, f, k) for o, f, k, _ in _dataclass_pairs()} | set(_flag_pairs())
    assert sorted(set(EXCEPTIONS) - compared) == []


@pytest.mark.parametrize("cls", list(PER_RUN_OR_UNSET), ids=lambda c: c.__name__)
def test_every_training_field_is_compared_or_set_per_run(cls):
    """A new field needs a decision: map it to its config key, or say why it has none."""
    mapped = {name for name, _ in SCHEMA_KEYS[cls]}
    fields = {f.name for f in dataclasses.fields(cls)}
    assert fields - mapped - set(PER_RUN_OR_UNSET[cls]) == set()
    assert not mapped & set(PER_RUN_OR_UNSET[cls])


@pytest.mark.parametrize(("command", "cls"), [("tf-dynamics", TFDynamicsConfig), ("tf-sensing", TFDynamicsConfig),
                                              ("incremental-rank", IncrementalRankConfig),
                                              ("rank-complexity", RankComplexityConfig),
                                              ("locality", LocalityConfig)])
def test_train_flags_default_to_the_dataclass(command, cls):
    """A setting flag holds no default of its own: what a command runs with, unless told, is the dataclass."""
    args, required = _parse("train", command), REQUIRED[("train", command)]
    given = {flag[2:].replace("-", "_") for flag in required if flag.startswith("--")}
    cfg = dataclass_from_args(cls, args)
    defaults = cls()
    for f in dataclasses.fields(cls):
        if f.name not in given:
            assert _plain(getattr(cfg, f.name)) == _plain(getattr(defaults, f.name)), f.name


@pytest.mark.parametrize(("command", "cls", "names"), [
    ("pathfinder", PathfinderConfig, ("window", "output_size", "geometry_scale", "paddle_thickness")),
    ("rank-complexity", TensorizeConfig, ("positive_class", "control", "seed")),
])
def test_make_data_flags_default_to_the_data_config(command, cls, names):
    args, defaults = _parse("make-data", command), cls()
    assert {n: getattr(args, n) for n in names} == {n: getattr(defaults, n) for n in names}
