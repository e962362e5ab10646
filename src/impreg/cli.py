"""The package's command line: data generation, training and reporting, as called by the workflow.

Examples:
    python -m impreg make-data tf-dynamics --order 4 ... --out results/paper/data/tf_dynamics/x.npz
    python -m impreg train tf-dynamics --data x.npz --out-dir results/paper/runs/tf_dynamics/<run> --init-std 0.005
    python -m impreg report --claims results/paper/claims/*.json --out results/paper/REPLICATION.md
    python -m impreg check-config config/quick.yaml my.yaml   # what the workflow would run with
    python -m impreg <command> --help                          # every flag of a command
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import impreg
from impreg.io import DataFileError

AddFlags = Callable[[argparse.ArgumentParser], None]
# how a run's settings dataclass says that a value breaks its rule (impreg.train.common.check_settings)
SETTING_ERROR = re.compile(
    r"^\w+Config\.(?P<field>\w+) must be (?P<rule>.+), got (?P<value>.+)$", re.S
)


class _CommandParser(argparse.ArgumentParser):
    """A command's parser. It adds its flags when first used (the train commands' flags come from
    configs whose modules import torch, which a command such as ``report`` never needs), rejects a
    flag it does not know with its own usage (not the top-level one), and says what is wrong with a
    value in one line."""

    def __init__(self, *args: Any, add_flags: AddFlags | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._add_flags = add_flags

    def _complete(self) -> None:
        add_flags, self._add_flags = self._add_flags, None
        if add_flags is not None:
            add_flags(self)

    def parse_known_args(
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        self._complete()
        parsed, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed, extras

    def format_help(self) -> str:
        self._complete()
        return super().format_help()

    def format_usage(self) -> str:
        self._complete()
        return super().format_usage()

    def error(self, message: str) -> NoReturn:
        """A wrong or missing flag: the usage, then the error; a bad value: one line, naming the flag."""
        if message.startswith(
            ("unrecognized arguments", "the following arguments are required", "invalid choice")
        ):
            super().error(f"{message} (see {self.prog} --help)")
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """One parser for every command in impreg.experiments.REGISTRY."""
    from impreg.experiments import GROUPS, REGISTRY

    parser = argparse.ArgumentParser(
        prog="impreg", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"impreg {impreg.__version__}")
    top = parser.add_subparsers(dest="command", required=True, parser_class=_CommandParser)
    groups = {
        group: top.add_parser(group, help=text).add_subparsers(dest="what", required=True)
        for group, text in GROUPS.items()
    }
    for command in REGISTRY.commands():
        parent = top if command.group is None else groups[command.group]
        p = parent.add_parser(command.name, help=command.help, add_flags=command.add_flags)
        p.set_defaults(func=command.handler, prog=p.prog)
    return parser


def main(argv: list[str] | None = None) -> int:
    # a job's log is a file: every line reaches it when printed, also from a job killed right after
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(line_buffering=True)
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except (DataFileError, ValueError) as err:
        bad = SETTING_ERROR.match(str(err))
        if bad:  # a setting out of its range: said on its flag
            print(
                f"{args.prog}: error: argument --{bad['field'].replace('_', '-')}: {bad['value']} is not allowed: "
                f"it must be {bad['rule']}",
                file=sys.stderr,
            )
        else:
            print(f"impreg: error: {err}", file=sys.stderr)
        return 2
    return 0
