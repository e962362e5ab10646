"""Every figure has one label (impreg.paper_figures), and the README's table, the figure pages and
the figure manifest agree with it."""

import re
import sys

from impreg.paper_figures import FIGURES, ordered, paper_figure


def test_every_declared_figure_is_in_the_manifest_with_its_notebook_and_caption(root):
    sys.path.insert(0, str(root / "workflow"))
    from figures import MANIFEST

    assert list(MANIFEST) == list(FIGURES)  # the papers' order, as the experiments declare them
    for figure in MANIFEST.values():
        assert figure.paper in (1, 2) and FIGURES[figure.id].label.startswith(
            f"P{figure.paper} "
        ), figure.id
        assert (root / "notebooks" / f"{figure.notebook}.ipynb").is_file(), figure.id
        assert (root / "workflow" / "report" / f"{figure.notebook}.rst").is_file(), figure.id


def test_the_readme_names_each_figure_by_its_label(root):
    rows = re.findall(
        r"^\| \[`(\w+)`\]\(docs/figures/\w+\.md\) \| ([^|]+) \|",
        (root / "README.md").read_text(),
        re.M,
    )
    assert dict((f, label.strip()) for f, label in rows) == {f: p.label for f, p in FIGURES.items()}


def test_each_figure_page_is_titled_with_its_label(root):
    for figure, p in FIGURES.items():
        title = (root / "docs" / "figures" / f"{figure}.md").read_text().splitlines()[0]
        assert title.startswith(f"# `{figure}`: ") and title.endswith(f" — {p.label}"), title


def test_an_unknown_figure_is_labelled_by_its_id_and_sorted_after_the_papers():
    assert (
        paper_figure("my_figure").label == "my_figure" and not paper_figure("my_figure").extension
    )
    assert ordered(["zeta", "locality", "tf_dynamics", "alpha"]) == [
        "tf_dynamics",
        "locality",
        "alpha",
        "zeta",
    ]
