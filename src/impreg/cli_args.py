"""Command-line flags generated from dataclass configs, so the CLI and the configs never drift."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any, TypeVar

T = TypeVar("T")


def parse_bool(text: str) -> bool:
    """``bool("False")`` is True, so boolean flags take an explicit true/false word."""
    words = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
    try:
        return words[str(text).strip().lower()]
    except KeyError:
        raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}") from None


def add_dataclass_flags(parser: argparse.ArgumentParser, cls: type) -> None:
    """One ``--field-name`` flag per dataclass field, typed and defaulted from the field
    (booleans as ``--flag true|false``)."""
    for f in dataclasses.fields(cls):
        default = f.default if f.default is not dataclasses.MISSING else None
        kind = type(default) if default is not None else str
        if kind is bool:
            kind = parse_bool
        parser.add_argument(f"--{f.name.replace('_', '-')}", dest=f.name, type=kind, default=default,
                            help=f"(default: {default})")


def dataclass_from_args(cls: type[T], args: argparse.Namespace) -> T:
    return cls(**{f.name: getattr(args, f.name) for f in dataclasses.fields(cls)})


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
