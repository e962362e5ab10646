# REPLICATION.md: the verdict first (one line per figure: did the paper's behaviour replicate, did
# its numbers, where the other scales' results are), then one block per figure with what its settings
# change from the paper (the config's changes_from_paper) and its claims. verdict.rst, the same
# verdict, is the HTML report's first page (the Snakefile's `report:`).
from pathlib import Path

from figures import MANIFEST
from rule_helpers import CONFIG_FILES, elsewhere, key_values

from impreg.config import load_config
from impreg.shipped import SCALES, read_origin

# figure -> what its settings change from the paper (one line), for the report and the onerror summary;
# from the shipped runs, the text recorded with them
SHIPPED_ORIGIN = read_origin(Path(SHIPPED_DIR), config["scale"]) if FROM_SHIPPED else None
FIGURE_CHANGES = figure_changes(CLAIMS, MANIFEST, config, SHIPPED_ORIGIN)
# figure -> where its results at the other shipped scales are (read from results/shipped)
FIGURE_ELSEWHERE = elsewhere(
    configured_figures(config),
    config["scale"],
    {
        s: load_config(Path(workflow.basedir, CONFIG_FILES[s]), Path(workflow.basedir, "config/schema.yaml"))
        for s in SCALES
        if s != config["scale"]
    },
)


# the figures whose runs want a GPU at this scale (said in the report where they were not run)
WANTS_GPU = tuple(f.id for f in configured_figures(config) if f.wants_gpu(config))

# figure -> {dataset it downloads: data files made from it}, from the manifest
FIGURE_DOWNLOADS = {
    f.id: {d: [f"{RESULTS}/{p}" for p in made] for d, made in f.downloads(config).items()}
    for f in configured_figures(config)
}


localrules:
    report,


rule report:
    input:
        CLAIMS,
    output:
        md=report(f"{OUT}/REPLICATION.md", caption="../report/replication.rst", category="Replication report"),
        landing=f"{OUT}/verdict.rst",
    params:
        figures_dir=f"{OUT}/figures",
        changes=key_values(FIGURE_CHANGES),
        elsewhere=key_values(FIGURE_ELSEWHERE),
        wants_gpu=" ".join(WANTS_GPU),
        extras=report_extras(FIGURE_RUNS, SHIPPED_DIR, config["scale"]),
    log:
        f"{OUT}/logs/report.log",
    conda:
        CONDA_ENV
    shell:
        "{IMPREG} report --claims {input} --out {output.md} --landing {output.landing}"
        " --figures-dir {params.figures_dir} --changes {params.changes} --elsewhere {params.elsewhere}"
        " --wants-gpu {params.wants_gpu}"
        " {params.extras} > {log} 2>&1"
