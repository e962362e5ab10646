"""The package's command line: data generation, training and reporting, as called by the workflow.

    python -m impreg make-data tf-dynamics --order 4 ... --out results/data/tf_dynamics/x.npz
    python -m impreg train tf-dynamics --data x.npz --out-dir results/runs/tf_dynamics/<run> --init-std 0.005
    python -m impreg report --claims results/claims/*.json --out results/REPLICATION.md
    python -m impreg ship-runs --to results/shipped/paper --scale paper   # then make figures, ship-outputs
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

from impreg.io import DataFileError

AddFlags = Callable[[argparse.ArgumentParser], None]


class _CommandParser(argparse.ArgumentParser):
    """A command's parser that adds its flags when first used: the train commands' flags come from
    configs whose modules import torch, which a command such as ``report`` never needs."""

    def __init__(self, *args: Any, add_flags: AddFlags | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._add_flags = add_flags

    def _complete(self) -> None:
        add_flags, self._add_flags = self._add_flags, None
        if add_flags is not None:
            add_flags(self)

    def parse_known_args(self, args: Sequence[str] | None = None,
                         namespace: argparse.Namespace | None = None) -> tuple[argparse.Namespace, list[str]]:
        self._complete()
        return super().parse_known_args(args, namespace)

    def format_help(self) -> str:
        self._complete()
        return super().format_help()

    def format_usage(self) -> str:
        self._complete()
        return super().format_usage()


def build_parser() -> argparse.ArgumentParser:
    """One parser for every command in impreg.experiments.REGISTRY."""
    from impreg.experiments import GROUPS, REGISTRY

    parser = argparse.ArgumentParser(prog="impreg", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    top = parser.add_subparsers(dest="command", required=True, parser_class=_CommandParser)
    groups = {group: top.add_parser(group, help=text).add_subparsers(dest="what", required=True)
              for group, text in GROUPS.items()}
    for command in REGISTRY.commands():
        parent = top if command.group is None else groups[command.group]
        p = parent.add_parser(command.name, help=command.help, add_flags=command.add_flags)
        p.set_defaults(func=command.handler)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except (DataFileError, ValueError) as err:
        print(f"impreg: error: {err}", file=sys.stderr)
        return 2
    return 0
