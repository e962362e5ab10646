# REPLICATION.md: a summary table of the verdicts, then one block per figure with what its
# settings change from the paper (the config's changes_from_paper) and its claims.
import shlex
from pathlib import Path

from figures import MANIFEST


def figure_changes_map(claims_files):
    """FIGURE -> TEXT for every figure whose section says what it changes."""
    out = {}
    for path in claims_files:
        figure = Path(path).stem
        section = MANIFEST[figure].experiment if figure in MANIFEST else None
        text = " ".join(str(config.get(section, {}).get("changes_from_paper", "")).split())
        if text:
            out[figure] = text
    return out


def figure_changes(claims_files):
    """--changes arguments: FIGURE=TEXT for every figure whose section says what it changes."""
    return " ".join(shlex.quote(f"{f}={t}") for f, t in figure_changes_map(claims_files).items())


# figure -> {dataset it downloads: data files made from it}, from the manifest
FIGURE_DOWNLOADS = {f.id: f.downloads(config) for f in configured_figures(config)}


localrules:
    report,


rule report:
    input:
        CLAIMS,
    output:
        report(f"{OUT}/REPLICATION.md", caption="../report/replication.rst", category="0 Summary"),
    params:
        impreg=IMPREG,
        figures_dir=f"{OUT}/figures",
        changes=figure_changes(CLAIMS),
        extras=report_extras(FIGURE_RUNS, SHIPPED_DIR, config["scale"]),
    log:
        f"{OUT}/logs/report.log",
    conda:
        CONDA_ENV
    shell:
        "{params.impreg} report --claims {input} --out {output} --figures-dir {params.figures_dir}"
        " --changes {params.changes} {params.extras} > {log} 2>&1"
