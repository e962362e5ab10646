"""The Makefile as a user meets it: `make help`, a `make clean` that says what it deletes and never
touches the shipped results, and messages that keep the user's TARGET."""

import shutil
import subprocess
from pathlib import Path

import pytest

from impreg.paper_figures import FIGURES

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def make(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_make_alone_lists_the_targets_the_scales_their_times_and_what_wants_a_gpu(root):
    proc = make(root)
    assert proc.returncode == 0 and proc.stdout == make(root, "help").stdout
    text = proc.stdout
    for target in (
        "make figures",
        "make replicate SCALE=smoke",
        "make replicate SCALE=quick",
        "make replicate ",
        "make report",
        "make clean",
        "make test",
    ):
        assert target in text, target
    assert (
        "7 minutes on 2 CPU cores" in text
        and "about 3 hours on 2 cores" in text
        and "days of CPU" in text
    )
    assert "rank_complexity*\n" in text and "locality* figures want a GPU" in text
    assert all(figure in text for figure in FIGURES)


@pytest.fixture
def results(tmp_path):
    """A checkout's results: two scales' runs, make figures' output and the shipped folder."""
    shutil.copy(Path(__file__).resolve().parents[1] / "Makefile", tmp_path / "Makefile")
    for folder in ("smoke/runs/a", "quick/runs/b", "from_shipped/quick", "shipped/paper/runs/c"):
        (tmp_path / "results" / folder).mkdir(parents=True)
        (tmp_path / "results" / folder / "file").write_text("x" * 5000)
    (tmp_path / ".snakemake").mkdir()
    return tmp_path


def test_make_clean_without_a_scale_only_lists_what_there_is(results):
    proc = make(results, "clean")
    assert proc.returncode == 0
    listed = [
        line.split()[-1]
        for line in proc.stdout.splitlines()
        if line.startswith("  ") and "make clean" not in line
    ]
    assert listed == ["results/quick", "results/smoke", "results/from_shipped/quick"]
    assert (
        "results/shipped is never deleted" in proc.stdout
        and "make clean SCALE=smoke" in proc.stdout
    )
    assert all(
        (results / "results" / s).is_dir()
        for s in ("smoke", "quick", "from_shipped/quick", "shipped/paper")
    )


def test_make_clean_deletes_one_scale_and_says_so_and_all_keeps_the_shipped_results(results):
    proc = make(results, "clean", "SCALE=quick")
    assert proc.returncode == 0
    assert proc.stdout.splitlines()[0] == "deleting (results/shipped is kept):"
    assert [line.split()[-1] for line in proc.stdout.splitlines()[1:]] == [
        "results/quick",
        "results/from_shipped/quick",
    ]
    assert (
        not (results / "results" / "quick").exists()
        and not (results / "results" / "from_shipped" / "quick").exists()
    )
    assert (results / "results" / "smoke" / "runs" / "a" / "file").exists()
    assert make(results, "clean", "SCALE=quick").stdout == "nothing to delete for SCALE=quick\n"

    proc = make(results, "clean", "SCALE=all")
    assert proc.returncode == 0 and "results/smoke" in proc.stdout and ".snakemake" in proc.stdout
    assert sorted(p.name for p in (results / "results").iterdir()) == ["shipped"]
    assert (
        results / "results" / "shipped" / "paper" / "runs" / "c" / "file"
    ).read_text() == "x" * 5000


def test_a_run_tells_the_command_to_run_again_with_the_users_target(root):
    if not (root / ".venv" / ".installed").exists():
        pytest.skip("the Makefile would install .venv first")
    proc = make(root, "-n", "replicate", "SCALE=quick", "TARGET=tf_dynamics htf_detail")
    assert proc.returncode == 0, proc.stderr
    assert (
        "IMPREG_RERUN='make replicate SCALE=quick TARGET=\"tf_dynamics htf_detail\"'" in proc.stdout
    )
    assert (
        "check-config config/quick.yaml" in proc.stdout
        and " tf_dynamics htf_detail --workflow-profile" in proc.stdout
    )
