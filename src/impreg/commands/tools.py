"""Commands that belong to no one experiment: the replication report and the shipped results.

    python -m impreg report --claims results/quick/claims/*.json --out results/quick/REPLICATION.md
    python -m impreg ship-runs --to results/shipped/paper --scale paper   # then make figures, ship-outputs

(see impreg.shipped; ``make ship`` runs both around ``make figures``.)
"""

from __future__ import annotations

import argparse
from pathlib import Path

from impreg.cli_args import key_value


def report_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--claims", nargs="*", required=True, help="claims files (none: every figure is not run)"
    )
    p.add_argument(
        "--out",
        required=True,
        help="the Markdown report to write, e.g. results/paper/REPLICATION.md",
    )
    p.add_argument("--figures-dir", default=None, help="link figures relative to the report")
    p.add_argument(
        "--changes",
        nargs="*",
        default=[],
        type=key_value,
        metavar="FIGURE=TEXT",
        help="what a figure's settings change from the paper (one paragraph per figure)",
    )
    p.add_argument(
        "--not-run",
        nargs="*",
        default=[],
        type=key_value,
        metavar="FIGURE=REASON",
        help="figures without claims, listed as not run with why",
    )
    p.add_argument(
        "--elsewhere",
        nargs="*",
        default=[],
        type=key_value,
        metavar="FIGURE=TEXT",
        help="where a figure's results at the other scales are (the verdict table's last column)",
    )
    p.add_argument(
        "--wants-gpu",
        nargs="*",
        default=[],
        metavar="FIGURE",
        help="figures whose runs want a GPU at this scale (said where they were not run)",
    )
    p.add_argument("--source", default=None, help="one sentence on where the runs come from")
    p.add_argument("--scale", default=None, help="the scale, said when no claims file says it")
    p.add_argument(
        "--landing",
        default=None,
        help="also write the verdict as reStructuredText here (the HTML report's first page)",
    )


def report(args: argparse.Namespace) -> None:
    from impreg.report import write_replication_report

    write_replication_report(
        [Path(p) for p in args.claims],
        Path(args.out),
        figures_dir=args.figures_dir,
        changes=dict(args.changes),
        not_run=dict(args.not_run),
        source=args.source,
        scale=args.scale,
        elsewhere=dict(args.elsewhere),
        landing=Path(args.landing) if args.landing else None,
        wants_gpu=args.wants_gpu,
    )
    print(f"wrote {args.out}" + (f" and {args.landing}" if args.landing else ""))


def check_config_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="config files, each over the ones before it, as snakemake --configfile merges them",
    )
    p.add_argument(
        "--schema", default="config/schema.yaml", help="the schema (default: config/schema.yaml)"
    )


def check_config(args: argparse.Namespace) -> None:
    from impreg.config import load_config

    config = load_config(args.files[0], args.schema, *args.files[1:])
    print(f"{' + '.join(args.files)}: a valid configuration at scale {config['scale']}")


def ship_runs_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--results", default="results", help="the workflow run's results folder")
    _add_shipped_folder_flags(p)
    p.add_argument(
        "--runs-commit", default=None, help="the commit that made the runs (default: HEAD)"
    )
    p.add_argument("--config", default="", help="the config file the runs were made with")
    p.add_argument(
        "--figures",
        nargs="*",
        default=None,
        help="only these figures (default: every finished one)",
    )
    p.add_argument("--note", default="", help="a sentence on the runs' origin, kept in ORIGIN.json")


def ship_runs(args: argparse.Namespace) -> None:
    from impreg.shipped import ship_runs as ship

    figures = ship(
        Path(args.results),
        Path(args.to),
        args.scale,
        args.runs_commit,
        args.config,
        args.figures,
        args.note,
    )
    print(f"shipped the runs of {', '.join(figures) or 'no figure'} into {args.to}/runs")


def ship_outputs_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--made", required=True, help="make figures' output folder, e.g. results/from_shipped/paper"
    )
    _add_shipped_folder_flags(p)
    p.add_argument(
        "--runs-commit", default=None, help="the commit that made runs copied in by hand"
    )
    p.add_argument("--config", default="", help="the config file those runs were made with")
    p.add_argument(
        "--note", default="", help="a sentence on those runs' origin, kept in ORIGIN.json"
    )


def ship_outputs(args: argparse.Namespace) -> None:
    from impreg.shipped import ship_outputs as ship
    from impreg.shipped import shipped_size

    figures = ship(
        Path(args.made), Path(args.to), args.scale, args.runs_commit, args.config, args.note
    )
    print(
        f"shipped {', '.join(figures) or 'no figure'} and the report into {args.to}; "
        f"{shipped_size(Path(args.to).parent) / 1e6:.1f} MB shipped in all"
    )


def _add_shipped_folder_flags(p: argparse.ArgumentParser) -> None:
    """Both ship commands write into the shipped folder of one scale."""
    from impreg.shipped import SCALES

    p.add_argument(
        "--to", required=True, help="the shipped folder of this scale, e.g. results/shipped/paper"
    )
    p.add_argument("--scale", required=True, choices=SCALES, help="the scale the runs were made at")
