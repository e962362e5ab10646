"""Command-line flags generated from dataclass configs, so the CLI and the configs never drift."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Collection
from typing import Any, TypeVar

T = TypeVar("T")


def parse_bool(text: str) -> bool:
    """``bool("False")`` is True, so boolean flags take an explicit true/false word."""
    words = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
    try:
        return words[str(text).strip().lower()]
    except KeyError:
        raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}") from None


def add_dataclass_flags(parser: argparse.ArgumentParser, cls: type, exclude: Collection[str] = ()) -> None:
    """One ``--field-name`` flag per dataclass field, typed and defaulted from the field: booleans as
    ``--flag true|false``, tuples as ``--flag A B ...``. The fields in ``exclude`` get no flag, so
    that the caller can declare theirs by hand (say, required and with choices)."""
    fields = dataclasses.fields(cls)
    unknown = set(exclude) - {f.name for f in fields}
    if unknown:
        raise ValueError(f"{cls.__name__} has no field {', '.join(sorted(unknown))} to exclude")
    for f in fields:
        if f.name not in exclude:
            default = f.default if f.default is not dataclasses.MISSING else None
            parser.add_argument(f"--{f.name.replace('_', '-')}", dest=f.name, **_typed_default(default))


def _typed_default(default: Any) -> dict[str, Any]:
    """The add_argument keywords of a flag with this default (no default: a string)."""
    if isinstance(default, tuple):  # the type of the first item types every item
        kind = type(default[0]) if default else str
        return dict(type=kind, nargs="+", default=list(default), help=f"(default: {' '.join(map(str, default))})")
    kind = str if default is None else type(default)
    return dict(type=parse_bool if kind is bool else kind, default=default, help=f"(default: {default})")


def dataclass_from_args(cls: type[T], args: argparse.Namespace) -> T:
    """The config of parsed flags; a tuple field's flag parses to a list, turned back into a tuple."""
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls)}
    return cls(**{name: tuple(v) if isinstance(v, list) else v for name, v in values.items()})


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
