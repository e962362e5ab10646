import json

import pytest

from impreg.claims import Claim, majority, not_checkable, read_claims, write_claims
from impreg.cli import main
from impreg.report import write_replication_report


def test_cli_makes_data_and_trains(tmp_path, capsys):
    data = tmp_path / "d.npz"
    assert main(["make-data", "tf-dynamics", "--order", "3", "--mode-dim", "4", "--rank", "2",
                 "--num-observations", "30", "--seed", "1", "--out", str(data)]) == 0
    assert main(["train", "tf-dynamics", "--data", str(data), "--out-dir", str(tmp_path / "run"),
                 "--num-components", "8", "--init-std", "0.05", "--max-iterations", "50", "--log-every", "10",
                 "--top-k", "3", "--seed", "2", "--device", "cpu"]) == 0
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["iterations"] == 50 and summary["seed"] == 2 and summary["settings"]["num_components"] == 8
    assert "max_iterations after 50 iterations" in capsys.readouterr().out


def test_cli_names_a_missing_data_file(tmp_path, capsys):
    code = main(["train", "tf-dynamics", "--data", str(tmp_path / "absent.npz"), "--out-dir", str(tmp_path / "r")])
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
    write_claims(tmp_path / "fig_a.json", [Claim("a1", "s", 0.1, 0.11, "±0.02", True),
                                           Claim("a2", "s", 0.1, 0.5, "±0.02", False)])
    write_claims(tmp_path / "fig_b.json", [not_checkable("b1", "s", 3, "smoke scale")])
    out = tmp_path / "REPLICATION.md"
    write_replication_report([tmp_path / "fig_a.json", tmp_path / "fig_b.json"], out)
    text = out.read_text()
    assert "1 pass, 1 fail, 1 not checked" in text
    assert "## fig_a" in text and "## fig_b" in text
    assert "**FAIL**" in text and "smoke scale" in text
    assert [c.id for c in read_claims(tmp_path / "fig_a.json")] == ["a1", "a2"]


def test_report_summarizes_per_figure_and_keeps_cells_short(tmp_path):
    long = {"per_seed": list(range(200))}
    write_claims(tmp_path / "tf_dynamics.json", [Claim("a", "s", 0.1, long, "t", True, note="n"),
                                                 Claim("b", "s", 0.1, 0.5, "t", False)])
    write_claims(tmp_path / "rank_complexity_digits.json", [Claim("c", "s", 1, 1, "t", True),
                                                            not_checkable("d", "s", 1, "stand-in data")])
    out = tmp_path / "REPLICATION.md"
    write_replication_report([tmp_path / "rank_complexity_digits.json", tmp_path / "tf_dynamics.json"], out,
                             changes={"tf_dynamics": "float64 instead\n    of float32"})
    text = out.read_text()
    lines = text.splitlines()
    assert "| [tf_dynamics](#tf_dynamics) | P1 Fig. 3 | 1 | 1 | 0 |" in lines
    assert "| **paper claims** | | 1 | 1 | 0 |" in lines and "| **extension claims** | | 1 | 0 | 1 |" in lines
    assert text.index("## tf_dynamics") < text.index("## rank_complexity_digits")  # the papers' order
    assert "**Changes from the paper:** float64 instead of float32" in lines  # one paragraph
    assert "not checked: stand-in data" in text
    assert max(len(line) for line in lines) < 600 and "…" in text  # the 200 seeds are cut, in the json whole


def test_duplicate_claim_ids_rejected(tmp_path):
    with pytest.raises(ValueError, match="duplicate"):
        write_claims(tmp_path / "c.json", [Claim("a", "s", 1, 1, 0, True), Claim("a", "s", 1, 1, 0, True)])


def test_report_from_the_cli_names_its_source_scale_and_figures_not_run(tmp_path):
    claims = tmp_path / "claims" / "tf_dynamics.json"
    write_claims(claims, [Claim("a", "s", 0.1, 0.1, "t", True)])
    out = tmp_path / "REPLICATION.md"
    assert main(["report", "--claims", str(claims), "--out", str(out), "--scale", "paper",
                 "--source", "From the shipped runs.", "--not-run", "locality=its runs are not shipped"]) == 0
    text = out.read_text()
    assert "Scale: paper." in text and "From the shipped runs." in text
    assert "| [locality](#locality) | P2 Fig. C (ResNet18) — **not run** | – | – | – |" in text
    assert "`claims/tf_dynamics.json`" in text  # relative to the report, which may be copied with its folder
    assert main(["report", "--claims", "--out", str(out), "--scale", "quick"]) == 0  # nothing made
    assert "Scale: quick. Claims: 0 pass" in out.read_text()
