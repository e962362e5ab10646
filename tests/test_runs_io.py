"""Reading a figure's run files: the pairs of summary.json and metrics.csv its notebook is given."""

import json

import pytest

from impreg.runs_io import read_runs


def write_run(
    folder, seed: int, status: str = "completed", rows: str = "iteration,error\n0,1.0\n10,0.5\n"
):
    folder.mkdir(parents=True)
    (folder / "summary.json").write_text(
        json.dumps({"seed": seed, "status": status, "other": [1, 2]})
    )
    (folder / "metrics.csv").write_text(rows)
    return str(folder / "summary.json"), str(folder / "metrics.csv")


def test_read_runs_pairs_each_summary_with_its_metrics(tmp_path):
    files = [
        write_run(tmp_path / f"seed{s}", s, rows=f"iteration,error\n0,1.0\n10,{s / 10}\n")
        for s in (3, 1)
    ]
    runs = read_runs(
        [s for s, _ in files], [m for _, m in files], ("seed", "status"), ("iteration", "error")
    )
    assert [r["seed"] for r in runs] == [3, 1]
    assert [r["history"]["error"].iloc[-1] for r in runs] == [0.3, 0.1]
    assert runs[0]["summary"]["other"] == [1, 2] and runs[0]["path"] == files[0][0]
    assert "other" not in runs[0]  # only the keys asked for are lifted to the top


def test_read_runs_refuses_unpaired_or_missing_files(tmp_path):
    summary, metrics = write_run(tmp_path / "a", 0)
    with pytest.raises(ValueError, match="one metrics.csv per summary.json, got 2 and 1"):
        read_runs([summary], [metrics, metrics], ("seed",), ("error",))
    with pytest.raises(ValueError, match="got 0 and 0"):
        read_runs([], [], ("seed",), ("error",))
    with pytest.raises(ValueError, match=r"no \['loss'\]"):
        read_runs([summary], [metrics], ("loss",), ("error",))
    with pytest.raises(ValueError, match="last row is incomplete"):
        s2, m2 = write_run(tmp_path / "b", 1, rows="iteration,error\n0,1.0\n10,\n")
        read_runs([s2], [m2], ("seed",), ("error",))
