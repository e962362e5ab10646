"""The CLI's parser is generated from impreg.experiments.REGISTRY: each registered command is on the
command line exactly once, with its handler, and a clash is refused when it is registered."""

from __future__ import annotations

import argparse
import dataclasses
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator

import pytest

from helpers import ROOT
from impreg.cli import build_parser, main
from impreg.cli_args import add_dataclass_flags, dataclass_from_args
from impreg.experiments import (
    EXPERIMENTS,
    GROUPS,
    REGISTRY,
    Command,
    Experiment,
    FigureSpec,
    Registry,
    Training,
)


def _commands_in(
    parser: argparse.ArgumentParser, words: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """(words, parser) of every command of the parser: the parsers without subcommands."""
    subcommands = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subcommands and words:
        yield words, parser
    for action in subcommands:
        for name, sub in action._name_parser_map.items():
            yield from _commands_in(sub, (*words, name))


def test_every_registered_command_is_in_the_parser_exactly_once_with_its_handler():
    in_parser = list(_commands_in(build_parser()))
    counts = Counter(words for words, _ in in_parser)
    registered = {command.words: command for command in REGISTRY.commands()}
    assert set(counts) == set(registered) and set(counts.values()) == {1}
    for words, parser in in_parser:
        assert parser.get_default("func") is registered[words].handler


def test_the_commands_are_grouped_by_experiment():
    words = {
        name: sorted(" ".join(c.words) for c in commands)
        for name, commands in REGISTRY.experiments.items()
    }
    assert words == {
        "tf_dynamics": [
            "make-data tf-dynamics",
            "make-data tf-sensing",
            "train tf-dynamics",
            "train tf-sensing",
        ],
        "incremental_rank": ["make-data ht-completion", "train incremental-rank"],
        "rank_complexity": [
            "fetch-data",
            "make-data rank-complexity",
            "make-data stand-in-images",
            "train rank-complexity",
        ],
        "locality": ["make-data is-same-class-images", "make-data pathfinder", "train locality"],
        "tools": ["check-config", "report", "ship-outputs", "ship-runs"],
    }


def _command(group: str | None, name: str) -> Command:
    return Command(group, name, "help", lambda p: None, lambda args: None)


def test_a_command_registered_twice_is_refused_and_the_registration_leaves_nothing():
    registry = Registry()
    registry.register("first", _command("train", "same"))
    with pytest.raises(
        ValueError, match="command 'train same' is registered twice: by first and by second"
    ):
        registry.register("second", _command(None, "other"), _command("train", "same"))
    with pytest.raises(
        ValueError, match="'make-data x' is registered twice: by third and by third"
    ):
        registry.register("third", _command("make-data", "x"), _command("make-data", "x"))
    assert list(registry.experiments) == ["first"]
    assert [c.words for c in registry.commands()] == [("train", "same")]
    # the refused experiment may register again
    registry.register("second", _command(None, "other"))
    assert [c.words for c in registry.commands()] == [("train", "same"), ("other",)]


@pytest.mark.parametrize("group", list(GROUPS))
def test_a_top_level_command_may_not_take_a_groups_name(group):
    with pytest.raises(ValueError, match=f"'{group}' is registered twice: by the {group} group"):
        Registry().register("x", _command(None, group))


def test_an_experiment_registered_twice_or_an_unknown_group_is_refused():
    registry = Registry()
    registry.register("x", _command("train", "a"))
    with pytest.raises(ValueError, match="experiment 'x' is registered twice"):
        registry.register("x", _command("train", "b"))
    with pytest.raises(ValueError, match="names no group: 'fit'"):
        registry.register("y", _command("fit", "a"))  # type: ignore[arg-type]


@pytest.mark.parametrize("command", REGISTRY.commands(), ids=lambda c: " ".join(c.words))
def test_help_of_every_command_exits_0_and_lists_its_flags(command, capsys):
    with pytest.raises(SystemExit) as stop:
        main([*command.words, "--help"])
    assert stop.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith(f"usage: impreg {' '.join(command.words)} ")
    (parser,) = [p for words, p in _commands_in(build_parser()) if words == command.words]
    parser.format_help()  # adds the flags
    flags = [flag for action in parser._actions for flag in action.option_strings]
    assert len(flags) > 2 and all(flag in text for flag in flags)


def test_building_the_parser_and_report_help_do_not_import_torch():
    code = (
        "import contextlib, io, sys\n"
        "from impreg.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    main(['report', '--help'])\n"
        "print(sorted(m for m in ('torch', 'impreg.train.tf_dynamics') if m in sys.modules))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), OMP_NUM_THREADS="1")
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


@dataclasses.dataclass
class _Settings:
    ranks: tuple[int, ...] = (1, 2)
    lr: float = 0.1
    task: str = "a"


def test_dataclass_flags_take_tuples_as_typed_lists_and_leave_out_the_excluded_fields():
    parser = argparse.ArgumentParser()
    add_dataclass_flags(parser, _Settings, exclude=("task",))
    parser.add_argument("--task", required=True, choices=["a", "b"])  # no clash: excluded above
    (ranks,) = [a for a in parser._actions if a.dest == "ranks"]
    # a flag holds a value only when given; its help still says the dataclass's default
    assert (ranks.nargs, ranks.type, ranks.default) == ("+", int, argparse.SUPPRESS)
    assert "(default: 1 2)" in ranks.help
    args = parser.parse_args(["--ranks", "3", "5", "--task", "b"])
    assert dataclass_from_args(_Settings, args) == _Settings(ranks=(3, 5), lr=0.1, task="b")


def test_settings_come_as_one_mapping_that_a_flag_overrides_and_unknown_keys_are_named(tmp_path):
    parser = argparse.ArgumentParser()
    add_dataclass_flags(parser, _Settings)
    args = parser.parse_args(["--settings", '{"ranks": [4], "lr": 0.5}', "--lr", "0.25"])
    assert dataclass_from_args(_Settings, args) == _Settings(ranks=(4,), lr=0.25, task="a")
    (tmp_path / "s.json").write_text('{"task": "b"}')
    args = parser.parse_args(["--settings", f"@{tmp_path / 's.json'}"])
    assert dataclass_from_args(_Settings, args, required=("task",)) == _Settings(task="b")
    with pytest.raises(
        ValueError, match=r"'rank' is not a setting of this run; its settings are ranks, lr, task"
    ):
        dataclass_from_args(_Settings, parser.parse_args(["--settings", '{"rank": 3}']))
    with pytest.raises(
        ValueError,
        match=r"the following arguments are required: --task \(or this key in --settings\)",
    ):
        dataclass_from_args(_Settings, parser.parse_args([]), required=("task",))
    with pytest.raises(ValueError, match="not a JSON object"):
        dataclass_from_args(_Settings, parser.parse_args(["--settings", "[1, 2]"]))
    with pytest.raises(ValueError, match="_Settings has no field seeds to exclude"):
        add_dataclass_flags(argparse.ArgumentParser(), _Settings, exclude=("seeds",))


def test_train_rank_complexity_parses_its_generated_tuple_flags_into_the_config():
    from impreg.train.rank_complexity import RankComplexityConfig

    args = build_parser().parse_args(
        [
            "train",
            "rank-complexity",
            "--data",
            "d.npz",
            "--out-dir",
            "run",
            "--ranks",
            "1",
            "3",
            "--seeds",
            "7",
            "--threads",
            "2",
            "--no-resume",
        ]
    )
    cfg = dataclass_from_args(RankComplexityConfig, args)
    assert (cfg.ranks, cfg.seeds, cfg.epochs) == ((1, 3), (7,), RankComplexityConfig().epochs)
    assert (args.threads, args.no_resume) == (2, True)


def test_a_training_plug_in_that_breaks_the_contract_is_named():
    good = REGISTRY.trainings["locality"]
    assert good.problems() == []
    broken = Training("impreg.train.locality", "TASKS")
    assert broken.problems() == ["impreg.train.locality.TASKS is not a dataclass"]
    no_run = Training("impreg.train.common", "LocalityConfig")
    assert any(
        "impreg.train.common.run lacks resume, on_unit, stop_after, log" in p
        for p in no_run.problems()
    )
    registry = Registry()
    registry.register("toy", training=good)
    assert dict(registry.trainings) == {"toy": good}


def test_every_experiment_declares_what_it_needs_and_a_broken_declaration_is_named():
    assert {e.name: e.problems() for e in EXPERIMENTS} == {e.name: [] for e in EXPERIMENTS}
    figure = FigureSpec(
        "toy",
        "P1 toy",
        "toy",
        "elsewhere",
        lambda c: [],
        lambda c: {},
        "impreg.claims.locality:no_such_claims",
    )
    toy = Experiment(
        "toy", 0, training=Training("impreg.train.locality", "TASKS"), figures=(figure,)
    )
    assert toy.problems() == [
        "impreg.train.locality.TASKS is not a dataclass",
        "impreg.claims.locality:no_such_claims is not a function",
        "figure toy reads the runs of elsewhere, which toy declares no jobs for",
    ]


def test_a_figure_label_that_names_no_paper_is_refused():
    with pytest.raises(ValueError, match="must name its paper first"):
        FigureSpec(
            "toy",
            "toy figure",
            "toy",
            "toy",
            lambda c: [],
            lambda c: {},
            "impreg.claims.locality:x",
        )


def test_experiments_are_found_in_their_modules_in_the_papers_order():
    assert [e.name for e in EXPERIMENTS] == [
        "tf_dynamics",
        "rank_complexity",
        "incremental_rank",
        "locality",
    ]
    assert set(REGISTRY.experiments) == {e.name for e in EXPERIMENTS} | {"tools"}
    assert set(REGISTRY.trainings) == {e.name for e in EXPERIMENTS if e.training}
