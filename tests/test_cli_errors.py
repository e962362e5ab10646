"""What the command line says when it is used wrongly: one line per bad value (the flag, the value,
what is allowed), a wrong flag with its command's usage, help on every flag, the version, and a
broken config file named."""

import argparse
import subprocess
import sys

import pytest

import impreg
from impreg.cli import build_parser, main


def _error(capsys, argv: list[str]) -> list[str]:
    """The lines a failed command writes to stderr (it must exit with status 2)."""
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code
    assert code == 2
    return capsys.readouterr().err.splitlines()


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (
            ["train", "tf-dynamics", "--dtype", "float65"],
            "impreg train tf-dynamics: error: argument --dtype: 'float65' is not allowed: it must be one of float32, float64",
        ),
        (
            ["train", "tf-dynamics", "--lr", "-1"],
            "impreg train tf-dynamics: error: argument --lr: -1.0 is not allowed: it must be a finite number > 0",
        ),
        (
            ["train", "incremental-rank", "--model", "cp"],
            "impreg train incremental-rank: error: argument --model: 'cp' is not allowed: it must be one of mf, tf, htf",
        ),
        (
            ["train", "rank-complexity", "--ranks", "2", "2"],
            "impreg train rank-complexity: error: argument --ranks: (2, 2) is not allowed: it must be distinct integers >= 1",
        ),
        (
            [
                "train",
                "locality",
                "--task",
                "pathfinder",
                "--x",
                "9",
                "--lam",
                "0",
                "--seed",
                "0",
                "--momentum",
                "1.5",
            ],
            "impreg train locality: error: argument --momentum: 1.5 is not allowed: it must be in [0, 1)",
        ),
        (
            ["make-data", "tf-dynamics", "--order", "0", "--out", "x.npz"],
            "impreg make-data tf-dynamics: error: argument --order: 0 is not allowed: it must be >= 2",
        ),
        (
            ["train", "tf-dynamics", "--lr", "fast"],
            "impreg train tf-dynamics: error: argument --lr: invalid float value: 'fast'",
        ),
        (
            ["make-data", "ht-completion", "--ranks", "5,x", "--out", "x.npz"],
            "impreg make-data ht-completion: error: argument --ranks: '5,x' is not comma-separated integers",
        ),
    ],
)
def test_a_bad_value_gets_one_line_naming_the_flag_the_value_and_what_is_allowed(
    capsys, tmp_path, argv, line
):
    argv = [
        *argv,
        *(
            ["--data", str(tmp_path / "d.npz"), "--out-dir", str(tmp_path / "r")]
            if argv[0] == "train"
            else []
        ),
    ]
    assert _error(capsys, argv) == [line]
    assert not (tmp_path / "r").exists()


def test_a_wrong_flag_shows_the_usage_of_its_own_command(capsys):
    lines = _error(
        capsys, ["train", "tf-dynamics", "--data", "d.npz", "--out-dir", "r", "--bogus", "1"]
    )
    assert lines[0].startswith("usage: impreg train tf-dynamics [-h] --data DATA --out-dir OUT_DIR")
    assert lines[-1] == (
        "impreg train tf-dynamics: error: unrecognized arguments: --bogus 1 "
        "(see impreg train tf-dynamics --help)"
    )
    lines = _error(capsys, ["make-data", "pathfinder", "--out", "x.npz"])  # a required flag missing
    assert (
        lines[0].startswith("usage: impreg make-data pathfinder") and "--path-length" in lines[-1]
    )


def _commands(parser: argparse.ArgumentParser, words: tuple[str, ...] = ()):
    """Every command's parser, with the words that reach it."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, (*words, name))
    if not any(isinstance(a, argparse._SubParsersAction) for a in parser._actions):
        yield words, parser


def test_every_flag_of_every_command_has_help():
    commands = list(_commands(build_parser()))
    assert len(commands) == 17
    for words, parser in commands:
        parser.format_help()  # adds the command's flags
        bare = [a.option_strings or a.dest for a in parser._actions if not (a.help or "").strip()]
        assert not bare, (words, bare)


def test_version():
    proc = subprocess.run(
        [sys.executable, "-m", "impreg", "--version"], capture_output=True, text=True
    )
    assert proc.returncode == 0 and proc.stdout.strip() == f"impreg {impreg.__version__}"


def test_check_config_names_a_broken_file_and_validates_files_in_order(capsys, tmp_path, root):
    broken = tmp_path / "broken.yaml"
    broken.write_text("scale: quick\ntf_dynamics:\n  lr: [0.1\n")
    [line] = _error(
        capsys, ["check-config", str(broken), "--schema", str(root / "config" / "schema.yaml")]
    )
    assert line.startswith(
        f"impreg: error: config file {broken} is not valid YAML at line 4, column 1: "
    )
    override = tmp_path / "lr.yaml"
    override.write_text("tf_dynamics:\n  lr: -0.5\n")
    quick = str(root / "config" / "quick.yaml")
    lines = _error(
        capsys,
        ["check-config", quick, str(override), "--schema", str(root / "config" / "schema.yaml")],
    )
    assert lines[0] == f"impreg: error: {quick} + {override}: invalid configuration:"
    assert lines[1].startswith(
        "  - config key 'tf_dynamics.lr': value -0.5 breaks the rule 'exclusiveMinimum: 0'"
    )
    override.write_text("tf_dynamics:\n  lr: 0.02\n")
    assert (
        main(
            ["check-config", quick, str(override), "--schema", str(root / "config" / "schema.yaml")]
        )
        == 0
    )
    assert (
        capsys.readouterr().out == f"{quick} + {override}: a valid configuration at scale quick\n"
    )
