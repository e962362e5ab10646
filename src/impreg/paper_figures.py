"""The figures this replication makes, by id: the papers' figure each one reproduces, as every
report, the end of a run, the README and the figure pages name it (tests/test_paper_figures.py
checks that they agree)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PaperFigure:
    label: str  # the papers' figure: "P1 Fig. 3", "P2 Fig. B (appendix)", ...
    extension: bool = False  # a figure the papers do not have: its claims are counted apart


FIGURES: dict[str, PaperFigure] = {
    "tf_dynamics": PaperFigure("P1 Fig. 3"),
    "tf_dynamics_variants": PaperFigure("P1 appendix (Fig. 3 at order 3, Huber loss, sensing)"),
    "rank_complexity": PaperFigure("P1 Fig. 4 (MNIST, Fashion-MNIST)"),
    "rank_complexity_mnist5k": PaperFigure("P1 Fig. 4, MNIST panel on 5000 MNIST images"),
    "rank_complexity_cifar10": PaperFigure("P1 Fig. 4 on CIFAR-10 (extension)", extension=True),
    "rank_complexity_digits": PaperFigure("P1 Fig. 4 on 8x8 digits (extension)", extension=True),
    "incremental_rank": PaperFigure("P2 Fig. A"),
    "htf_detail": PaperFigure("P2 Fig. B (appendix)"),
    "locality": PaperFigure("P2 Fig. C (ResNet18)"),
    "locality_resnet34": PaperFigure("P2 Fig. D (appendix, ResNet34)"),
}


def paper_figure(figure: str) -> PaperFigure:
    """The figure's label (a figure unknown here is labelled by its id)."""
    return FIGURES.get(figure, PaperFigure(figure))


def ordered(figures: list[str]) -> list[str]:
    """The papers' order (FIGURES), then any other figure by name."""
    known = [f for f in FIGURES if f in figures]
    return known + sorted(f for f in figures if f not in FIGURES)
