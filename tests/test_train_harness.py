"""The training harness on a toy loop (a linear model fitted by SGD, one step per unit): the
summary schema, out-dir hygiene, rollback of a half-loaded checkpoint, and SIGTERM inside a unit.
(The experiments' own resume, SIGTERM and divergence tests drive it through their loops.)"""

from __future__ import annotations

import dataclasses
import json
import os
import signal

import pytest
import torch

from impreg.train.harness import Loop, UnitContext, run_loop
from impreg.train.reliability import CHECKPOINT, TERMINATED_EXIT_CODE

COMMON_KEYS = {
    "experiment",
    "status",
    "loop_unit",
    "epochs",
    "resumed_from",
    "wall_seconds",
    "wall_seconds_this_call",
    "epochs_per_second",
    "device",
    "deterministic",
    "deterministic_reason",
    "peak_memory",
    "fingerprint",
}


def _toy(epochs: int = 6, sigterm_at: int | None = None) -> tuple[Loop, torch.nn.Module]:
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x, y = torch.randn(16, 3), torch.randn(16, 1)

    def advance(unit: UnitContext) -> str | None:
        state = unit.state
        if sigterm_at is not None and state.position + 1 == sigterm_at:
            signal.raise_signal(signal.SIGTERM)
            unit.interrupt()  # between two batches of the unit
        optimizer.zero_grad()
        loss = (model(x) - y).pow(2).mean()
        loss.backward()
        optimizer.step()
        state.position += 1
        state.counters["steps"] += 1
        state.rows.append({"epoch": state.position, "loss": loss.item()})
        return None

    loop = Loop(
        experiment="toy",
        unit="epoch",
        total=epochs,
        checkpoint_format=1,
        fingerprint="toy",
        saved={"model": model, "optimizer": optimizer},
        advance=advance,
        summary=lambda state, status: {"steps": state.counters["steps"]},
        device=torch.device("cpu"),
        counters={"steps": 0},
        stop_rule=lambda state: "completed" if state.position >= epochs else None,
        checkpoint_every=2,
    )
    return loop, model


def test_the_summary_has_one_schema_and_stale_outputs_are_cleared(tmp_path):
    (tmp_path / "summary.json").write_text("{}")  # an old run's
    (tmp_path / f".{CHECKPOINT}.ab12.tmp").write_bytes(b"half")  # a killed write's
    loop, _ = _toy()
    assert run_loop(loop, {}, tmp_path, log=lambda *_: None, stop_after=3) == {
        "status": "interrupted",
        "epochs": 3,
    }
    assert sorted(p.name for p in tmp_path.iterdir()) == [CHECKPOINT]
    lines: list[str] = []
    summary = run_loop(_toy()[0], {}, tmp_path, log=lines.append)
    assert (
        COMMON_KEYS <= set(summary)
        and summary["loop_unit"] == "epoch"
        and summary["resumed_from"] == 2
    )
    assert summary["status"] == "completed" and summary["epochs"] == 6 and summary["steps"] == 6
    assert json.loads((tmp_path / "summary.json").read_text())["resumed_from"] == 2
    assert any("resuming from" in line and "after epoch 2" in line for line in lines)


def test_a_finished_run_is_kept_unless_its_fingerprint_changed(tmp_path):
    first = run_loop(_toy()[0], {}, tmp_path, log=lambda *_: None)
    written = (tmp_path / "metrics.csv").read_text(), (tmp_path / "summary.json").read_text()
    for name in ("metrics.csv", "summary.json"):
        os.utime(tmp_path / name, (1e9, 1e9))
    loop, model = _toy()
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    lines: list[str] = []
    assert run_loop(loop, {}, tmp_path, log=lines.append) == first
    assert any("kept" in line for line in lines)
    assert all(torch.equal(model.state_dict()[k], v) for k, v in initial.items())  # nothing trained
    assert (
        (tmp_path / "metrics.csv").read_text(),
        (tmp_path / "summary.json").read_text(),
    ) == written
    assert (
        tmp_path / "summary.json"
    ).stat().st_mtime > 1e9  # touched: new to a workflow comparing times
    other = dataclasses.replace(_toy()[0], fingerprint="other settings")
    assert run_loop(other, {}, tmp_path, log=lambda *_: None)["fingerprint"] == "other settings"
    assert (
        run_loop(_toy()[0], {}, tmp_path, resume=False, log=lambda *_: None)[
            "wall_seconds_this_call"
        ]
        > 0
    )


def test_a_checkpoint_that_fails_half_way_leaves_the_model_as_it_was(tmp_path):
    loop, _ = _toy()
    run_loop(loop, {}, tmp_path, log=lambda *_: None, stop_after=2)
    payload = torch.load(tmp_path / CHECKPOINT, weights_only=False)
    # the model loads, then this fails
    torch.save(payload | {"optimizer": {"broken": True}}, tmp_path / CHECKPOINT)
    loop, model = _toy()
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    lines: list[str] = []
    # just the resume
    assert run_loop(loop, {}, tmp_path, log=lines.append, stop_after=0)["epochs"] == 0
    assert any("unreadable" in line for line in lines)
    assert all(torch.equal(model.state_dict()[k], v) for k, v in initial.items())


def test_sigterm_inside_a_unit_abandons_it_and_keeps_the_last_checkpoint(tmp_path):
    before = signal.getsignal(signal.SIGTERM)
    loop, _ = _toy(sigterm_at=4)
    with pytest.raises(SystemExit) as info:
        run_loop(loop, {}, tmp_path, log=lambda *_: None)
    assert (
        info.value.code == TERMINATED_EXIT_CODE
        and "stopped during epoch 4, which is abandoned" in str(info.value)
    )
    assert signal.getsignal(signal.SIGTERM) is before
    assert torch.load(tmp_path / CHECKPOINT, weights_only=False)["epoch"] == 2
    resumed = run_loop(_toy()[0], {}, tmp_path, log=lambda *_: None)
    run_loop(_toy()[0], {}, tmp_path / "whole", log=lambda *_: None)
    assert (
        resumed["resumed_from"] == 2
        and (tmp_path / "metrics.csv").read_text()
        == (tmp_path / "whole" / "metrics.csv").read_text()
    )


def test_rows_of_an_older_checkpoint_come_back_as_they_were():
    from impreg.train.reliability import unpack_rows

    rows = [{"epoch": 1, "loss": 0.5}]
    assert unpack_rows(rows) == rows and unpack_rows(rows) is not rows


def test_the_summary_names_the_commit_of_the_code_that_made_it(tmp_path, root):
    import subprocess

    run_loop(_toy()[0], {}, tmp_path, log=lambda *_: None)
    versions = json.loads((tmp_path / "summary.json").read_text())["versions"]
    if not (root / ".git").exists():  # an unpacked archive: no commit to name
        assert versions["impreg_commit"] is None
        return
    head = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert versions["impreg_commit"] in (head, head + "+dirty")
