"""Workflow configuration: defaults from the schema, then validation with messages that name
the key, the value and the rule it broke. Needs only the standard library, PyYAML and
jsonschema (Snakemake's own dependencies), so the Snakefile can import it from ``src/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import yaml


class ConfigError(ValueError):
    """The configuration breaks the schema or an internal consistency rule."""


def load_schema(path: str | Path) -> dict:
    with open(path) as fh:
        return yaml.safe_load(fh)


def fill_defaults(config: dict, schema: dict) -> dict:
    """Set every missing key that has a schema default, recursing into objects (in place)."""
    for key, sub in schema.get("properties", {}).items():
        if key not in config and "default" in sub:
            config[key] = _copy(sub["default"])
        if isinstance(config.get(key), dict) and sub.get("type") == "object":
            fill_defaults(config[key], sub)
    return config


def _copy(value: Any) -> Any:
    return yaml.safe_load(yaml.safe_dump(value))


def _format_error(err: jsonschema.ValidationError) -> str:
    key = ".".join(str(p) for p in err.absolute_path) or "<top level>"
    if err.validator == "additionalProperties":
        # the key is the unknown one, its value what was given, the rule the schema's closed key list
        allowed = sorted(err.schema.get("properties", {}))
        unknown = sorted(set(err.instance) - set(allowed))
        where = f" under '{key}'" if err.absolute_path else ""
        given = ", ".join(f"{u!r}: {err.instance[u]!r}" for u in unknown)
        return (
            f"unknown config key(s) {', '.join(repr(u) for u in unknown)}{where}; "
            f"allowed keys: {', '.join(allowed)} (given {{{given}}}; breaks the rule "
            f"'additionalProperties: false': only the schema's keys, a typo is never ignored)"
        )
    if err.validator == "required":
        return f"config key '{key}': {err.message}"
    rule = (
        f"{err.validator}: {err.validator_value!r}"
        if err.validator != "type"
        else f"type: {err.validator_value}"
    )
    return f"config key '{key}': value {err.instance!r} breaks the rule '{rule}' ({err.message})"


def consistency_errors(config: dict) -> list[str]:
    """Rules that span several keys, which a JSON schema cannot express."""
    errors = []
    tfd = config.get("tf_dynamics")
    if isinstance(tfd, dict):
        numel = tfd.get("mode_dim", 0) ** tfd.get("order", 0)
        if tfd.get("num_observations", 0) > numel:
            errors.append(
                f"config key 'tf_dynamics.num_observations': value {tfd['num_observations']} breaks the "
                f"rule 'at most mode_dim ** order = {numel}' (entries are drawn without replacement)"
            )
        if tfd.get("figure_seed") not in tfd.get("seeds", []):
            errors.append(
                f"config key 'tf_dynamics.figure_seed': value {tfd.get('figure_seed')!r} breaks the rule "
                f"'must be one of tf_dynamics.seeds = {tfd.get('seeds')}'"
            )
        if tfd.get("top_k", 0) > (tfd.get("num_components") or 10**9):
            errors.append(
                f"config key 'tf_dynamics.top_k': value {tfd['top_k']} breaks the rule "
                f"'at most num_components = {tfd['num_components']}'"
            )
    errors += _rank_complexity_errors(config.get("rank_complexity"))
    errors += _factorization_dynamics_errors(config)
    return errors


def _rank_complexity_errors(rc: Any) -> list[str]:
    """rank_complexity: a train subset must fit in the train split it is drawn from."""
    errors: list[str] = []
    if not isinstance(rc, dict):
        return errors
    for name, ds in (rc.get("datasets") or {}).items():
        subset = ds.get("train_subset", 0) if isinstance(ds, dict) else 0
        limit = {
            "digits": 1347,
            "mnist": 60000,
            "fmnist": 60000,
            "cifar10": 50000,
            "mnist5k": 4000,
        }.get(name)
        # those two are always real
        stand_in = bool(rc.get("stand_in")) and name not in (
            "digits",
            "mnist5k",
        )
        if stand_in:
            limit = rc.get("stand_in_num_train")
        if subset and limit is not None and subset > limit:
            errors.append(
                f"config key 'rank_complexity.datasets.{name}.train_subset': value {subset} breaks the rule "
                f"'at most the {limit} train images of {name}"
                + (" (stand-in)" if stand_in else "")
                + "'"
            )
    return errors


def _factorization_dynamics_errors(config: dict) -> list[str]:
    """tf_dynamics_variants, incremental_rank, htf_detail: sizes that fit, seeds that exist, valid modes."""
    errors: list[str] = []

    def seed_rule(key: str, seed: Any, seeds: Any, where: str) -> None:
        if seed not in (seeds or []):
            errors.append(
                f"config key '{key}': value {seed!r} breaks the rule 'must be one of {where} = {seeds}'"
            )

    tfv = config.get("tf_dynamics_variants")
    if isinstance(tfv, dict):
        seed_rule(
            "tf_dynamics_variants.figure_seed",
            tfv.get("figure_seed"),
            tfv.get("seeds"),
            "tf_dynamics_variants.seeds",
        )
        for name, v in (tfv.get("variants") or {}).items():
            if not isinstance(v, dict):
                continue
            numel = v.get("mode_dim", 0) ** v.get("order", 0)
            if v.get("task") == "completion" and v.get("num_observations", 0) > numel:
                errors.append(
                    f"config key 'tf_dynamics_variants.variants.{name}.num_observations': value "
                    f"{v['num_observations']} breaks the rule 'at most mode_dim ** order = {numel}' "
                    f"(entries are drawn without replacement)"
                )
            if tfv.get("top_k", 0) > v.get("num_components", 10**9):
                errors.append(
                    f"config key 'tf_dynamics_variants.top_k': value {tfv['top_k']} breaks the rule "
                    f"'at most variants.{name}.num_components = {v['num_components']}'"
                )
    irk = config.get("incremental_rank")
    if isinstance(irk, dict):
        seed_rule(
            "incremental_rank.figure_seed",
            irk.get("figure_seed"),
            irk.get("seeds"),
            "incremental_rank.seeds",
        )
        htd = config.get("htf_detail")
        if isinstance(htd, dict):
            seed_rule(
                "htf_detail.figure_seed",
                htd.get("figure_seed"),
                irk.get("seeds"),
                "incremental_rank.seeds",
            )
        sizes = {
            "mf": (irk.get("mf") or {}).get("dim", 0) ** 2,
            "tf": (irk.get("tf") or {}).get("mode_dim", 0) ** (irk.get("tf") or {}).get("order", 0),
            "htf": (irk.get("htf") or {}).get("mode_dim", 0)
            ** (irk.get("htf") or {}).get("order", 0),
        }
        for model, numel in sizes.items():
            if irk.get("num_observations", 0) > numel:
                errors.append(
                    f"config key 'incremental_rank.num_observations': value {irk['num_observations']} "
                    f"breaks the rule 'at most the {numel} entries of the {model} target' "
                    f"(entries are drawn without replacement)"
                )
        htf = irk.get("htf") or {}
        order = htf.get("order", 0)
        for part in filter(
            None, (x.strip() for x in str(htf.get("extra_matricizations", "")).split(";"))
        ):
            try:
                modes = [int(m) for m in part.split("-")]
            except ValueError:
                modes = []
            if (
                not modes
                or len(set(modes)) != len(modes)
                or not all(0 <= m < order for m in modes)
                or len(modes) >= order
            ):
                errors.append(
                    f"config key 'incremental_rank.htf.extra_matricizations': value {part!r} breaks the rule "
                    f"'distinct 0-based modes below order = {order}, fewer than all, joined by -'"
                )
    return errors


def validate_config(config: dict, schema_path: str | Path) -> dict:
    """Fill defaults and validate in place; raise ConfigError listing every problem."""
    schema = load_schema(schema_path)
    fill_defaults(config, schema)
    validator = jsonschema.Draft7Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    messages = [_format_error(e) for e in errors]
    if not messages:
        messages = consistency_errors(config)
    if messages:
        raise ConfigError("invalid configuration:\n  - " + "\n  - ".join(messages))
    return config


def read_config_file(path: str | Path) -> dict:
    """A YAML config file as a mapping; an error naming the file (and where in it) when it is not one."""
    try:
        with open(path) as fh:
            config = yaml.safe_load(fh) or {}
    except OSError as err:
        raise ConfigError(f"config file {path} cannot be read ({err.strerror})") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err)
        raise ConfigError(
            f"config file {path} is not valid YAML{where}: {problem} (indent with spaces, "
            "not tabs; quote values that hold a colon)"
        ) from None
    if not isinstance(config, dict):
        raise ConfigError(
            f"config file {path} must hold a mapping of keys to values, not a {type(config).__name__}"
        )
    return config


def merged(base: dict, override: dict) -> dict:
    """``override`` over ``base``, mappings merged key by key, as Snakemake merges --configfile files."""
    out = dict(base)
    for key, value in override.items():
        out[key] = (
            merged(out[key], value)
            if isinstance(value, dict) and isinstance(out.get(key), dict)
            else value
        )
    return out


def load_config(path: str | Path, schema_path: str | Path, *more: str | Path) -> dict:
    """Read YAML config files (``more`` over ``path``, in order) and validate the result."""
    config: dict = {}
    for p in (path, *more):
        config = merged(config, read_config_file(p))
    try:
        return validate_config(config, schema_path)
    except ConfigError as err:
        raise ConfigError(f"{' + '.join(map(str, (path, *more)))}: {err}") from None
