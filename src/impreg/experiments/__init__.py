"""Every experiment, registered once: its CLI commands and, for one that trains, its plug-in to
the training harness (its settings dataclass, its loop and its claims).

impreg.cli builds its one parser from REGISTRY, so a command exists on the command line exactly
when it is listed here; the flags and handlers live in impreg.commands, one module per experiment.
The tests run their resume, SIGTERM, determinism, divergence and bad-input checks over every
registered training (tests/test_train_reliability.py).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

Group = Literal["make-data", "train"]

# the commands that are reached as `impreg <group> <name>`, with the group's help
GROUPS: dict[Group, str] = {"make-data": "generate a dataset", "train": "train a model"}


@dataclass(frozen=True)
class Command:
    """One command: where it sits, its help line, what adds its flags and what runs it."""

    group: Group | None  # None: a top-level command such as `report`
    name: str
    help: str
    add_flags: Callable[[argparse.ArgumentParser], None]
    handler: Callable[[argparse.Namespace], None]

    @property
    def words(self) -> tuple[str, ...]:
        """What follows ``impreg`` on the command line: ``("train", "locality")`` or ``("report",)``."""
        return (self.name,) if self.group is None else (self.group, self.name)


@dataclass(frozen=True)
class Training:
    """An experiment's plug-in to the harness (impreg.train.harness), named by module so that
    registering it imports no torch. ``module`` holds the settings dataclass ``config`` and
    ``run(cfg, data, out_dir, resume=, on_unit=, stop_after=, log=)``, which builds the experiment's
    step and drives it with ``harness.run_loop``; ``claims`` are its figures' claim functions, as ``module:function``."""

    module: str
    config: str
    claims: tuple[str, ...]

    def config_class(self) -> type:
        return getattr(importlib.import_module(self.module), self.config)

    def run(self, cfg: Any, data: Any, out_dir: Any, **hooks: Any) -> dict:
        return importlib.import_module(self.module).run(cfg, data, out_dir, **hooks)

    def problems(self) -> list[str]:
        """What breaks the plug-in contract (empty when it holds)."""
        found = []
        module = importlib.import_module(self.module)
        config = getattr(module, self.config, None)
        if not dataclasses.is_dataclass(config):
            found.append(f"{self.module}.{self.config} is not a dataclass")
        elif not set(getattr(config, "NOT_IN_FINGERPRINT", ("<missing>",))) <= {f.name for f in dataclasses.fields(config)}:
            found.append(f"{self.module}.{self.config}.NOT_IN_FINGERPRINT is missing or names a field it lacks")
        params = inspect.signature(module.run).parameters if hasattr(module, "run") else {}
        missing = [name for name in ("resume", "on_unit", "stop_after", "log") if name not in params]
        if missing:
            found.append(f"{self.module}.run lacks {', '.join(missing)}")
        for name in self.claims:
            module_name, _, function = name.partition(":")
            if not callable(getattr(importlib.import_module(module_name), function, None)):
                found.append(f"{name} is not a function")
        return found


class Registry:
    """Commands by experiment; a command's words (see Command.words) may be taken only once."""

    def __init__(self) -> None:
        self._experiments: dict[str, tuple[Command, ...]] = {}
        self._trainings: dict[str, Training] = {}
        # a top-level command named like a group would hide the group's commands
        self._owners: dict[tuple[str, ...], str] = {(group,): f"the {group} group" for group in GROUPS}

    def register(self, experiment: str, *commands: Command, training: Training | None = None) -> None:
        """Add an experiment's commands and its training plug-in, all or (on a clash) none."""
        if experiment in self._experiments:
            raise ValueError(f"experiment {experiment!r} is registered twice")
        owners = dict(self._owners)
        for command in commands:
            if command.group is not None and command.group not in GROUPS:
                raise ValueError(f"command {command.name!r} of {experiment} names no group: {command.group!r}")
            if command.words in owners:
                raise ValueError(f"command {' '.join(command.words)!r} is registered twice: "
                                 f"by {owners[command.words]} and by {experiment}")
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


# Every command: (experiment, group, name, help). Its flags and its handler are
# ``<group>_<name>_flags`` and ``<group>_<name>`` (dashes as underscores) of impreg.commands.<experiment>.
COMMANDS: tuple[tuple[str, Group | None, str, str], ...] = (
    ("tf_dynamics", "make-data", "tf-dynamics", "random CP-rank target and observed entries"),
    ("tf_dynamics", "make-data", "tf-sensing", "random CP-rank target and Gaussian measurement tensors"),
    ("tf_dynamics", "train", "tf-dynamics", "CP factorization dynamics on tensor completion"),
    ("tf_dynamics", "train", "tf-sensing", "CP factorization dynamics on tensor sensing"),
    ("incremental_rank", "make-data", "ht-completion", "random target of low hierarchical rank and observed entries"),
    ("incremental_rank", "train", "incremental-rank", "matrix / tensor / hierarchical tensor factorization dynamics"),
    ("rank_complexity", "make-data", "stand-in-images", "generated STAND-IN files in MNIST/F-MNIST/CIFAR-10 formats"),
    ("rank_complexity", "make-data", "rank-complexity", "an image dataset (or a random control) as binary completion data"),
    ("rank_complexity", "train", "rank-complexity", "CP models of many ranks and seeds fitted at once to image data"),
    ("rank_complexity", None, "fetch-data", "download MNIST / Fashion-MNIST / CIFAR-10 once into the data folder"),
    ("locality", "make-data", "pathfinder", "Pathfinder images of one path length (P2 Fig. C)"),
    ("locality", "make-data", "is-same-class-images", "source images of Is Same Class (P2 Fig. C)"),
    ("locality", "train", "locality", "a ResNet on Pathfinder or Is Same Class, with the separation penalty"),
    ("tools", None, "report", "gather claims files into REPLICATION.md"),
    ("tools", None, "check-config", "read and validate config files, naming the file and key of any error"),
    ("tools", None, "ship-runs", "copy the run files of a workflow run's finished figures into the shipped folder"),
    ("tools", None, "ship-outputs", "copy what make figures made from the shipped runs into the shipped folder"),
)

# Every experiment that trains: its plug-in to the harness. tf_dynamics: P1 Figure 3 and the
# appendix's variants; incremental_rank: P2 Fig. A and B; rank_complexity: P1 Figure 4; locality:
# P2 Fig. C and D. (tools: no experiment's, the report and the shipped results.)
TRAININGS: dict[str, Training] = {
    "tf_dynamics": Training("impreg.train.tf_dynamics", "TFDynamicsConfig",
                            ("impreg.claims.dynamics:figure3_claims", "impreg.claims.dynamics:variant_claims")),
    "incremental_rank": Training("impreg.train.incremental_rank", "IncrementalRankConfig",
                                 ("impreg.claims.incremental_rank:incremental_rank_claims",
                                  "impreg.claims.htf_detail:htf_detail_claims")),
    "rank_complexity": Training("impreg.train.rank_complexity", "RankComplexityConfig",
                                ("impreg.claims.rank_complexity:rank_complexity_claims",)),
    "locality": Training("impreg.train.locality", "LocalityConfig", ("impreg.claims.locality:locality_claims",)),
}


def command(experiment: str, group: Group | None, name: str, help: str) -> Command:
    """The command of a COMMANDS row, with its flags and handler from impreg.commands.<experiment>."""
    module = importlib.import_module(f"impreg.commands.{experiment}")
    stem = "_".join(word.replace("-", "_") for word in (group, name) if word is not None)
    return Command(group, name, help, getattr(module, f"{stem}_flags"), getattr(module, stem))


REGISTRY = Registry()
for _experiment in dict.fromkeys(row[0] for row in COMMANDS):
    REGISTRY.register(_experiment, *(command(*row) for row in COMMANDS if row[0] == _experiment),
                      training=TRAININGS.get(_experiment))
