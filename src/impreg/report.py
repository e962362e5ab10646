"""REPLICATION.md: the verdict first, one line per figure (did the paper's behaviour replicate, did
its numbers, and where the figure's result at another scale is), then one block per figure (the
figure, what its settings change from the paper, and its claims in short cells). The full record of
every claim stays in claims/<figure>.json beside the report. A figure that did not run (its data
missing, a job failed) is listed as not run, with why, and none of its claims is counted.

The same verdict lines, as reStructuredText, open the HTML report (``landing``)."""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from impreg.claims import Claim, read_claims
from impreg.io import atomic_path
from impreg.paper_figures import ordered, paper_figure
from impreg.verdicts import FigureVerdict, Tally

CELL_CHARS = 140  # longer cells are cut; the claims file holds them whole
NOT_RUN = "not run"
VERDICT_HEADER = (
    "figure",
    "paper",
    "its behaviour replicated",
    "its numbers replicated",
    "other scales",
)
INTRO = (
    "Behaviour: the claims on what the paper's figure shows (components learned one at a time, errors "
    "falling in steps, accuracy falling to chance, ...); numbers: the claims on values read off it, each "
    "within the tolerance it states. (k of n): k of the n claims checked pass."
)


@dataclass(frozen=True)
class Report:
    """What the report says: the claims of each figure made, why each other figure was not, what
    each figure's settings change from the paper, and where its results at other scales are."""

    claims: dict[str, list[Claim]]
    not_run: dict[str, str]
    scale: str
    changes: dict[str, str]
    elsewhere: dict[str, str]
    source: str | None = None
    wants_gpu: frozenset[str] = frozenset()  # figures whose runs want a GPU at this scale

    @property
    def figures(self) -> list[str]:
        return ordered([*self.claims, *self.not_run])

    def not_run_here(self, figure: str) -> str:
        return NOT_RUN + (" (its runs want a GPU)" if figure in self.wants_gpu else "")

    def verdict_rows(self) -> list[tuple[str, ...]]:
        """One row per figure: VERDICT_HEADER's columns (the figure id unformatted)."""
        rows = []
        for figure in self.figures:
            if figure in self.claims:
                verdict = FigureVerdict.of(self.claims[figure])
                cells = (verdict.behaviour.text(), verdict.numbers.text())
            else:
                cells = (self.not_run_here(figure), NOT_RUN)
            rows.append(
                (figure, paper_figure(figure).label, *cells, self.elsewhere.get(figure, "–"))
            )
        return rows

    def totals(self) -> str:
        """The claims of paper figures and of extensions, counted apart."""
        parts = []
        for extension, label in ((False, "Paper claims"), (True, "Extension claims")):
            claims = [
                c
                for f, cs in self.claims.items()
                if paper_figure(f).extension == extension
                for c in cs
            ]
            if claims:
                n = Tally.of(claims)
                parts.append(
                    f"{label}: {n.passed} pass, {n.failed} fail, {n.unchecked} not checked."
                )
        return " ".join(parts)


def _cell(value, limit: int = CELL_CHARS) -> str:
    if value is None or value == "":
        return "–"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text.replace("|", "\\|")


def _md_row(cells) -> str:
    return "| " + " | ".join(cells) + " |"


def _verdict_table(report: Report) -> list[str]:
    lines = [_md_row(VERDICT_HEADER), _md_row(["---"] * len(VERDICT_HEADER))]
    for figure, label, behaviour, numbers, elsewhere in report.verdict_rows():
        cells = [re.sub(f"^{NOT_RUN}", f"**{NOT_RUN}**", c) for c in (behaviour, numbers)]
        lines.append(_md_row([f"[{figure}](#{figure})", label, *cells, _cell(elsewhere, 10**4)]))
    return lines


def _heading(report: Report) -> list[str]:
    counts = Counter(c.verdict for claims in report.claims.values() for c in claims)
    not_run = ordered(list(report.not_run))
    return [
        f"# Replication report: {report.scale} scale",
        "",
        f"Claims: {counts['pass']} pass, {counts['FAIL']} fail, {counts['not checked']} not checked at this scale."
        + (
            f" Not run: {len(not_run)} figure{'s' if len(not_run) > 1 else ''} ({', '.join(not_run)}), whose claims "
            "are counted nowhere."
            if not_run
            else ""
        ),
        "",
        *([" ".join(report.source.split()), ""] if report.source else []),
    ]


def _not_run_block(figure: str, reason: str) -> list[str]:
    return [
        f"## {figure}",
        "",
        f"{paper_figure(figure).label}.",
        "",
        f"**Not run:** {' '.join(reason.split())}. None of its claims was computed.",
        "",
    ]


def _block(
    figure: str,
    claims: list[Claim],
    figures_dir: Path | None,
    report_dir: Path,
    changes: str | None,
    claims_file: str,
) -> list[str]:
    lines = [
        f"## {figure}",
        "",
        f"{paper_figure(figure).label}: {FigureVerdict.of(claims).text()}.",
        "",
    ]
    if figures_dir is not None:
        png = Path(figures_dir) / f"{figure}.png"
        if png.exists():
            lines += [f"![{figure}]({os.path.relpath(png, report_dir)})", ""]
    if changes:
        lines += [f"**Changes from the paper:** {' '.join(changes.split())}", ""]
    lines += ["| claim | statement | paper | measured | verdict |", "|---|---|---|---|---|"]
    for c in claims:
        measured = c.measured if c.passed is not None else f"not checked: {c.note}"
        lines.append(
            _md_row(
                [c.id, _cell(c.statement), _cell(c.paper, 80), _cell(measured), f"**{c.verdict}**"]
            )
        )
    return lines + ["", f"Every claim in full (tolerance, notes): `{claims_file}`.", ""]


def render_report(
    report: Report,
    figures_dir: Path | None,
    report_dir: Path,
    claims_files: dict[str, str] | None = None,
) -> str:
    """The Markdown report; ``claims_files`` names each figure's claims file (relative to the report;
    default claims/<figure>.json)."""
    lines = [
        *_heading(report),
        "## Verdict",
        "",
        *_verdict_table(report),
        "",
        INTRO,
        "",
        *([report.totals(), ""] if report.claims else []),
        "Each claim is computed from the runs by the package (`impreg.claims`) and judged against the "
        "paper's value by a rule fixed before the runs. A claim that could not be checked says why.",
        "",
    ]
    for figure in report.figures:
        if figure in report.not_run:
            lines += _not_run_block(figure, report.not_run[figure])
        else:
            lines += _block(
                figure,
                report.claims[figure],
                figures_dir,
                report_dir,
                report.changes.get(figure),
                (claims_files or {}).get(figure, f"claims/{figure}.json"),
            )
    return "\n".join(lines)


def render_landing(report: Report, replication_md: str) -> str:
    """The HTML report's first page (reStructuredText, narrow): one line per figure, its verdict or,
    for a figure not run, where its results at other scales are."""

    def text(value: str) -> str:
        return " ".join(value.split()).replace("`", "'").replace("*", "")

    lines = []
    for figure in report.figures:
        verdict = (
            FigureVerdict.of(report.claims[figure]).text()
            if figure in report.claims
            else f"{report.not_run_here(figure)}; {report.elsewhere.get(figure, 'not shipped elsewhere')}"
        )
        lines.append(f"- **{figure}**, {paper_figure(figure).label}: {text(verdict)}")
    heading = f"Replication at {report.scale} scale: the verdict"
    return "\n".join(
        [
            heading,
            "=" * len(heading),
            "",
            *lines,
            "",
            text(INTRO),
            "",
            f"Claim by claim, with the other scales' results: {replication_md} (in the menu).",
            "",
        ]
    )


def write_replication_report(
    claims_files: list[Path],
    out: Path,
    figures_dir: str | None = None,
    changes: dict[str, str] | None = None,
    not_run: dict[str, str] | None = None,
    source: str | None = None,
    scale: str | None = None,
    elsewhere: dict[str, str] | None = None,
    landing: Path | None = None,
    wants_gpu: Collection[str] = (),
) -> None:
    """REPLICATION.md at ``out`` (and, with ``landing``, the HTML report's first page there)."""
    by_stem = {Path(p).stem: Path(p) for p in claims_files}
    claims = {f: read_claims(by_stem[f]) for f in ordered(list(by_stem))}
    scales = sorted({c.scale for cs in claims.values() for c in cs if c.scale})
    report = Report(
        claims,
        {f: why for f, why in (not_run or {}).items() if f not in claims},
        ", ".join(scales) or scale or "unknown",
        changes or {},
        elsewhere or {},
        source,
        frozenset(wants_gpu),
    )
    # named relative to the report, so that a report copied with its folder still points at them
    relative = {f: os.path.relpath(p, out.parent) for f, p in by_stem.items()}
    text = render_report(report, Path(figures_dir) if figures_dir else None, out.parent, relative)
    with atomic_path(out) as tmp:
        tmp.write_text(text)
    if landing is not None:
        with atomic_path(landing) as tmp:
            tmp.write_text(render_landing(report, str(out)))
