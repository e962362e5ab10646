"""REPLICATION.md: every claims file gathered into one claim-by-claim table."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

from impreg.claims import Claim, read_claims
from impreg.io import atomic_path


def _cell(value) -> str:
    if value is None:
        return "–"
    text = value if isinstance(value, str) else json.dumps(value)
    return text.replace("|", "\\|").replace("\n", " ")


def render_report(claims_by_figure: dict[str, list[Claim]], figures_dir: Path | None, report_dir: Path) -> str:
    counts = Counter(c.verdict for claims in claims_by_figure.values() for c in claims)
    scales = sorted({c.scale for claims in claims_by_figure.values() for c in claims if c.scale})
    lines = [
        "# Replication report",
        "",
        f"Scale: {', '.join(scales) or 'unknown'}. "
        f"Claims: {counts.get('pass', 0)} pass, {counts.get('FAIL', 0)} fail, "
        f"{counts.get('not checked', 0)} not checked at this scale.",
        "",
        "Each claim is checked by code in the figure's notebook against the paper's value; "
        "the tolerance column is the rule it is judged by, fixed before the runs.",
        "",
    ]
    for figure, claims in claims_by_figure.items():
        lines += [f"## {figure}", ""]
        if figures_dir is not None:
            png = Path(figures_dir) / f"{figure}.png"
            if png.exists():
                lines += [f"![{figure}]({os.path.relpath(png, report_dir)})", ""]
        lines += ["| claim | statement | paper | measured | tolerance | verdict | note |",
                  "|---|---|---|---|---|---|---|"]
        for c in claims:
            lines.append("| " + " | ".join([c.id, _cell(c.statement), _cell(c.paper), _cell(c.measured),
                                            _cell(c.tolerance), f"**{c.verdict}**", _cell(c.note)]) + " |")
        lines.append("")
    return "\n".join(lines)


def write_replication_report(claims_files: list[Path], out: Path, figures_dir: str | None = None) -> None:
    claims_by_figure = {Path(p).stem: read_claims(p) for p in sorted(claims_files)}
    text = render_report(claims_by_figure, Path(figures_dir) if figures_dir else None, out.parent)
    with atomic_path(out) as tmp:
        tmp.write_text(text)
