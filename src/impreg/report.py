"""REPLICATION.md: one summary table of verdicts, then one block per figure (the figure, what its
settings change from the paper, and its claims in short cells). The full record of every claim
stays in results/claims/<figure>.json. A figure that did not run (its data missing, a job failed)
is listed as not run, with why, and none of its claims is counted."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

from impreg.claims import Claim, read_claims
from impreg.io import atomic_path

# figure id -> (what it reproduces, extension: a figure the papers do not have)
FIGURES = {
    "tf_dynamics": ("P1 Fig. 3", False),
    "tf_dynamics_variants": ("P1 appendix (order 3, Huber loss, sensing)", False),
    "rank_complexity": ("P1 Fig. 4 (MNIST, Fashion-MNIST)", False),
    "rank_complexity_mnist5k": ("P1 Fig. 4, MNIST panel, on 5000 MNIST training images", False),
    "rank_complexity_cifar10": ("extension of P1 Fig. 4 to CIFAR-10", True),
    "rank_complexity_digits": ("extension of P1 Fig. 4 to sklearn's 8x8 digits", True),
    "incremental_rank": ("P2 Fig. A", False),
    "htf_detail": ("P2 appendix (hierarchical detail)", False),
    "locality": ("P2 Fig. C (ResNet18)", False),
    "locality_resnet34": ("P2 Fig. D (ResNet34)", False),
}
CELL_CHARS = 140  # longer cells are cut; the claims file holds them whole


def _cell(value, limit: int = CELL_CHARS) -> str:
    if value is None or value == "":
        return "–"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text.replace("|", "\\|")


def _counts(claims: list[Claim]) -> Counter:
    return Counter(c.verdict for c in claims)


def _summary(claims_by_figure: dict[str, list[Claim]], not_run: dict[str, str]) -> list[str]:
    lines = ["| figure | reproduces | pass | FAIL | not checked |", "|---|---|---|---|---|"]
    totals = {False: Counter(), True: Counter()}
    for figure in ordered([*claims_by_figure, *not_run]):
        what, extension = FIGURES.get(figure, (figure, False))
        if figure in not_run:
            lines.append(f"| [{figure}](#{figure}) | {what} — **not run** | – | – | – |")
            continue
        n = _counts(claims_by_figure[figure])
        totals[extension] += n
        lines.append(f"| [{figure}](#{figure}) | {what} | {n['pass']} | {n['FAIL']} | {n['not checked']} |")
    for extension, label in ((False, "**paper claims**"), (True, "**extension claims**")):
        n = totals[extension]
        if sum(n.values()):
            lines.append(f"| {label} | | {n['pass']} | {n['FAIL']} | {n['not checked']} |")
    return lines


def _not_run_block(figure: str, reason: str) -> list[str]:
    what, extension = FIGURES.get(figure, (figure, False))
    return [f"## {figure}", "", f"{what}{' — an extension, counted apart' if extension else ''}.", "",
            f"**Not run:** {' '.join(reason.split())}. None of its claims was computed.", ""]


def _block(figure: str, claims: list[Claim], figures_dir: Path | None, report_dir: Path,
           changes: str | None, claims_file: str) -> list[str]:
    what, extension = FIGURES.get(figure, (figure, False))
    lines = [f"## {figure}", "", f"{what}{' — an extension, counted apart' if extension else ''}.", ""]
    if figures_dir is not None:
        png = Path(figures_dir) / f"{figure}.png"
        if png.exists():
            lines += [f"![{figure}]({os.path.relpath(png, report_dir)})", ""]
    if changes:
        lines += [f"**Changes from the paper:** {' '.join(changes.split())}", ""]
    lines += ["| claim | statement | paper | measured | verdict |", "|---|---|---|---|---|"]
    for c in claims:
        measured = c.measured if c.passed is not None else f"not checked: {c.note}"
        lines.append("| " + " | ".join([c.id, _cell(c.statement), _cell(c.paper, 80), _cell(measured),
                                        f"**{c.verdict}**"]) + " |")
    return lines + ["", f"Every claim in full (tolerance, notes): `{claims_file}`.", ""]


def render_report(claims_by_figure: dict[str, list[Claim]], figures_dir: Path | None, report_dir: Path,
                  changes: dict[str, str] | None = None, not_run: dict[str, str] | None = None,
                  source: str | None = None, claims_files: dict[str, str] | None = None,
                  scale: str | None = None) -> str:
    """The report; ``not_run`` maps each figure that did not run to why (it has no claims), ``source``
    says where the runs come from, ``claims_files`` names each figure's claims file (relative to the
    report; default claims/<figure>.json), ``scale`` the scale when no claim says it."""
    not_run = {f: why for f, why in (not_run or {}).items() if f not in claims_by_figure}
    counts = _counts([c for claims in claims_by_figure.values() for c in claims])
    scales = sorted({c.scale for claims in claims_by_figure.values() for c in claims if c.scale})
    scales = scales or ([scale] if scale else [])
    lines = [
        "# Replication report",
        "",
        f"Scale: {', '.join(scales) or 'unknown'}. "
        f"Claims: {counts.get('pass', 0)} pass, {counts.get('FAIL', 0)} fail, "
        f"{counts.get('not checked', 0)} not checked at this scale."
        + (f" Not run: {len(not_run)} figure{'s' if len(not_run) > 1 else ''} ({', '.join(ordered(list(not_run)))}), "
           "whose claims are counted nowhere." if not_run else ""),
        "",
        *([" ".join(source.split()), ""] if source else []),
        "Each claim is computed from the runs by the package (`impreg.claims`) and judged against the "
        "paper's value by a rule fixed before the runs. A claim that could not be checked says why.",
        "",
        *_summary(claims_by_figure, not_run),
        "",
    ]
    for figure in ordered([*claims_by_figure, *not_run]):
        if figure in not_run:
            lines += _not_run_block(figure, not_run[figure])
        else:
            lines += _block(figure, claims_by_figure[figure], figures_dir, report_dir, (changes or {}).get(figure),
                            (claims_files or {}).get(figure, f"claims/{figure}.json"))
    return "\n".join(lines)


def ordered(figures: list[str]) -> list[str]:
    """The papers' order (FIGURES), then any other figure by name."""
    known = [f for f in FIGURES if f in figures]
    return known + sorted(f for f in figures if f not in FIGURES)


def write_replication_report(claims_files: list[Path], out: Path, figures_dir: str | None = None,
                             changes: dict[str, str] | None = None, not_run: dict[str, str] | None = None,
                             source: str | None = None, scale: str | None = None) -> None:
    by_stem = {Path(p).stem: Path(p) for p in claims_files}
    claims_by_figure = {f: read_claims(by_stem[f]) for f in ordered(list(by_stem))}
    # named relative to the report, so that a report copied with its folder still points at them
    relative = {f: os.path.relpath(p, out.parent) for f, p in by_stem.items()}
    text = render_report(claims_by_figure, Path(figures_dir) if figures_dir else None, out.parent, changes,
                         not_run, source, relative, scale)
    with atomic_path(out) as tmp:
        tmp.write_text(text)
