"""What an experiment declares, in its own module of impreg.experiments: its commands, its training
plug-in, the jobs the workflow makes for it and the figures its notebooks draw from them.

Torch-free: the CLI builds its parser and the workflow plans its jobs from these declarations.
Functions are named as ``"module:function"`` where importing them would pull in heavy code
(flags and handlers, training loops, claims); the rest are plain callables of the validated config.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from impreg.run_settings import Run

Group = Literal["make-data", "train"]
Config = dict  # the validated config of one scale (impreg.config)


def resolve(name: str) -> Any:
    """The object a ``"module:attribute"`` name points to."""
    module, _, attribute = name.partition(":")
    return getattr(importlib.import_module(module), attribute)


@dataclass(frozen=True)
class CommandSpec:
    """One command of the CLI: ``impreg <group> <name>`` (group None: ``impreg <name>``). Its flags and
    its handler are ``<group>_<name>_flags`` and ``<group>_<name>`` (dashes as underscores) of
    ``module``, imported only when the CLI is built."""

    group: Group | None
    name: str
    help: str
    module: str

    @property
    def stem(self) -> str:
        return "_".join(
            word.replace("-", "_") for word in (self.group, self.name) if word is not None
        )

    def add_flags(self) -> Callable[[argparse.ArgumentParser], None]:
        return getattr(importlib.import_module(self.module), f"{self.stem}_flags")

    def handler(self) -> Callable[[argparse.Namespace], None]:
        return getattr(importlib.import_module(self.module), self.stem)


@dataclass(frozen=True)
class Training:
    """An experiment's plug-in to the harness (impreg.train.harness), named by module so that
    declaring it imports no torch. ``module`` holds the settings dataclass ``config`` and
    ``run(cfg, data, out_dir, resume=, on_unit=, stop_after=, log=)``, which builds the experiment's
    step and drives it with ``harness.run_loop``."""

    module: str
    config: str

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
        elif not set(getattr(config, "NOT_IN_FINGERPRINT", ("<missing>",))) <= {
            f.name for f in dataclasses.fields(config)
        }:
            found.append(
                f"{self.module}.{self.config}.NOT_IN_FINGERPRINT is missing or names a field it lacks"
            )
        params = inspect.signature(module.run).parameters if hasattr(module, "run") else {}
        missing = [
            name for name in ("resume", "on_unit", "stop_after", "log") if name not in params
        ]
        if missing:
            found.append(f"{self.module}.run lacks {', '.join(missing)}")
        return found


def on_cuda(config: Config) -> bool:
    """Whether the config's device is a GPU (the dynamics experiments' jobs then ask for one)."""
    return config["device"].startswith("cuda")


@dataclass(frozen=True)
class Jobs:
    """The jobs of one config section, which the workflow writes as rules: ``<section>_train`` trains
    each run (``impreg train <run.command> --settings ...``) into runs/<section>/<name>, and
    ``<section>_data`` makes each data file that ``make-data`` alone makes. Data files made some other
    way come from a rule file of the experiment's own (Experiment.rule_file). The config's
    ``resources`` name what a cluster job of ``<section>_train`` asks for."""

    section: str
    runs: Callable[[Config], dict[str, Run]]  # run name -> its data file, settings and command
    # data/<section>/<name>.npz -> make-data arguments
    data_files: Callable[[Config], dict[str, str]] = lambda config: {}
    gpu: Callable[[Config], bool] = on_cuda  # whether its jobs ask for a GPU

    @property
    def train_rule(self) -> str:
        return f"{self.section}_train"


def section_settings(section: str) -> Callable[[Config], dict]:
    """A figure's notebook settings that are its config section and the scale."""
    return lambda config: {"config": config[section], "scale": config["scale"]}


@dataclass(frozen=True)
class FigureSpec:
    """A figure a notebook draws from runs: notebooks/<notebook>.ipynb, run with papermill, writes
    <out>/{figures,claims,notebooks}/<id>.* and its extras."""

    id: str
    # the papers' figure: "P1 Fig. 3", "P2 Fig. B (appendix)", ... (an extension says so)
    label: str
    notebook: str  # captioned by workflow/report/<notebook>.rst
    experiment: str  # the config section whose changes_from_paper the report shows
    # its run folders (runs/<section>/<name>), in notebook order
    runs: Callable[[Config], list[str]]
    # notebook parameters apart from paths (a change reruns the figure)
    settings: Callable[[Config], dict]
    claims: str  # "module:function" that computes its claims (its notebook calls it)
    extension: bool = False  # a figure the papers do not have: its claims are counted apart
    extras: tuple[str, ...] = ()  # extra outputs (workflow/figures.py EXTRAS): "full", "table"
    # per-run parameters passed beside the run files
    run_params: Callable[[Config], dict] = lambda config: {}
    targets: tuple[str, ...] = ()  # target rules that build it, beside its id
    # {dataset its data jobs download: the data files made from it}, so that a run without network
    # can say which figures wait for which files
    downloads: Callable[[Config], dict[str, list[str]]] = lambda config: {}

    def __post_init__(self) -> None:
        if not self.label.startswith(("P1 ", "P2 ")):
            raise ValueError(
                f"figure {self.id}: its label {self.label!r} must name its paper first ('P1 ...' or "
                "'P2 ...'): the paper's target list and the report's category come from it"
            )

    @property
    def paper(self) -> int:
        """1 or 2, from the label: its target list (paper1, paper2) and report category."""
        return int(self.label[1])


@dataclass(frozen=True)
class Experiment:
    """Everything of one experiment that the CLI, the harness, the workflow and the reports need.
    ``order`` places its figures in the reports (the papers' order: lower first)."""

    name: str
    order: int
    commands: tuple[CommandSpec, ...] = ()
    training: Training | None = None
    jobs: tuple[Jobs, ...] = ()
    figures: tuple[FigureSpec, ...] = ()
    rule_file: str | None = None  # workflow/rules/<file>: rules the generic ones do not cover

    def claims(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f.claims for f in self.figures))

    def problems(self) -> list[str]:
        """What breaks the declaration (empty when it holds): its training plug-in's contract, its
        figures' claims functions, a figure of a config section it has no jobs for."""
        found = self.training.problems() if self.training else []
        for name in self.claims():
            try:
                ok = callable(resolve(name))
            except (ImportError, AttributeError):
                ok = False
            if not ok:
                found.append(f"{name} is not a function")
        sections = {jobs.section for jobs in self.jobs}
        found += [
            f"figure {f.id} reads the runs of {f.experiment}, which {self.name} declares no jobs for"
            for f in self.figures
            if f.experiment not in sections
        ]
        return found
