"""The figures this replication makes, by id: the papers' figure each one reproduces, as every
report, the end of a run, the README and the figure pages name it (tests/test_paper_figures.py
checks that they agree). Each experiment's module declares its figures' labels."""

from __future__ import annotations

from dataclasses import dataclass

from impreg.experiments import FIGURES as EXPERIMENT_FIGURES


@dataclass(frozen=True)
class PaperFigure:
    label: str  # the papers' figure: "P1 Fig. 3", "P2 Fig. B (appendix)", ...
    extension: bool = False  # a figure the papers do not have: its claims are counted apart


# in the papers' order: each experiment's figures as its module declares them (impreg.experiments)
FIGURES: dict[str, PaperFigure] = {
    f.id: PaperFigure(f.label, f.extension) for f in EXPERIMENT_FIGURES
}


def paper_figure(figure: str) -> PaperFigure:
    """The figure's label (a figure unknown here is labelled by its id)."""
    return FIGURES.get(figure, PaperFigure(figure))


def ordered(figures: list[str]) -> list[str]:
    """The papers' order (FIGURES), then any other figure by name."""
    known = [f for f in FIGURES if f in figures]
    return known + sorted(f for f in figures if f not in FIGURES)
