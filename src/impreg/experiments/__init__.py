"""Every experiment, found once: each module of this package (but declare) declares its experiment
as ``EXPERIMENT`` (impreg.experiments.declare): its CLI commands, its plug-in to the training
harness, the jobs the workflow makes and the figures drawn from them. Adding an experiment is adding
its module (and its notebook); nothing else lists experiments.

impreg.cli builds its one parser from REGISTRY, so a command exists on the command line exactly
when an experiment (or TOOLS) declares it. The tests run their resume, SIGTERM, determinism,
divergence and bad-input checks over every registered training (tests/test_train_reliability.py).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from impreg.experiments.declare import CommandSpec, Experiment, FigureSpec, Group, Training

# the commands that are reached as `impreg <group> <name>`, with the group's help
GROUPS: dict[Group, str] = {"make-data": "generate a dataset", "train": "train a model"}

# the commands of no experiment: the report and the shipped results
TOOLS: tuple[CommandSpec, ...] = tuple(
    CommandSpec(None, name, help, "impreg.commands.tools")
    for name, help in (
        ("report", "gather claims files into REPLICATION.md"),
        ("check-config", "read and validate config files, naming the file and key of any error"),
        (
            "ship-runs",
            "copy the run files of a workflow run's finished figures into the shipped folder",
        ),
        (
            "ship-outputs",
            "copy what make figures made from the shipped runs into the shipped folder",
        ),
    )
)


@dataclass(frozen=True)
class Command:
    """One command: where it sits, its help line, what adds its flags and what runs it."""

    group: Group | None  # None: a top-level command such as `report`
    name: str
    help: str
    add_flags: Callable[[argparse.ArgumentParser], None]
    handler: Callable[[argparse.Namespace], None]

    @classmethod
    def of(cls, spec: CommandSpec) -> Command:
        return cls(spec.group, spec.name, spec.help, spec.add_flags(), spec.handler())

    @property
    def words(self) -> tuple[str, ...]:
        """What follows ``impreg`` on the command line: ``("train", "locality")`` or ``("report",)``."""
        return (self.name,) if self.group is None else (self.group, self.name)


class Registry:
    """Commands by experiment; a command's words (see Command.words) may be taken only once."""

    def __init__(self) -> None:
        self._experiments: dict[str, tuple[Command, ...]] = {}
        self._trainings: dict[str, Training] = {}
        # a top-level command named like a group would hide the group's commands
        self._owners: dict[tuple[str, ...], str] = {
            (group,): f"the {group} group" for group in GROUPS
        }

    def register(
        self, experiment: str, *commands: Command, training: Training | None = None
    ) -> None:
        """Add an experiment's commands and its training plug-in, all or (on a clash) none."""
        if experiment in self._experiments:
            raise ValueError(f"experiment {experiment!r} is registered twice")
        owners = dict(self._owners)
        for command in commands:
            if command.group is not None and command.group not in GROUPS:
                raise ValueError(
                    f"command {command.name!r} of {experiment} names no group: {command.group!r}"
                )
            if command.words in owners:
                raise ValueError(
                    f"command {' '.join(command.words)!r} is registered twice: "
                    f"by {owners[command.words]} and by {experiment}"
                )
            owners[command.words] = experiment
        self._owners = owners
        self._experiments[experiment] = commands
        if training is not None:
            self._trainings[experiment] = training

    @property
    def experiments(self) -> Mapping[str, tuple[Command, ...]]:
        return MappingProxyType(self._experiments)

    @property
    def trainings(self) -> Mapping[str, Training]:
        """Experiment -> its training plug-in, for the experiments that train."""
        return MappingProxyType(self._trainings)

    def commands(self) -> list[Command]:
        """Every command, in registration order (the order of the CLI's help)."""
        return [command for commands in self._experiments.values() for command in commands]


def find_experiments(package: str = __name__) -> tuple[Experiment, ...]:
    """The ``EXPERIMENT`` of every module of ``package`` (but declare), in their ``order``."""
    found = []
    for info in pkgutil.iter_modules(importlib.import_module(package).__path__):
        if info.name == "declare":
            continue
        module = importlib.import_module(f"{package}.{info.name}")
        experiment = getattr(module, "EXPERIMENT", None)
        if not isinstance(experiment, Experiment):
            raise TypeError(
                f"{package}.{info.name} declares no EXPERIMENT (an impreg.experiments.declare.Experiment)"
            )
        if experiment.name != info.name:
            raise ValueError(
                f"{package}.{info.name} declares the experiment {experiment.name!r}: name it as its module"
            )
        found.append(experiment)
    return tuple(sorted(found, key=lambda e: (e.order, e.name)))


def figures(experiments: tuple[Experiment, ...]) -> tuple[FigureSpec, ...]:
    """Every figure of ``experiments``, in the papers' order; an id may be declared once."""
    out = [f for e in experiments for f in e.figures]
    ids = [f.id for f in out]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise ValueError(f"figures declared twice: {twice}")
    return tuple(out)


def registry(experiments: tuple[Experiment, ...]) -> Registry:
    """The CLI's commands and the harness's plug-ins of ``experiments``, then the tools."""
    out = Registry()
    for experiment in experiments:
        out.register(
            experiment.name, *map(Command.of, experiment.commands), training=experiment.training
        )
    out.register("tools", *map(Command.of, TOOLS))
    return out


EXPERIMENTS: tuple[Experiment, ...] = find_experiments()
FIGURES: tuple[FigureSpec, ...] = figures(EXPERIMENTS)
REGISTRY = registry(EXPERIMENTS)

__all__ = [
    "EXPERIMENTS",
    "FIGURES",
    "GROUPS",
    "REGISTRY",
    "TOOLS",
    "Command",
    "CommandSpec",
    "Experiment",
    "FigureSpec",
    "Registry",
    "Training",
]
