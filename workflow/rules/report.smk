# REPLICATION.md: a summary table of the verdicts, then one block per figure with what its
# settings change from the paper (the config's changes_from_paper) and its claims.
import shlex
from pathlib import Path

from figures import MANIFEST

from impreg.shipped import read_origin

# figure -> what its settings change from the paper (one line), for the report and the onerror summary;
# from the shipped runs, the text recorded with them
SHIPPED_ORIGIN = read_origin(Path(SHIPPED_DIR), config["scale"]) if FROM_SHIPPED else None
FIGURE_CHANGES = figure_changes(CLAIMS, MANIFEST, config, SHIPPED_ORIGIN)


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
        changes=" ".join(shlex.quote(f"{f}={t}") for f, t in FIGURE_CHANGES.items()),
        extras=report_extras(FIGURE_RUNS, SHIPPED_DIR, config["scale"]),
    log:
        f"{OUT}/logs/report.log",
    conda:
        CONDA_ENV
    shell:
        "{params.impreg} report --claims {input} --out {output} --figures-dir {params.figures_dir}"
        " --changes {params.changes} {params.extras} > {log} 2>&1"
