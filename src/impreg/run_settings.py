"""A run's settings: one dataclass per experiment lists them (type, default, rule, and the comment
that documents each), and everything else is derived from that list.

- The config file sets a field by naming it in one of the sections the experiment reads
  (:func:`pick`), so the workflow passes a run's settings through as one mapping without naming any.
- The command line takes that mapping as ``--settings JSON`` (or ``@file.json``) and checks its keys
  against the dataclass (:func:`settings_from_text`); a flag given beside it wins.
- summary.json records the resolved dataclass once, under ``settings``.

Why the dataclass and not the config schema: a run is also made without the workflow (the command
line by hand, the library, the harness's tests), and each of those sees the dataclass, not the
schema; the schema's sections follow the config's layout, where one setting may be set at several
levels (a locality run reads the top level, ``locality``, ``locality.train`` and its task's
section), not one run's fields. The schema keeps what only the config has: its layout, the
figure and claim settings, and the description users read. tests/test_defaults_agree.py checks
that the schema's defaults give every paper-scale run its dataclass defaults, save listed exceptions.

Needs only the standard library, so that the Snakefile can import the experiments' settings
without torch.
"""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
import re
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any, NamedTuple

# the floating-point types a run may compute in (impreg.train.common maps them to torch's)
DTYPE_NAMES = ("float32", "float64")

# A setting's rule: what a value must satisfy, and how the error says it (after "must be").
Rule = tuple[Callable[[Any], bool], str]


def _number(test: Callable[[float], bool]) -> Callable[[Any], bool]:
    return lambda v: (
        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and test(v)
    )


POSITIVE: Rule = (_number(lambda v: v > 0), "a finite number > 0")
NON_NEGATIVE: Rule = (_number(lambda v: v >= 0), "a finite number >= 0")
AT_LEAST_ONE: Rule = (_number(lambda v: v >= 1), ">= 1")
FRACTION: Rule = (_number(lambda v: 0 <= v < 1), "in [0, 1)")
DEVICE: Rule = (
    lambda v: isinstance(v, str) and re.fullmatch(r"auto|cpu|cuda(:\d+)?", v) is not None,
    "auto, cpu, cuda or cuda:N",
)


def one_of(options: Collection[str]) -> Rule:
    return (lambda v: v in options, f"one of {', '.join(options)}")


def is_integer(value: Any) -> bool:
    """An integer, or a float with an integer value (YAML and JSON may write 5 as 5.0); not a bool."""
    return (
        isinstance(value, numbers.Integral)
        and not isinstance(value, bool)
        or isinstance(value, float)
        and value.is_integer()
    )


# the settings that every factorization-dynamics run shares (tf_dynamics, incremental_rank): the
# normalized RMSprop step, the loop and its records
DYNAMICS_RULES: dict[str, Rule] = {
    "init_std": POSITIVE,
    "lr": POSITIVE,
    "alpha": FRACTION,
    "eps": NON_NEGATIVE,
    "stop_loss": NON_NEGATIVE,
    "max_iterations": AT_LEAST_ONE,
    "log_every": AT_LEAST_ONE,
    "top_k": AT_LEAST_ONE,
    "seed": NON_NEGATIVE,
    "device": DEVICE,
    "dtype": one_of(DTYPE_NAMES),
    "checkpoint_every": NON_NEGATIVE,
}


def check_settings(cfg: Any, rules: dict[str, Rule]) -> None:
    """Raise ValueError ``<Config>.<field> must be <rule>, got <value>`` for the first field that
    breaks its rule (the command line turns it into an error on the field's flag)."""
    for name, (ok, requirement) in rules.items():
        value = getattr(cfg, name)
        if not ok(value):
            raise ValueError(f"{type(cfg).__name__}.{name} must be {requirement}, got {value!r}")


class Run(NamedTuple):
    """One run a config asks for: the data file it reads (relative to the scale's results folder),
    its settings (the mapping its train command takes as ``--settings``) and that command
    (``impreg train <command>``)."""

    data: str
    settings: dict[str, Any]
    command: str


def name_float(x: float) -> str:
    """Run names spell floats the way the papers do (0.005, 0.01, 0.05; lambda 0, 1, 3)."""
    return f"{x:g}"


# -- one mapping per run ---------------------------------------------------------------------------


def setting_names(cls: type) -> tuple[str, ...]:
    """The fields of a settings dataclass that a run's mapping carries: all but those the job itself
    decides (``FROM_THE_JOB``, such as the threads Snakemake gives it)."""
    job = set(getattr(cls, "FROM_THE_JOB", ()))
    return tuple(f.name for f in dataclasses.fields(cls) if f.name not in job)


def pick(cls: type, *sections: Mapping[str, Any], **identity: Any) -> dict[str, Any]:
    """A run's settings: every field of ``cls`` that a config section sets (a later section wins)
    to other than its dataclass default, then ``identity``, the values that tell the run apart from
    its figure's other runs (its seed, its point on the figure's grid). Keys of a section that are
    no field (a grid, a data setting) are not the run's. So a setting added with its default (the
    dataclass field and its schema entry) changes no run's mapping, and reruns nothing."""
    names = setting_names(cls)
    unknown = sorted(set(identity) - set(names))
    if unknown:
        raise ValueError(f"{cls.__name__} has no setting {', '.join(unknown)}")
    defaults = field_defaults(cls)
    settings: dict[str, Any] = {}
    for section in sections:
        settings.update({name: section[name] for name in names if name in section})
    changed = {
        k: v for k, v in settings.items() if k not in defaults or _plain(v) != _plain(defaults[k])
    }
    return changed | identity


def field_defaults(cls: type) -> dict[str, Any]:
    """The default of every field of a settings dataclass that has one."""
    out = {}
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            out[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            out[f.name] = f.default_factory()
    return out


def _plain(value: Any) -> Any:
    """Tuples (dataclass defaults) equal lists (YAML); 1 equals 1.0, as the dataclass reads them."""
    return list(value) if isinstance(value, tuple) else value


def settings_text(settings: Mapping[str, Any]) -> str:
    """The mapping as the one ``--settings`` argument (compact JSON, keys in field order)."""
    return json.dumps(dict(settings), separators=(",", ":"))


def settings_from_text(cls: type, text: str) -> dict[str, Any]:
    """``--settings``: a JSON object (or ``@path`` to a JSON file) whose keys are fields of ``cls``.
    Raises ValueError naming an unknown key and the settings there are; the values are checked by
    the dataclass's own rules when it is built."""
    if text.startswith("@"):
        try:
            text = Path(text[1:]).read_text()
        except OSError as err:
            raise ValueError(
                f"argument --settings: cannot read the settings file {text[1:]}: {err.strerror}"
            ) from None
    try:
        settings = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(
            f"argument --settings: not a JSON object: {err.msg} at character {err.pos}"
        ) from None
    if not isinstance(settings, dict):
        raise ValueError(f"argument --settings: not a JSON object of settings: {text[:60]!r}")
    names = setting_names(cls)
    unknown = [key for key in settings if key not in names]
    if unknown:
        raise ValueError(
            f"argument --settings: {', '.join(repr(k) for k in unknown)} "
            f"{'is' if len(unknown) == 1 else 'are'} not a setting of this run; its settings are "
            f"{', '.join(names)}"
        )
    return settings
