"""Every figure has one label (impreg.paper_figures), and the README's table, the figure pages and
the figure manifest agree with it."""

import re
import sys

from impreg.paper_figures import FIGURES, ordered, paper_figure


def test_every_figure_of_the_manifest_has_a_label(root):
    sys.path.insert(0, str(root / "workflow"))
    from figures import MANIFEST

    assert set(MANIFEST) == set(FIGURES)
    assert all(int(FIGURES[f].label[1]) == MANIFEST[f].paper for f in FIGURES)  # "P1 ..." is paper 1


def test_the_readme_names_each_figure_by_its_label(root):
    rows = re.findall(r"^\| \[`(\w+)`\]\(docs/figures/\w+\.md\) \| ([^|]+) \|", (root / "README.md").read_text(), re.M)
    assert dict((f, label.strip()) for f, label in rows) == {f: p.label for f, p in FIGURES.items()}


def test_each_figure_page_is_titled_with_its_label(root):
    for figure, p in FIGURES.items():
        title = (root / "docs" / "figures" / f"{figure}.md").read_text().splitlines()[0]
        assert title.startswith(f"# `{figure}`: ") and title.endswith(f" — {p.label}"), title


def test_an_unknown_figure_is_labelled_by_its_id_and_sorted_after_the_papers():
    assert paper_figure("my_figure").label == "my_figure" and not paper_figure("my_figure").extension
    assert ordered(["zeta", "locality", "tf_dynamics", "alpha"]) == ["tf_dynamics", "locality", "alpha", "zeta"]
