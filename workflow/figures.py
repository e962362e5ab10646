"""The figure manifest: the figures the experiments declare (impreg.experiments), each with its
notebook, the runs it reads and the settings it is given.

workflow/rules/figures.smk makes the figure rules from it. The figures of one notebook share one
rule: named after the notebook when the notebook makes one figure, else ``<notebook>_figure`` with
the figure id as a wildcard. A rule runs its notebook with papermill on the figure's runs and writes
``<out>/{figures,claims,notebooks}/<id>.*`` plus the figure's extra outputs.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from rule_helpers import notebook_outputs

from impreg.experiments import FIGURES as DECLARED
from impreg.experiments.declare import FigureSpec, on_cuda

# extra outputs a figure may declare: output key -> path under the output folder
EXTRAS = {
    # a second figure (every panel over its full range), captioned by report/<notebook>_full.rst
    "full": {"full_pdf": "figures/{id}_full.pdf", "full_png": "figures/{id}_full.png"},
    # a table; the notebook gets the path stem as out_table
    "table": {f"table_{ext}": f"tables/{{id}}.{ext}" for ext in ("csv", "md", "tex")},
}


@dataclass(frozen=True)
class Figure(FigureSpec):
    """A figure as its experiment declares it (impreg.experiments), with the files the workflow makes of it."""

    @classmethod
    def of(cls, spec: FigureSpec) -> Figure:
        unknown = sorted(set(spec.extras) - set(EXTRAS))
        if unknown:
            raise ValueError(f"figure {spec.id} asks for extras {unknown}; known: {sorted(EXTRAS)}")
        return cls(**{f.name: getattr(spec, f.name) for f in fields(spec)})

    def outputs(self, out: str, figure: str | None = None) -> dict[str, str]:
        """Output key -> path; ``figure`` (default the id) names the files, e.g. a wildcard."""
        figure = figure or self.id
        std = notebook_outputs(figure, out)
        extra = {
            k: f"{out}/{p.format(id=figure)}"
            for name in self.extras
            for k, p in EXTRAS[name].items()
        }
        figures = {k: v for k, v in extra.items() if not k.startswith("table_")}
        tables = {k: v for k, v in extra.items() if k.startswith("table_")}
        return {
            "pdf": std["pdf"],
            "png": std["png"],
            **figures,
            "claims": std["claims"],
            "notebook": std["notebook"],
            **tables,
        }

    def wants_gpu(self, config: dict) -> bool:
        """Whether its runs ask for a GPU under ``config`` (its section's ``gpu``, or a CUDA config)."""
        return bool(config[self.experiment].get("gpu")) or on_cuda(config)

    def files(self, out: str) -> list[str]:
        """What its targets ask for: every output but the executed notebook, the extras last."""
        outputs = self.outputs(out)
        return [outputs.pop(k) for k in ("pdf", "png", "claims")] + [
            p for k, p in outputs.items() if k != "notebook"
        ]


def path_params(figure: Figure, config: dict, input, output) -> dict:
    """The notebook's file parameters: its runs' files, per-run parameters, then where to write."""
    figures = {
        f"out_{k}": v
        for k, v in output.items()
        if k not in ("notebook", "claims") and "table_" not in k
    }
    table = {"out_table": output.table_csv.removesuffix(".csv")} if "table" in figure.extras else {}
    return (
        {"summaries": list(input.summaries), "metrics": list(input.metrics)}
        | figure.run_params(config)
        | figures
        | {"out_claims": output.claims}
        | table
    )


FIGURES: tuple[Figure, ...] = tuple(map(Figure.of, DECLARED))
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
    """The figures of this config: those with runs (a locality figure may list none)."""
    return [f for f in FIGURES if f.runs(config)]


def figure_rules(config: dict) -> list[FigureRule]:
    configured = configured_figures(config)
    rules = []
    for notebook in dict.fromkeys(f.notebook for f in FIGURES):
        figures = {f.id: f for f in configured if f.notebook == notebook}
        if figures:
            if len({(f.extras, f.paper) for f in figures.values()}) > 1:
                raise ValueError(
                    f"the figures of notebook {notebook} differ in extra outputs or paper"
                )
            rules.append(
                FigureRule(notebook, figures, sum(f.notebook == notebook for f in FIGURES) > 1)
            )
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
