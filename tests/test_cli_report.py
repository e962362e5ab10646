import json
import re

import pytest

from impreg.claims import Claim, majority, not_checkable, read_claims, write_claims
from impreg.cli import main
from impreg.report import write_replication_report


def test_cli_makes_data_and_trains(tmp_path, capsys):
    data = tmp_path / "d.npz"
    assert (
        main(
            [
                "make-data",
                "tf-dynamics",
                "--order",
                "3",
                "--mode-dim",
                "4",
                "--rank",
                "2",
                "--num-observations",
                "30",
                "--seed",
                "1",
                "--out",
                str(data),
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "train",
                "tf-dynamics",
                "--data",
                str(data),
                "--out-dir",
                str(tmp_path / "run"),
                "--num-components",
                "8",
                "--init-std",
                "0.05",
                "--max-iterations",
                "50",
                "--log-every",
                "10",
                "--top-k",
                "3",
                "--seed",
                "2",
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert (
        summary["iterations"] == 50
        and summary["settings"]["seed"] == 2
        and summary["settings"]["num_components"] == 8
    )
    assert "max_iterations after 50 iterations" in capsys.readouterr().out


def test_cli_names_a_missing_data_file(tmp_path, capsys):
    code = main(
        [
            "train",
            "tf-dynamics",
            "--data",
            str(tmp_path / "absent.npz"),
            "--out-dir",
            str(tmp_path / "r"),
        ]
    )
    assert code == 2
    assert "absent.npz" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_unchecked_claim_must_say_why():
    with pytest.raises(ValueError, match="must say why"):
        Claim("x", "s", 1, None, None, None)
    assert not_checkable("x", "s", 1, "too small").verdict == "not checked"


def test_majority():
    assert majority([True, True, False]) and not majority([True, False]) and not majority([])


def test_report_counts_and_lists_every_verdict(tmp_path):
    write_claims(
        tmp_path / "fig_a.json",
        [Claim("a1", "s", 0.1, 0.11, "±0.02", True), Claim("a2", "s", 0.1, 0.5, "±0.02", False)],
    )
    write_claims(tmp_path / "fig_b.json", [not_checkable("b1", "s", 3, "smoke scale")])
    out = tmp_path / "REPLICATION.md"
    write_replication_report([tmp_path / "fig_a.json", tmp_path / "fig_b.json"], out)
    text = out.read_text()
    assert "1 pass, 1 fail, 1 not checked" in text
    assert "## fig_a" in text and "## fig_b" in text
    assert "**FAIL**" in text and "smoke scale" in text
    assert [c.id for c in read_claims(tmp_path / "fig_a.json")] == ["a1", "a2"]


def test_report_opens_on_one_verdict_line_per_figure_and_keeps_cells_short(tmp_path):
    long = {"per_seed": list(range(200))}
    write_claims(
        tmp_path / "tf_dynamics.json",
        [
            Claim("a", "s", "one at a time", long, "t", True, note="n"),
            Claim("b", "s", 0.1, 0.5, "t", False),
            Claim("c", "s", [0.1, 0.2], 0.1, "t", True),
        ],
    )
    write_claims(
        tmp_path / "rank_complexity_digits.json",
        [Claim("c", "s", 1, 1, "t", True), not_checkable("d", "s", 1, "stand-in data")],
    )
    out = tmp_path / "REPLICATION.md"
    write_replication_report(
        [tmp_path / "rank_complexity_digits.json", tmp_path / "tf_dynamics.json"],
        out,
        changes={"tf_dynamics": "float64 instead\n    of float32"},
        elsewhere={"tf_dynamics": "quick: not shipped"},
    )
    text = out.read_text()
    lines = text.splitlines()
    verdict = lines.index("## Verdict")
    # the verdict first
    assert verdict < 6 and text.index("## Verdict") < text.index("## tf_dynamics")
    assert lines[verdict + 4] == (
        "| [tf_dynamics](#tf_dynamics) | P1 Fig. 3 | yes (1 of 1) | partly (1 of 2) "
        "| quick: not shipped |"
    )
    assert lines[verdict + 5] == (
        "| [rank_complexity_digits](#rank_complexity_digits) | P1 Fig. 4 on 8x8 digits "
        "(extension) | – | yes (1 of 1; 1 not checked) | – |"
    )
    assert (
        "Paper claims: 2 pass, 1 fail, 0 not checked. Extension claims: 1 pass, 0 fail, 1 not checked."
        in lines
    )
    # the papers' order
    assert text.index("## tf_dynamics") < text.index("## rank_complexity_digits")
    assert "P1 Fig. 3: behaviour yes (1 of 1), numbers partly (1 of 2)." in lines
    assert "**Changes from the paper:** float64 instead of float32" in lines  # one paragraph
    assert "not checked: stand-in data" in text
    # the 200 seeds are cut, in the json whole
    assert max(len(line) for line in lines) < 600 and "…" in text


def test_the_html_report_opens_on_the_same_verdict(tmp_path):
    from docutils.core import publish_parts

    write_claims(
        tmp_path / "locality.json", [Claim("a", "s", "falls to chance", "70%", "t", False)]
    )
    landing = tmp_path / "verdict.rst"
    write_replication_report(
        [tmp_path / "locality.json"],
        tmp_path / "REPLICATION.md",
        scale="quick",
        not_run={"incremental_rank": "a job failed"},
        landing=landing,
        elsewhere={"incremental_rank": "paper: behaviour yes (13 of 13)"},
    )
    html = publish_parts(
        landing.read_text(), writer="html", settings_overrides={"report_level": 2}
    )["html_body"]
    text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    assert "System Message" not in html and text.startswith(
        "Replication at quick scale: the verdict"
    )
    assert "incremental_rank , P2 Fig. A: not run; paper: behaviour yes (13 of 13)" in text
    # no numbers claim: none said
    assert "locality , P2 Fig. C (ResNet18): behaviour no (0 of 1)" in text
    assert text.index("incremental_rank") < text.index("locality")  # the papers' order


def test_duplicate_claim_ids_rejected(tmp_path):
    with pytest.raises(ValueError, match="duplicate"):
        write_claims(
            tmp_path / "c.json", [Claim("a", "s", 1, 1, 0, True), Claim("a", "s", 1, 1, 0, True)]
        )


def test_report_from_the_cli_names_its_source_scale_and_figures_not_run(tmp_path):
    claims = tmp_path / "claims" / "tf_dynamics.json"
    write_claims(claims, [Claim("a", "s", 0.1, 0.1, "t", True)])
    out = tmp_path / "REPLICATION.md"
    assert (
        main(
            [
                "report",
                "--claims",
                str(claims),
                "--out",
                str(out),
                "--scale",
                "paper",
                "--source",
                "From the shipped runs.",
                "--not-run",
                "locality=its runs are not shipped",
                "--wants-gpu",
                "locality",
                "--elsewhere",
                "locality=quick: behaviour partly (2 of 9)",
            ]
        )
        == 0
    )
    text = out.read_text()
    assert text.startswith("# Replication report: paper scale") and "From the shipped runs." in text
    assert (
        "| [locality](#locality) | P2 Fig. C (ResNet18) | **not run** (its runs want a GPU) | **not run** "
        "| quick: behaviour partly (2 of 9) |"
    ) in text
    # relative to the report, which may be copied with its folder
    assert "`claims/tf_dynamics.json`" in text
    assert main(["report", "--claims", "--out", str(out), "--scale", "quick"]) == 0  # nothing made
    assert out.read_text().startswith("# Replication report: quick scale\n\nClaims: 0 pass")
