"""The outcome shipped in results/shipped/<scale>: its claims are what the package computes from its
run files, it holds no checkpoints or stand-in runs, fits the size limit, names the commits that
made its runs, and `make figures` (the workflow with from_shipped) remakes it without training and
without touching it."""

from __future__ import annotations

import hashlib
import math
import shutil
import subprocess
from pathlib import Path

import pytest

from helpers import ROOT, copy_workflow, job_counts, snakemake
from impreg.claims import read_claims, write_claims
from impreg.io import read_json
from impreg.paper_figures import FIGURES
from impreg.runs_io import read_run_files
from impreg.shipped import (
    COMMIT,
    LIMIT_BYTES,
    ORIGIN,
    check_shipped,
    notebook_parameters,
    run_files,
    shipped_size,
)
from impreg.verdicts import FigureVerdict

SHIPPED = ROOT / "results" / "shipped"
SCALES = sorted(p.parent.name for p in SHIPPED.glob("*/ORIGIN.json"))
SHIPPED_FIGURES = [
    (s, p.stem) for s in SCALES for p in sorted((SHIPPED / s / "claims").glob("*.json"))
]


def params_of(scale: str, figure: str) -> dict:
    return notebook_parameters(SHIPPED / scale / "notebooks" / f"{figure}.ipynb")


def _runs(params: dict, keys: tuple[str, ...], columns: tuple[str, ...]) -> list[dict]:
    """Each run as the dynamics notebooks pass it to their claims function."""
    runs = []
    for s, m in zip(params["summaries"], params["metrics"], strict=True):
        summary, history = read_run_files(
            ROOT / s, ROOT / m, ("seed", "status", "iterations", *keys), columns
        )
        runs.append(
            {
                "seed": summary["seed"],
                "status": summary["status"],
                "iterations": summary["iterations"],
                "summary": summary,
                "history": history,
            }
        )
    return runs


def _tf_dynamics(p: dict) -> list:
    from impreg.claims.dynamics import figure3_claims

    runs = _runs(p, ("settings",), ("iteration", "reconstruction_error", "top_component_0"))
    return figure3_claims(
        [r | {"init": r["summary"]["settings"]["init_std"]} for r in runs], p["config"], p["scale"]
    )


def _incremental_rank(p: dict) -> list:
    from impreg.claims.incremental_rank import incremental_rank_claims

    runs = _runs(
        p, ("model", "target_singular_values"), ("iteration", "reconstruction_error", "top_0")
    )
    return incremental_rank_claims(
        [r | {"model": r["summary"]["model"]} for r in runs], p["config"], p["scale"]
    )


def _htf_detail(p: dict) -> list:
    from impreg.claims.htf_detail import htf_detail_claims

    runs = _runs(p, ("model",), ("iteration", "reconstruction_error"))
    return htf_detail_claims(runs, p["config"], p["htf"], p["target_rank"], p["scale"])


# figures whose claims are recomputed here, building their inputs as their notebook does; the
# others (inputs built by more notebook code) are recomputed by papermill in the slow test below
RECOMPUTE = {
    "tf_dynamics": _tf_dynamics,
    "incremental_rank": _incremental_rank,
    "htf_detail": _htf_detail,
}


def assert_same(shipped, computed, where: str = "") -> None:
    """Equal, floats to a relative 1e-9 (strings, booleans and None exactly)."""
    if isinstance(shipped, dict) and isinstance(computed, dict):
        assert shipped.keys() == computed.keys(), where
        for k in shipped:
            assert_same(shipped[k], computed[k], f"{where}.{k}")
    elif isinstance(shipped, list) and isinstance(computed, list):
        assert len(shipped) == len(computed), where
        for i, (a, b) in enumerate(zip(shipped, computed)):
            assert_same(a, b, f"{where}[{i}]")
    elif isinstance(shipped, float) or isinstance(computed, float):
        assert type(shipped) is not bool and type(computed) is not bool, where
        both_nan = math.isnan(shipped) and math.isnan(computed)
        assert both_nan or math.isclose(shipped, computed, rel_tol=1e-9, abs_tol=1e-12), (
            f"{where}: {shipped} != {computed}"
        )
    else:
        assert shipped == computed, f"{where}: {shipped!r} != {computed!r}"


def assert_same_claims(shipped_file: Path, computed_file: Path) -> None:
    shipped, computed = read_json(shipped_file), read_json(computed_file)
    assert [c["id"] for c in shipped] == [c["id"] for c in computed]
    for a, b in zip(shipped, computed):
        assert_same(a, b, a["id"])


@pytest.mark.parametrize(("scale", "figure"), [sf for sf in SHIPPED_FIGURES if sf[1] in RECOMPUTE])
def test_shipped_claims_are_what_the_package_computes(tmp_path, scale, figure):
    claims = RECOMPUTE[figure](params_of(scale, figure))
    # the notebooks' serialization (int keys become strings)
    write_claims(tmp_path / "claims.json", claims)
    assert_same_claims(SHIPPED / scale / "claims" / f"{figure}.json", tmp_path / "claims.json")


@pytest.mark.parametrize(("scale", "figure"), SHIPPED_FIGURES)
def test_every_shipped_figure_is_made_from_shipped_runs_of_recorded_origin(scale, figure):
    folder = SHIPPED / scale
    params = params_of(scale, figure)
    assert params["scale"] == scale and {
        c.scale for c in read_claims(folder / "claims" / f"{figure}.json")
    } == {scale}
    files = [ROOT / f for f in run_files(params)]
    assert files and all(f.is_file() and f.resolve().is_relative_to(folder / "runs") for f in files)
    assert all(
        not read_json(f).get("stand_in") and not read_json(f).get("data", {}).get("stand_in")
        for f in files
        if f.name == "summary.json"
    ), "stand-in runs are never shipped"
    entry = read_json(folder / ORIGIN)["figures"][figure]
    assert entry["runs"] == sorted({str(f.parent.relative_to(folder / "runs")) for f in files})
    assert (folder / "figures" / f"{figure}.png").is_file() and (
        folder / "figures" / f"{figure}.pdf"
    ).is_file()


@pytest.mark.parametrize("scale", SCALES)
def test_origin_names_the_commit_and_config_of_every_figure(scale):
    origin = read_json(SHIPPED / scale / ORIGIN)
    assert (
        origin["scale"] == scale and origin["figures"] and COMMIT.match(origin["outputs"]["commit"])
    )
    for figure, entry in origin["figures"].items():
        assert COMMIT.match(entry["runs_commit"]), figure
        assert (ROOT / entry["config_file"]).is_file() and entry["config"], figure
    git = shutil.which("git")
    shallow = (
        git
        and subprocess.run(
            [git, "rev-parse", "--is-shallow-repository"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    )
    if shallow != "false":
        pytest.skip("no full git history here to look the commits up in")
    for entry in origin["figures"].values():
        kind = subprocess.run(
            [git, "cat-file", "-t", entry["runs_commit"]], cwd=ROOT, capture_output=True, text=True
        )
        assert kind.stdout.strip() == "commit", entry["runs_commit"]


@pytest.mark.parametrize("scale", SCALES)
def test_report_opens_on_the_verdict_of_shipped_figures_and_lists_the_others_as_not_run(scale):
    text = (SHIPPED / scale / "REPLICATION.md").read_text()
    assert text.index("## Verdict") < text.index("## tf_dynamics")
    shipped = {f for s, f in SHIPPED_FIGURES if s == scale}
    for figure in FIGURES:
        row = next(
            line for line in text.splitlines() if line.startswith(f"| [{figure}](#{figure}) |")
        )
        cells = [c.strip() for c in row.strip("|").split("|")]
        if figure in shipped:
            verdict = FigureVerdict.of(read_claims(SHIPPED / scale / "claims" / f"{figure}.json"))
            assert cells[2:4] == [verdict.behaviour.text(), verdict.numbers.text()], row
        else:
            assert cells[2].startswith("**not run**") and cells[3] == "**not run**", row
        for other in (
            s for s in SCALES if s != scale
        ):  # the figure's verdict at the other shipped scale, current
            if (other, figure) in SHIPPED_FIGURES:
                verdict = FigureVerdict.of(
                    read_claims(SHIPPED / other / "claims" / f"{figure}.json")
                ).text()
                assert f"{other}: {verdict} (results/shipped/{other}/REPLICATION.md)" in cells[4], (
                    f"{row}\nstale: ship the other scales' outputs again (make ship remakes them)"
                )
            else:
                assert f"{other}: not shipped" in cells[4], row


def test_shipped_folder_has_no_checkpoints_and_fits_the_limit():
    if not SHIPPED.exists():
        pytest.skip("nothing shipped in this checkout")
    check_shipped(SHIPPED)  # raises on a checkpoint or over the limit
    assert shipped_size(SHIPPED) <= LIMIT_BYTES
    assert not [p for p in SHIPPED.rglob("*") if p.suffix == ".pt" or "checkpoint" in p.name]


def _workflow_with_shipped(tmp_path: Path) -> Path:
    wd = copy_workflow(tmp_path / "wd")
    shutil.copytree(SHIPPED, wd / "results" / "shipped")
    return wd


def _digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file()
    }


@pytest.mark.parametrize("scale", SCALES)
def test_make_figures_plans_no_training(tmp_path, scale):
    wd = _workflow_with_shipped(tmp_path)
    config = "config/config.yaml" if scale == "paper" else f"config/{scale}.yaml"
    proc = snakemake(wd, "-n", "all", "--configfile", config, "--config", "from_shipped=True")
    assert proc.returncode == 0, proc.stderr[-3000:]
    counts = job_counts(proc.stdout + proc.stderr)
    assert counts.pop("report") == 1 and counts.pop("all") == 1
    assert all(not rule.endswith(("_train", "_data", "_stand_in", "_images")) for rule in counts), (
        counts
    )
    # one job per figure
    assert sum(counts.values()) == sum(s == scale for s, _ in SHIPPED_FIGURES), counts


@pytest.mark.slow
@pytest.mark.parametrize("scale", SCALES)
def test_make_figures_remakes_the_shipped_outcome_and_leaves_it_alone(tmp_path, scale):
    """The workflow from the shipped runs (papermill runs each notebook): the same claims and report,
    and not a byte of the shipped folder changed."""
    wd = _workflow_with_shipped(tmp_path)
    before = _digests(wd / "results" / "shipped")
    config = "config/config.yaml" if scale == "paper" else f"config/{scale}.yaml"
    proc = snakemake(wd, "all", "--configfile", config, "--config", "from_shipped=True")
    assert proc.returncode == 0, proc.stderr[-5000:]
    assert _digests(wd / "results" / "shipped") == before
    made = wd / "results" / "from_shipped" / scale
    for s, figure in SHIPPED_FIGURES:
        if s == scale:
            assert_same_claims(
                SHIPPED / scale / "claims" / f"{figure}.json", made / "claims" / f"{figure}.json"
            )
    assert (made / "REPLICATION.md").read_text() == (SHIPPED / scale / "REPLICATION.md").read_text()
    assert not (wd / "results" / "runs").exists()
