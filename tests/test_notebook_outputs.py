"""The outputs every figure notebook writes: the figure twice, the claims file and its table."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from impreg.claims import Claim, read_claims  # noqa: E402
from impreg.notebook_outputs import save_figure, write_and_show_claims  # noqa: E402


def test_the_figure_is_written_as_pdf_and_png_into_new_folders(tmp_path):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    save_figure(fig, tmp_path / "a" / "f.pdf", tmp_path / "b" / "f.png")
    plt.close(fig)
    assert (tmp_path / "a" / "f.pdf").read_bytes().startswith(b"%PDF")
    assert (tmp_path / "b" / "f.png").read_bytes().startswith(b"\x89PNG")


def test_the_claims_are_written_and_shown_with_their_verdicts(tmp_path):
    claims = [
        Claim("a", "holds", 1.0, 0.9, "within 0.2", True),
        Claim("b", "not here", 2.0, None, "-", None, note="not checkable at this scale"),
    ]
    table = write_and_show_claims(tmp_path / "claims.json", claims)
    assert [c.id for c in read_claims(tmp_path / "claims.json")] == ["a", "b"]
    assert list(table.columns) == ["claim", "verdict", "measured", "note"]
    assert (
        list(table["claim"]) == ["a", "b"]
        and table["note"].iloc[1] == "not checkable at this scale"
    )
    assert list(table["verdict"]) == [claims[0].verdict, claims[1].verdict]
