# The figure rules, made from the manifest (workflow/figures.py): one rule per notebook runs it with
# papermill on the runs of each of its figures, and one target rule per figure id (and per extra
# target, e.g. rank_complexity: all four of its figures) where no figure rule has that name.
from figures import configured_figures, figure_rules, path_params, target_rules

FIGURE_RULES = figure_rules(config)

for _rule in FIGURE_RULES:
    _outputs = _rule.first.outputs(OUT, _rule.pattern)
    _category = f"Paper {_rule.first.paper} figures"
    # the notebook's caption, or the generic one of a figure without its own
    _caption = _rule.notebook if os.path.isfile(f"{workflow.basedir}/workflow/report/{_rule.notebook}.rst") else "figure"
    _outputs["png"] = report(_outputs["png"], caption=f"../report/{_caption}.rst", category=_category)
    if "full_png" in _outputs:
        _outputs["full_png"] = report(
            _outputs["full_png"], caption=f"../report/{_rule.notebook}_full.rst", category=_category
        )

    rule:
        name:
            _rule.name
        localrule: True
        input:
            notebook=f"notebooks/{_rule.notebook}.ipynb",
            metrics=lambda wc, r=_rule: FIGURE_RUNS.files(r.figure(wc).runs(config), "metrics.csv"),
            summaries=lambda wc, r=_rule: FIGURE_RUNS.files(r.figure(wc).runs(config), "summary.json"),
        output:
            **_outputs,
        wildcard_constraints:
            **_rule.wildcard_constraints(),
        params:
            # settings apart from paths, so that Snakemake's params trigger sees a changed claim rule
            settings=lambda wc, r=_rule: papermill_params(**r.figure(wc).settings(config)),
            paths=lambda wildcards, input, output, r=_rule: papermill_params(
                **path_params(r.figure(wildcards), config, input, output)
            ),
        log:
            f"{OUT}/logs/{_rule.notebook}/{'{figure}' if _rule.shared else 'figure'}.log",
        conda:
            CONDA_ENV
        shell:
            "{PAPERMILL} {input.notebook} {output.notebook} -y {params.settings} -y {params.paths} > {log} 2>&1"


for _name, _files in target_rules(config, OUT, {r.name for r in FIGURE_RULES}).items():

    rule:
        name:
            _name
        input:
            _files,


# what this run makes: a figure from shipped runs only when all its runs are shipped (NOT_RUN says why not)
for _figure in configured_figures(config):
    if FIGURE_RUNS.made(_figure.id, _figure.runs(config)):
        (PAPER1_TARGETS if _figure.paper == 1 else PAPER2_TARGETS).extend(_figure.files(OUT))
        CLAIMS.append(_figure.outputs(OUT)["claims"])
