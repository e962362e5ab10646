import copy

import pytest
import yaml

from impreg.config import ConfigError, load_config, validate_config

SCALES = ["config", "quick", "smoke"]


@pytest.fixture
def schema(root):
    return root / "config" / "schema.yaml"


@pytest.fixture
def smoke(root):
    return yaml.safe_load((root / "config" / "smoke.yaml").read_text())


@pytest.mark.parametrize("name", SCALES)
def test_every_preset_validates(root, schema, name):
    config = load_config(root / "config" / f"{name}.yaml", schema)
    assert config["tf_dynamics"]["claims"]["negligible_norm"] > 0


def test_every_schema_key_has_description_and_default(schema):
    def walk(node, path):
        for key, sub in node.get("properties", {}).items():
            assert "description" in sub, f"{path}{key} lacks a description"
            assert "default" in sub, f"{path}{key} lacks a default"
            walk(sub, f"{path}{key}.")

    walk(yaml.safe_load(schema.read_text()), "")


def test_empty_config_gets_paper_defaults(schema):
    config = validate_config({}, schema)
    assert config["tf_dynamics"]["num_components"] == 1000
    assert config["tf_dynamics"]["init_stds"] == [0.05, 0.01, 0.005]


def _error(config, schema):
    with pytest.raises(ConfigError) as info:
        validate_config(config, schema)
    return str(info.value)


# One test per kind of bad setting; each message must name the key, the value and the rule broken.


def test_unknown_key_is_named(smoke, schema):
    smoke["tf_dynamics"]["learning_rate"] = 0.1
    msg = _error(smoke, schema)
    assert "'learning_rate'" in msg and "under 'tf_dynamics'" in msg  # the key
    assert "'learning_rate': 0.1" in msg  # the value
    assert "additionalProperties: false" in msg and "allowed keys: alpha," in msg  # the rule


def test_out_of_range_value_names_key_value_and_rule(smoke, schema):
    smoke["tf_dynamics"]["lr"] = -0.5
    msg = _error(smoke, schema)
    assert "config key 'tf_dynamics.lr': value -0.5 breaks the rule 'exclusiveMinimum: 0'" in msg


def test_wrong_type_is_named(smoke, schema):
    smoke["tf_dynamics"]["seeds"] = "0,1"
    msg = _error(smoke, schema)
    assert "config key 'tf_dynamics.seeds': value '0,1' breaks the rule 'type: array'" in msg


def test_value_outside_an_enumeration_is_named(smoke, schema):
    smoke["tf_dynamics"]["dtype"] = "float16"
    msg = _error(smoke, schema)
    assert (
        "config key 'tf_dynamics.dtype': value 'float16' breaks the rule 'enum: ['float32', 'float64']'"
        in msg
    )


def test_inconsistent_combination_is_named(smoke, schema):
    bad = copy.deepcopy(smoke)
    bad["tf_dynamics"]["num_observations"] = 10_000  # more than 4^3 entries
    msg = _error(bad, schema)
    assert (
        "config key 'tf_dynamics.num_observations': value 10000 breaks the rule 'at most mode_dim ** order"
        in msg
    )
    bad = copy.deepcopy(smoke)
    bad["tf_dynamics"]["figure_seed"] = 9
    msg = _error(bad, schema)
    assert (
        "config key 'tf_dynamics.figure_seed': value 9 breaks the rule 'must be one of tf_dynamics.seeds"
        in msg
    )


def test_every_problem_is_listed_at_once(smoke, schema):
    smoke["tf_dynamics"]["lr"] = -0.5
    smoke["threads"] = "two"
    smoke["typo"] = 1
    msg = _error(smoke, schema)
    assert "tf_dynamics.lr" in msg and "'threads': value 'two'" in msg and "'typo': 1" in msg


def test_mnist5k_train_subset_is_bounded_by_its_4000_train_images_even_at_stand_in_scale(
    smoke, schema
):
    smoke["rank_complexity"]["datasets"]["mnist5k"]["train_subset"] = (
        4001  # smoke: stand_in, 300 stand-in images
    )
    msg = _error(smoke, schema)
    assert (
        "config key 'rank_complexity.datasets.mnist5k.train_subset': value 4001 breaks the rule "
        "'at most the 4000 train images of mnist5k'"
    ) in msg
    smoke["rank_complexity"]["datasets"]["mnist5k"]["train_subset"] = 4000
    assert (
        validate_config(smoke, schema)["rank_complexity"]["datasets"]["mnist5k"]["train_subset"]
        == 4000
    )


def test_flags_from_mapping_round_trips_through_the_generated_flags():
    import argparse
    import dataclasses

    from impreg.cli_args import add_dataclass_flags, dataclass_from_args, flags_from_mapping

    @dataclasses.dataclass
    class Settings:
        init_std: float = 0.1
        top_k: int = 3
        channels_last: bool = True
        dtype: str = "float64"

    given = {"init_std": 0.005, "top_k": 10, "channels_last": False, "dtype": "float32"}
    text = flags_from_mapping(given)
    assert text == "--init-std 0.005 --top-k 10 --channels-last false --dtype float32"
    parser = argparse.ArgumentParser()
    add_dataclass_flags(parser, Settings)
    assert (
        dataclasses.asdict(dataclass_from_args(Settings, parser.parse_args(text.split()))) == given
    )
    assert flags_from_mapping({"ranks": [1, 2, 3]}) == "--ranks 1 2 3"
