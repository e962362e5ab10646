"""Command-line flags generated from dataclass configs, so the CLI and the configs never drift.

A flag's help is the comment that ends its field's line in the dataclass (the settings are
documented where they are declared), else the GLOSSARY entry of a name several configs share.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import io
import textwrap
import tokenize
from collections.abc import Callable, Collection
from typing import Any, TypeVar

from impreg.run_settings import settings_from_text

T = TypeVar("T")

# what the settings that several configs declare mean (a field's own comment says more where it has one)
GLOSSARY = {
    "lr": "learning rate",
    "alpha": "RMSprop smoothing constant of the squared gradients, in [0, 1)",
    "eps": "RMSprop's term added to the root mean square, >= 0",
    "seed": "seeds the run's random draws",
    "device": "torch device: auto (CUDA when present), cpu, cuda or cuda:N",
    "dtype": "floating-point type of the parameters: float32 or float64",
    "max_iterations": "stop after this many iterations",
    "log_every": "iterations between logged rows of metrics.csv",
    "top_k": "how many of the largest values are logged",
    "momentum": "SGD momentum, in [0, 1)",
    "batch_size": "examples per optimizer step",
    "max_epochs": "stop after this many epochs",
    "epochs": "epochs of training",
    "eval_batch_size": "examples per forward pass at evaluation (memory only)",
    "keep_checkpoint": "keep checkpoint.pt once the run files are written",
    "init_mean": "mean of the initial factor entries",
    "seeds": "seeds of the runs, one model per seed and rank",
    "ranks": "ranks (numbers of components) of the models",
}


def parse_bool(text: str) -> bool:
    """``bool("False")`` is True, so boolean flags take an explicit true/false word."""
    words = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
    try:
        return words[str(text).strip().lower()]
    except KeyError:
        raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}") from None


def key_value(text: str) -> tuple[str, str]:
    """A ``KEY=VALUE`` argument as a pair (the value may hold more ``=``)."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def at_least(low: int) -> Callable[[str], int]:
    """An argparse type: an integer >= ``low``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{value} is not allowed: it must be >= {low}")
        return value

    return parse


def positive_float(text: str) -> float:
    """An argparse type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{value} is not allowed: it must be a finite number > 0")
    return value


def add_run_folder_flags(parser: argparse.ArgumentParser, data: str) -> None:
    """--data and --out-dir, which every train command takes (``data``: what file it reads)."""
    parser.add_argument("--data", required=True, help=data)
    parser.add_argument(
        "--out-dir",
        required=True,
        help="the run folder: metrics.csv, summary.json and checkpoint.pt are written there",
    )


def field_comments(cls: type) -> dict[str, str]:
    """Field -> the comment that ends its line in the class body ('' where there is none)."""
    source = textwrap.dedent(inspect.getsource(cls))
    comments: dict[str, str] = {}
    line_start: tokenize.TokenInfo | None = None
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if (
            token.type == tokenize.NAME
            and token.start[1] == 4
            and (line_start is None or line_start.start[0] != token.start[0])
        ):
            line_start = token
        elif (
            token.type == tokenize.COMMENT
            and line_start is not None
            and line_start.start[0] == token.start[0]
        ):
            comments[line_start.string] = token.string.lstrip("#").strip()
    return comments


def add_dataclass_flags(
    parser: argparse.ArgumentParser, cls: type, exclude: Collection[str] = ()
) -> None:
    """``--settings`` (the run's settings as one mapping), then one ``--field-name`` flag per
    dataclass field, typed from the field's default: booleans as ``--flag true|false``, tuples as
    ``--flag A B ...``; its help is the field's comment (or the GLOSSARY's entry). A flag holds a
    value only when given (dataclass_from_args fills in the rest). The fields in ``exclude`` get no
    flag, so that the caller can declare theirs by hand (say, with choices; default SUPPRESS)."""
    fields = dataclasses.fields(cls)
    unknown = set(exclude) - {f.name for f in fields}
    if unknown:
        raise ValueError(f"{cls.__name__} has no field {', '.join(sorted(unknown))} to exclude")
    parser.add_argument(
        "--settings",
        default=None,
        metavar="JSON",
        help="the run's settings as one JSON object, or @FILE holding one; its keys are the "
        "setting flags below (without the dashes), and a flag given beside it wins",
    )
    comments = field_comments(cls)
    for f in fields:
        if f.name not in exclude:
            default = f.default if f.default is not dataclasses.MISSING else None
            # argparse formats help
            about = (comments.get(f.name) or GLOSSARY.get(f.name, "")).replace("%", "%%")
            parser.add_argument(
                f"--{f.name.replace('_', '-')}", dest=f.name, **_typed_default(default, about)
            )


def _typed_default(default: Any, about: str) -> dict[str, Any]:
    """The add_argument keywords of a flag with this default (no default: a string) and help; the
    flag itself has none (SUPPRESS), so that a value it holds was given."""
    if isinstance(default, tuple):  # the type of the first item types every item
        kind = type(default[0]) if default else str
        return dict(
            type=kind,
            nargs="+",
            default=argparse.SUPPRESS,
            help=f"{about} (default: {' '.join(map(str, default))})".strip(),
        )
    kind = str if default is None else type(default)
    return dict(
        type=parse_bool if kind is bool else kind,
        default=argparse.SUPPRESS,
        help=f"{about} (default: {default})".strip(),
    )


def dataclass_from_args(
    cls: type[T], args: argparse.Namespace, required: Collection[str] = ()
) -> T:
    """The config of parsed flags: the dataclass defaults, overridden by ``--settings``, overridden
    by the flags given. ``required``: fields that one of the two must set. A tuple field's value
    arrives as a list and is turned back into a tuple."""
    names = [f.name for f in dataclasses.fields(cls)]
    values = settings_from_text(cls, args.settings) if getattr(args, "settings", None) else {}
    values |= {name: getattr(args, name) for name in names if hasattr(args, name)}
    missing = [name for name in required if name not in values]
    if missing:
        raise ValueError(
            f"the following arguments are required: {', '.join(_flag(n) for n in missing)} "
            f"(or {'these keys' if len(missing) > 1 else 'this key'} in --settings)"
        )
    return cls(**{name: tuple(v) if isinstance(v, list) else v for name, v in values.items()})


def _flag(name: str) -> str:
    return f"--{name.replace('_', '-')}"


def _word(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def flags_from_mapping(settings: dict[str, Any]) -> str:
    """The inverse, for Snakemake rules: ``{"init_std": 0.01, "ranks": [1, 2], "amp": True}`` ->
    ``--init-std 0.01 --ranks 1 2 --amp true`` (booleans as the words parse_bool reads). Values are
    not shell-quoted: settings are numbers and plain words."""
    parts = []
    for key, value in settings.items():
        values = value if isinstance(value, (list, tuple)) else [value]
        parts.append(" ".join([f"--{key.replace('_', '-')}", *map(_word, values)]))
    return " ".join(parts)
