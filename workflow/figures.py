"""The figure manifest: per figure, its notebook, the runs it reads and the settings it is given.

workflow/rules/figures.smk makes the figure rules from it. The figures of one notebook share one
rule: named after the notebook when the notebook makes one figure, else ``<notebook>_figure`` with
the figure id as a wildcard. A rule runs its notebook with papermill on the figure's runs and writes
``<out>/{figures,claims,notebooks}/<id>.*`` plus the figure's extra outputs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from image_rules import RC_FIGURES, loc_downloads, rc_downloads, rc_run_dirs
from rule_helpers import notebook_outputs

from impreg.experiments import incremental_rank, tf_dynamics
from impreg.experiments import locality as locality_experiment

Settings = Callable[[dict], dict]

# extra outputs a figure may declare: output key -> path under the output folder
EXTRAS = {
    # a second figure (every panel over its full range), captioned by report/<notebook>_full.rst
    "full": {"full_pdf": "figures/{id}_full.pdf", "full_png": "figures/{id}_full.png"},
    # a table; the notebook gets the path stem as out_table
    "table": {f"table_{ext}": f"tables/{{id}}.{ext}" for ext in ("csv", "md", "tex")},
}


@dataclass(frozen=True)
class Figure:
    id: str
    notebook: str  # notebooks/<notebook>.ipynb, captioned by workflow/report/<notebook>.rst
    experiment: str  # the config section whose changes_from_paper the report shows
    paper: int  # 1 or 2: its target list (paper1, paper2) and report category
    runs: Callable[[dict], list[str]]  # config -> its run folders (runs/<experiment>/<run>), in notebook order
    settings: Settings  # config -> notebook parameters apart from paths (a change reruns the figure)
    extras: tuple[str, ...] = ()  # keys of EXTRAS
    run_params: Settings = lambda config: {}  # config -> per-run parameters passed beside the run files
    targets: tuple[str, ...] = ()  # target rules that build it, beside its id
    # config -> {dataset its data jobs download: the data files made from it}, so that a run without
    # network can say which figures wait for which files
    downloads: Callable[[dict], dict[str, list[str]]] = lambda config: {}

    def outputs(self, out: str, figure: str | None = None) -> dict[str, str]:
        """Output key -> path; ``figure`` (default the id) names the files, e.g. a wildcard."""
        figure = figure or self.id
        std = notebook_outputs(figure, out)
        extra = {k: f"{out}/{p.format(id=figure)}" for name in self.extras for k, p in EXTRAS[name].items()}
        figures = {k: v for k, v in extra.items() if not k.startswith("table_")}
        tables = {k: v for k, v in extra.items() if k.startswith("table_")}
        return {"pdf": std["pdf"], "png": std["png"], **figures, "claims": std["claims"],
                "notebook": std["notebook"], **tables}

    def wants_gpu(self, config: dict) -> bool:
        """Whether its runs ask for a GPU under ``config`` (its section's ``gpu``, or a CUDA device)."""
        return bool(config[self.experiment].get("gpu")) or config["device"].startswith("cuda")

    def files(self, out: str) -> list[str]:
        """What its targets ask for: every output but the executed notebook, the extras last."""
        outputs = self.outputs(out)
        return [outputs.pop(k) for k in ("pdf", "png", "claims")] + [p for k, p in outputs.items() if k != "notebook"]


def path_params(figure: Figure, config: dict, input, output) -> dict:
    """The notebook's file parameters: its runs' files, per-run parameters, then where to write."""
    figures = {f"out_{k}": v for k, v in output.items() if k not in ("notebook", "claims") and "table_" not in k}
    table = {"out_table": output.table_csv.removesuffix(".csv")} if "table" in figure.extras else {}
    return ({"summaries": list(input.summaries), "metrics": list(input.metrics)} | figure.run_params(config)
            | figures | {"out_claims": output.claims} | table)


def _with_scale(section: str) -> Settings:
    return lambda c: {"config": c[section], "scale": c["scale"]}


def _htf_detail(c: dict) -> dict:
    irk = c["incremental_rank"]
    return {"config": c["htf_detail"], "htf": irk["htf"], "target_rank": irk["target_rank"], "scale": c["scale"]}


def _rank_complexity(figure: str) -> Settings:
    def settings(c: dict) -> dict:
        rc = c["rank_complexity"]
        # only this figure's datasets, so that another figure's settings never rerun it
        section = {k: v for k, v in rc.items() if k != "datasets"} | {
            "datasets": {d: rc["datasets"][d] for d in RC_FIGURES[figure]}}
        return {"config": section, "scale": c["scale"], "figure": figure, "datasets": RC_FIGURES[figure]}

    return settings


def _locality(figure: str) -> Settings:
    def settings(c: dict) -> dict:
        loc = locality_experiment.figure_section(c["locality"], figure)
        # only this figure's entry, so that the other figure's seeds never rerun it
        return {"config": loc | {"figures": {figure: loc["figures"][figure]}}, "scale": c["scale"],
                "figure": figure, "arch": loc["figures"][figure]["arch"]}

    return settings


def _locality_dirs(c: dict, figure: str) -> list[str]:
    return [f"runs/locality/{run}" for run in locality_experiment.figure_runs(c, figure)]


def _tfd_dirs(c: dict) -> list[str]:
    return [f"runs/tf_dynamics/{run}" for run in tf_dynamics.figure3_runs(c)]


def _tfv_dirs(c: dict) -> list[str]:
    return [f"runs/tf_dynamics_variants/{run}" for run in tf_dynamics.variant_runs(c)]


def _irk_dirs(c: dict, models: tuple[str, ...] = incremental_rank.MODELS) -> list[str]:
    return [f"runs/incremental_rank/{run}" for run in incremental_rank.runs(c, models)]


FIGURES: tuple[Figure, ...] = (
    Figure("tf_dynamics", "tf_dynamics", "tf_dynamics", 1, _tfd_dirs,
           _with_scale("tf_dynamics")),
    Figure("tf_dynamics_variants", "tf_dynamics_variants", "tf_dynamics_variants", 1, _tfv_dirs,
           _with_scale("tf_dynamics_variants"),
           run_params=lambda c: {"variants": [v for v, _, _ in tf_dynamics.variant_grid(c["tf_dynamics_variants"])]}),
    Figure("incremental_rank", "incremental_rank", "incremental_rank", 2, _irk_dirs,
           _with_scale("incremental_rank"), extras=("full",)),
    # the hierarchical runs of incremental_rank in detail (no runs of its own)
    Figure("htf_detail", "htf_detail", "incremental_rank", 2, lambda c: _irk_dirs(c, ("htf",)), _htf_detail),
    *(Figure(f, "rank_complexity", "rank_complexity", 1, lambda c, f=f: rc_run_dirs(c["rank_complexity"], f),
             _rank_complexity(f), extras=("table",), targets=("rank_complexity",),
             downloads=lambda c, f=f: rc_downloads(c["rank_complexity"], f)) for f in RC_FIGURES),
    *(Figure(f, "locality", "locality", 2, lambda c, f=f: _locality_dirs(c, f), _locality(f),
             extras=("table",), downloads=lambda c: loc_downloads(c["locality"]))
      for f in ("locality", "locality_resnet34")),
)
MANIFEST = {f.id: f for f in FIGURES}


@dataclass(frozen=True)
class FigureRule:
    """The rule of one notebook, for those of its figures this config has."""

    notebook: str
    figures: dict[str, Figure]
    shared: bool  # the notebook makes several figures of the manifest: the id is a wildcard

    @property
    def name(self) -> str:
        return f"{self.notebook}_figure" if self.shared else self.notebook

    @property
    def pattern(self) -> str:
        """What names its files: the figure id, or the wildcard."""
        return "{figure}" if self.shared else next(iter(self.figures))

    @property
    def first(self) -> Figure:
        """Its figures share outputs and paper: the first stands for all."""
        return next(iter(self.figures.values()))

    def figure(self, wildcards) -> Figure:
        return self.figures[wildcards.figure] if self.shared else self.figures[self.pattern]

    def wildcard_constraints(self) -> dict[str, str]:
        return {"figure": "|".join(self.figures)} if self.shared else {}


def configured_figures(config: dict) -> list[Figure]:
    """The figures of this config: those with runs (a locality figure without seeds has none)."""
    return [f for f in FIGURES if f.runs(config)]


def figure_rules(config: dict) -> list[FigureRule]:
    configured = configured_figures(config)
    rules = []
    for notebook in dict.fromkeys(f.notebook for f in FIGURES):
        figures = {f.id: f for f in configured if f.notebook == notebook}
        if figures:
            if len({(f.extras, f.paper) for f in figures.values()}) > 1:
                raise ValueError(f"the figures of notebook {notebook} differ in extra outputs or paper")
            rules.append(FigureRule(notebook, figures, sum(f.notebook == notebook for f in FIGURES) > 1))
    return rules


def target_rules(config: dict, out: str, rule_names: set[str]) -> dict[str, list[str]]:
    """Target rule -> files, for every figure id and extra target that is not a figure rule's name."""
    configured = {f.id for f in configured_figures(config)}
    targets: dict[str, list[str]] = {}
    for f in FIGURES:
        for name in dict.fromkeys((f.id, *f.targets)):
            if name not in rule_names:
                targets.setdefault(name, []).extend(f.files(out) if f.id in configured else [])
    return targets
